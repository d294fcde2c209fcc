package wire

// SaslHandshake (key 17), versions 0-1.
// Picks the mechanism of the SaslAuthenticate exchange that follows. After
// a v0 handshake the tokens travel as raw size-prefixed frames instead
// (clients from before Kafka 1.0), as Kafka serves them; a failed raw
// exchange closes the connection without a message. On a listener without
// SASL, and a second time on one connection, it answers ILLEGAL_SASL_STATE.

import (
	"context"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kspring/kspring/broker/internal/sasl"
)

const (
	saslHandshakeKey    = 17
	saslAuthenticateKey = 36
)

func init() { register(saslHandshakeKey, 0, 1, handler((*Server).handleSaslHandshake)) }

func (s *Server) handleSaslHandshake(_ context.Context, req *Request, body *kmsg.SASLHandshakeRequest) (kmsg.Response, error) {
	c := req.conn
	resp := body.ResponseKind().(*kmsg.SASLHandshakeResponse)
	resp.SetVersion(body.Version)
	resp.SupportedMechanisms = slices.Clone(c.listener.Mechanisms)
	switch {
	case !c.listener.sasl() || c.authenticated || c.saslMechanism != "":
		resp.ErrorCode = kerr.IllegalSaslState.Code
		c.closeAfterWrite = true
	case !slices.Contains(c.listener.Mechanisms, body.Mechanism) || !sasl.Supported(body.Mechanism):
		resp.ErrorCode = kerr.UnsupportedSaslMechanism.Code
		c.closeAfterWrite = true
	default:
		c.saslMechanism = body.Mechanism
		c.rawSASL = body.Version == 0
	}
	return resp, nil
}
