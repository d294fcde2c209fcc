package broker

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/xdg-go/scram"

	"github.com/kspring/kspring/broker/internal/peer"
	"github.com/kspring/kspring/broker/internal/sasl"
	"github.com/kspring/kspring/internal/jaas"
)

// When the inter-broker listener is SASL_PLAINTEXT, the connections a
// broker opens to the others (requests to the controller, replica
// fetches) authenticate before their first request, with
// sasl.mechanism.inter.broker.protocol and the username and password of
// listener.name.<listener>.<mechanism>.sasl.jaas.config (or
// sasl.jaas.config), as Kafka's brokers log in. The metadata quorum's own
// connections (the controller listener) stay PLAINTEXT.

// interBrokerSpec returns the inter-broker listener among specs (see
// Broker.interBrokerListener).
func (c *Config) interBrokerSpec(specs []listenerSpec) int {
	if n := c.Security.InterBrokerListenerName; n != "" {
		if i := slices.IndexFunc(specs, func(s listenerSpec) bool { return strings.EqualFold(s.Name, n) }); i >= 0 {
			return i
		}
	}
	proto := cmpOr(strings.ToUpper(c.Security.SecurityInterBrokerProtocol), protoPlaintext)
	if i := slices.IndexFunc(specs, func(s listenerSpec) bool { return s.Protocol == proto }); i >= 0 {
		return i
	}
	return 0
}

// login is the inter-broker client's SASL login.
type login struct {
	mechanism, user, password string
}

// interBrokerLogin returns the login other brokers' inter-broker listeners
// expect, or nil if that listener has no SASL. SSL and SASL_SSL
// inter-broker listeners are refused: brokers talk to each other in the
// clear (PLAINTEXT or SASL_PLAINTEXT).
func (c *Config) interBrokerLogin() (*login, error) {
	var specs []listenerSpec
	for _, l := range c.clientListeners() {
		s, err := c.parseListenerSpec(l)
		if err != nil {
			return nil, err
		}
		specs = append(specs, s)
	}
	if len(specs) == 0 {
		return nil, nil
	}
	if n := c.Security.InterBrokerListenerName; n != "" && !slices.ContainsFunc(specs, func(s listenerSpec) bool { return strings.EqualFold(s.Name, n) }) {
		return nil, fmt.Errorf("broker: config: inter.broker.listener.name=%s names no listener of %v", n, c.Listeners)
	}
	ib := specs[c.interBrokerSpec(specs)]
	switch {
	case ib.Protocol == protoPlaintext, len(c.ControllerQuorumVoters) <= 1:
		return nil, nil // or alone: no other broker dials it
	case ib.Protocol == protoSSL, ib.Protocol == protoSASLSSL:
		return nil, fmt.Errorf("broker: config: inter-broker listener %s is %s: brokers of a cluster talk to each other over PLAINTEXT or SASL_PLAINTEXT; add such a listener and name it in inter.broker.listener.name", ib.Name, ib.Protocol)
	}
	mech := c.Security.SASLMechanismInterBrokerProtocol
	if mech == "" {
		mech = sasl.Plain
	}
	if !sasl.Supported(mech) {
		return nil, fmt.Errorf("broker: config: sasl.mechanism.inter.broker.protocol=%s: want PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512", mech)
	}
	raw := c.listenerValue(ib.Name, strings.ToLower(mech)+".sasl.jaas.config", c.Security.SASLJaasConfig)
	if raw == "" {
		return nil, fmt.Errorf("broker: config: inter-broker listener %s is SASL_PLAINTEXT: set listener.name.%s.%s.sasl.jaas.config with the broker's username and password",
			ib.Name, strings.ToLower(ib.Name), strings.ToLower(mech))
	}
	j, err := jaas.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("broker: config: inter-broker login: %w", err)
	}
	user, pass, ok := j.Credentials()
	if !ok {
		return nil, fmt.Errorf("broker: config: inter-broker login of listener %s: the JAAS config has no username and password", ib.Name)
	}
	return &login{mechanism: mech, user: user, password: pass}, nil
}

