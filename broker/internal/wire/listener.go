package wire

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"slices"
	"time"

	"go.uber.org/zap"

	"github.com/kspring/kspring/broker/internal/sasl"
)

// Listener says how one listener's connections are secured, with Kafka's
// security protocols: TLS for SSL and SASL_SSL, a SASL exchange before any
// other request for SASL_PLAINTEXT and SASL_SSL.
type Listener struct {
	// Name is the listener's name (PLAINTEXT, SSL, CLIENT, ...).
	Name string
	// Protocol is PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL.
	Protocol string
	// TLS is the server's TLS configuration, for SSL and SASL_SSL.
	TLS *tls.Config
	// Mechanisms are the SASL mechanisms served (sasl.enabled.mechanisms).
	Mechanisms []string
	// AdvertisedHost and AdvertisedPort, if set, are this broker's address
	// in Metadata for this listener's clients.
	AdvertisedHost string
	AdvertisedPort int32
}

func (l *Listener) sasl() bool {
	return l.Protocol == "SASL_PLAINTEXT" || l.Protocol == "SASL_SSL"
}

// anonymous is the principal of an unauthenticated connection, as Kafka names it.
const anonymous = "User:ANONYMOUS"

// WithUsers sets the users SASL listeners authenticate against.
func WithUsers(u sasl.Users) Option { return func(s *Server) { s.users = u } }

// tlsHandshakeTimeout bounds a TLS handshake.
const tlsHandshakeTimeout = 10 * time.Second

// secure runs the TLS handshake of a TLS connection and takes the client
// certificate's subject as the principal (ssl.principal.mapping.rules
// DEFAULT). It reports false if the connection must close.
func (c *conn) secure() bool {
	c.principal = anonymous
	c.authenticated = !c.listener.sasl()
	tc, ok := c.nc.(*tls.Conn)
	if !ok {
		return true
	}
	ctx, cancel := context.WithTimeout(c.s.ctx, tlsHandshakeTimeout)
	defer cancel()
	if err := tc.HandshakeContext(ctx); err != nil {
		c.log.Info("TLS handshake failed; closing connection", zap.String("listener", c.listener.Name), zap.Error(err))
		return false
	}
	if certs := tc.ConnectionState().PeerCertificates; len(certs) > 0 {
		c.principal = certPrincipal(certs[0])
	}
	return true
}

// certPrincipal is Kafka's default principal of a client certificate:
// User: and the subject's distinguished name (RFC 2253).
func certPrincipal(cert *x509.Certificate) string { return "User:" + cert.Subject.String() }

// Principal returns the principal the request is made as: "User:name"
// after SASL, the certificate's subject over mTLS, else User:ANONYMOUS.
func (r *Request) Principal() string {
	if r.conn == nil {
		return anonymous
	}
	return r.conn.principal
}

// Host returns the client's IP address, as ACLs match it.
func (r *Request) Host() string {
	if r.conn == nil {
		return ""
	}
	if a, ok := r.conn.nc.RemoteAddr().(*net.TCPAddr); ok {
		return a.IP.String()
	}
	h, _, _ := net.SplitHostPort(r.conn.nc.RemoteAddr().String())
	return h
}

// saslFree are the requests a SASL listener serves before authentication.
var saslFree = []int16{apiVersionsKey, saslHandshakeKey, saslAuthenticateKey}

// admitted reports whether req may be served on c now.
func (c *conn) admitted(req *Request) bool {
	return c.authenticated || slices.Contains(saslFree, req.Key)
}

// advertised returns the address of broker id for this request's clients:
// this broker's address on the request's listener if it has its own.
func (r *Request) advertised(self int32, id int32, host string, port int32) (string, int32) {
	if id != self || r == nil || r.conn == nil || r.conn.listener.AdvertisedHost == "" {
		return host, port
	}
	return r.conn.listener.AdvertisedHost, r.conn.listener.AdvertisedPort
}
