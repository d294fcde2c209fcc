package wire

// SaslAuthenticate (key 36), versions 0-2.
// Carries the tokens of the mechanism SaslHandshake picked (PLAIN: one
// round; SCRAM: two). A failed exchange answers SASL_AUTHENTICATION_FAILED
// with the reason and closes the connection, as Kafka does; a success makes
// the connection's principal User:<name>. Sessions do not expire
// (SessionLifetimeMillis 0: connections.max.reauth.ms is not served).

import (
	"context"
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"

	"github.com/kspring/kspring/broker/internal/sasl"
)

func init() { register(saslAuthenticateKey, 0, 2, handler((*Server).handleSaslAuthenticate)) }

func (s *Server) handleSaslAuthenticate(_ context.Context, req *Request, body *kmsg.SASLAuthenticateRequest) (kmsg.Response, error) {
	c := req.conn
	resp := body.ResponseKind().(*kmsg.SASLAuthenticateResponse)
	resp.SetVersion(body.Version)
	fail := func(code int16, msg string) (kmsg.Response, error) {
		resp.ErrorCode = code
		resp.ErrorMessage = &msg
		c.closeAfterWrite = true
		return resp, nil
	}
	if c.saslMechanism == "" || c.authenticated {
		return fail(kerr.IllegalSaslState.Code, "SaslAuthenticate before SaslHandshake, or after authentication")
	}
	if c.saslSession == nil {
		if s.users == nil {
			return fail(kerr.SaslAuthenticationFailed.Code, "Authentication failed: the broker has no users")
		}
		sess, err := sasl.New(c.saslMechanism, s.users)
		if err != nil {
			return fail(kerr.UnsupportedSaslMechanism.Code, err.Error())
		}
		c.saslSession = sess
	}
	out, err := c.saslSession.Step(body.SASLAuthBytes)
	if err != nil {
		c.log.Info("SASL authentication failed", zap.String("mechanism", c.saslMechanism), zap.Error(err))
		msg := "Authentication failed during authentication due to invalid credentials with SASL mechanism " + c.saslMechanism
		if !errors.Is(err, sasl.ErrAuthentication) {
			msg = "Authentication failed: " + err.Error()
		}
		return fail(kerr.SaslAuthenticationFailed.Code, msg)
	}
	resp.SASLAuthBytes = out
	if c.saslSession.Done() {
		logLegacyNonce(c, c.saslSession)
		c.authenticated = true
		c.principal = "User:" + c.saslSession.User()
		c.saslSession = nil
	}
	return resp, nil
}

// logLegacyNonce notes, once per connection, a SCRAM exchange that
// succeeded with librdkafka's pre-2.6.1 client-final nonce.
func logLegacyNonce(c *conn, sess sasl.Session) {
	if sasl.AcceptedLegacyNonce(sess) {
		c.log.Info("SASL/SCRAM: accepted the legacy librdkafka client-final nonce (clientNonce+serverNonce, librdkafka before 2.6.1, librdkafka#4895), as Kafka 3.8.1-3.9 does",
			zap.String("mechanism", c.saslMechanism), zap.String("user", sess.User()))
	}
}