// dialer returns base (nil: TCP) with the login run on each new connection.
func (l *login) dialer(base peer.Dialer) peer.Dialer {
	return func(ctx context.Context, addr string) (net.Conn, error) {
		var nc net.Conn
		var err error
		if base != nil {
			nc, err = base(ctx, addr)
		} else {
			var d net.Dialer
			nc, err = d.DialContext(ctx, "tcp", addr)
		}
		if err != nil {
			return nil, err
		}
		if err := l.authenticate(ctx, nc); err != nil {
			nc.Close()
			return nil, fmt.Errorf("inter-broker SASL %s login as %s to %s: %w", l.mechanism, l.user, addr, err)
		}
		return nc, nil
	}
}

// authenticate runs SaslHandshake v1 and SaslAuthenticate v1 on nc.
func (l *login) authenticate(ctx context.Context, nc net.Conn) error {
	deadline := time.Now().Add(10 * time.Second)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	_ = nc.SetDeadline(deadline)
	defer nc.SetDeadline(time.Time{})
	rt := &saslRoundTripper{nc: nc, f: kmsg.NewRequestFormatter(kmsg.FormatterClientID("kspring-broker"))}
	hs := kmsg.NewPtrSASLHandshakeRequest()
	hs.Version, hs.Mechanism = 1, l.mechanism
	resp, err := rt.do(hs)
	if err != nil {
		return err
	}
	if err := kerr.ErrorForCode(resp.(*kmsg.SASLHandshakeResponse).ErrorCode); err != nil {
		return err
	}
	step := func(tok []byte) ([]byte, error) {
		req := kmsg.NewPtrSASLAuthenticateRequest()
		req.Version, req.SASLAuthBytes = 1, tok
		resp, err := rt.do(req)
		if err != nil {
			return nil, err
		}
		r := resp.(*kmsg.SASLAuthenticateResponse)
		if err := kerr.ErrorForCode(r.ErrorCode); err != nil {
			if r.ErrorMessage != nil {
				return nil, fmt.Errorf("%w: %s", err, *r.ErrorMessage)
			}
			return nil, err
		}
		return r.SASLAuthBytes, nil
	}
	if l.mechanism == sasl.Plain {
		_, err := step([]byte("\x00" + l.user + "\x00" + l.password))
		return err
	}
	fn := scram.SHA256
	if l.mechanism == sasl.ScramSHA512 {
		fn = scram.SHA512
	}
	cl, err := fn.NewClient(l.user, l.password, "")
	if err != nil {
		return err
	}
	conv := cl.NewConversation()
	var in string
	for {
		out, err := conv.Step(in)
		if err != nil {
			return err
		}
		if conv.Done() {
			if !conv.Valid() {
				return errors.New("the server's SCRAM signature is invalid")
			}
			return nil
		}
		got, err := step([]byte(out))
		if err != nil {
			return err
		}
		in = string(got)
	}
}

// saslRoundTripper sends the two SASL requests (non-flexible versions).
type saslRoundTripper struct {
	nc   net.Conn
	f    *kmsg.RequestFormatter
	corr int32
}

func (r *saslRoundTripper) do(req kmsg.Request) (kmsg.Response, error) {
	r.corr++
	if _, err := r.nc.Write(r.f.AppendRequest(nil, req, r.corr)); err != nil {
		return nil, err
	}
	var hdr [8]byte
	if _, err := io.ReadFull(r.nc, hdr[:4]); err != nil {
		return nil, err
	}
	size := int32(binary.BigEndian.Uint32(hdr[:4]))
	if size < 4 || size > 1<<20 {
		return nil, fmt.Errorf("response frame of %d bytes", size)
	}
	buf := make([]byte, size)
	if _, err := io.ReadFull(r.nc, buf); err != nil {
		return nil, err
	}
	if corr := int32(binary.BigEndian.Uint32(buf)); corr != r.corr {
		return nil, fmt.Errorf("correlation id %d, want %d", corr, r.corr)
	}
	resp := req.ResponseKind()
	if err := resp.ReadFrom(buf[4:]); err != nil {
		return nil, fmt.Errorf("%s response: %w", kmsg.NameForKey(req.Key()), err)
	}
	return resp, nil
}
