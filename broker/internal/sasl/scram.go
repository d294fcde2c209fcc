package sasl

// SCRAM (RFC 5802) on xdg-go/scram, with one departure Kafka 3.8.1-3.9 also
// makes: librdkafka before 2.6.1 (librdkafka#4895) sends its
// client-final-message nonce as clientNonce + serverFirstNonce, the client
// nonce twice. Kafka 3.9's ScramSaslServer accepts a final nonce that ends
// with the server-first nonce; kspring accepts exactly that legacy form
// and the normal one (equal to the server-first nonce), nothing else, so a
// replayed final message still fails. xdg-go checks the nonce for equality
// and signs the raw message, so the legacy final step is done here.

import (
	"crypto/hmac"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"strings"

	"github.com/xdg-go/scram"
)

// scramSession is one connection's SCRAM exchange. Not safe for
// concurrent use: a connection steps it from its one reading goroutine.
type scramSession struct {
	conv      *scram.ServerConversation
	mechanism string
	hash      func() hash.Hash
	cred      Credential // set by the credential lookup of the first step

	// From the first step, for the legacy final step.
	gs2Header   string // "n,," or "n,a=authzid,"
	clientFirst string // client-first-message-bare
	clientNonce string
	serverFirst string // server-first-message
	serverNonce string // clientNonce + the server's part

	final  bool // the final step was taken, whatever its outcome
	valid  bool
	legacy bool
}

func (s *scramSession) Step(token []byte) ([]byte, error) {
	switch {
	case s.final:
		return nil, fmt.Errorf("%w: %s: the exchange is over", ErrAuthentication, s.mechanism)
	case s.serverFirst == "":
		return s.first(string(token))
	}
	s.final = true
	msg, err := parseClientFinal(string(token), s.gs2Header, s.hash().Size())
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrAuthentication, s.mechanism, err)
	}
	var out []byte
	switch msg.nonce {
	case s.serverNonce:
		o, err := s.conv.Step(string(token))
		if err != nil {
			return nil, s.wrap(err)
		}
		if !s.conv.Valid() {
			return nil, fmt.Errorf("%w: %s: invalid credentials", ErrAuthentication, s.mechanism)
		}
		out = []byte(o)
	case s.clientNonce + s.serverNonce:
		if out, err = s.legacyFinal(msg); err != nil {
			return nil, err
		}
		s.legacy = true
	default:
		return nil, fmt.Errorf("%w: %s: nonce received did not match nonce sent", ErrAuthentication, s.mechanism)
	}
	if az := s.conv.AuthzID(); az != "" && az != s.conv.Username() {
		return nil, fmt.Errorf("%w: authorization id %q differs from user %q", ErrAuthentication, az, s.conv.Username())
	}
	s.valid = true
	return out, nil
}

// first steps xdg-go's conversation and keeps what the final step signs.
func (s *scramSession) first(c1 string) ([]byte, error) {
	out, err := s.conv.Step(c1)
	if err != nil {
		s.final = true
		return nil, s.wrap(err)
	}
	if az := s.conv.AuthzID(); az != "" && az != s.conv.Username() {
		s.final = true
		return nil, fmt.Errorf("%w: authorization id %q differs from user %q", ErrAuthentication, az, s.conv.Username())
	}
	// xdg-go accepted c1: gs2-flag "," [authzid] "," "n=" user ",r=" nonce [,ext].
	f := strings.SplitN(c1, ",", 5)
	rest := ""
	if len(f) == 5 {
		rest = "," + f[4]
	}
	s.gs2Header = f[0] + "," + f[1] + ","
	s.clientFirst = f[2] + "," + f[3] + rest
	s.clientNonce = strings.TrimPrefix(f[3], "r=")
	nonce, _, _ := strings.Cut(out, ",")
	s.serverNonce = strings.TrimPrefix(nonce, "r=")
	s.serverFirst = out
	return []byte(out), nil
}

// legacyFinal verifies a client-final-message carrying librdkafka's
// clientNonce + serverNonce and returns the server-final-message (RFC 5802
// section 3, over the message as received).
func (s *scramSession) legacyFinal(msg clientFinal) ([]byte, error) {
	authMsg := []byte(s.clientFirst + "," + s.serverFirst + "," + msg.withoutProof)
	clientKey := s.mac(s.cred.StoredKey, authMsg)
	subtle.XORBytes(clientKey, clientKey, msg.proof)
	h := s.hash()
	h.Write(clientKey)
	if subtle.ConstantTimeCompare(h.Sum(nil), s.cred.StoredKey) != 1 {
		return nil, fmt.Errorf("%w: %s: invalid credentials", ErrAuthentication, s.mechanism)
	}
	return []byte("v=" + base64.StdEncoding.EncodeToString(s.mac(s.cred.ServerKey, authMsg))), nil
}

func (s *scramSession) mac(key, msg []byte) []byte {
	m := hmac.New(s.hash, key)
	m.Write(msg)
	return m.Sum(nil)
}

func (s *scramSession) wrap(err error) error {
	if errors.Is(err, ErrAuthentication) {
		return err
	}
	return fmt.Errorf("%w: %s: %v", ErrAuthentication, s.mechanism, err)
}

func (s *scramSession) Done() bool   { return s.valid }
func (s *scramSession) User() string { return s.conv.Username() }

// LegacyNonce reports whether the exchange succeeded with librdkafka's
// legacy client-final nonce (clientNonce + serverNonce).
func (s *scramSession) LegacyNonce() bool { return s.valid && s.legacy }

// AcceptedLegacyNonce reports whether sess is a finished SCRAM exchange
// that accepted librdkafka's legacy client-final nonce (librdkafka#4895),
// for the caller to log once per connection.
func AcceptedLegacyNonce(sess Session) bool {
	l, ok := sess.(interface{ LegacyNonce() bool })
	return ok && l.LegacyNonce()
}

// clientFinal is a parsed client-final-message.
type clientFinal struct {
	nonce        string
	proof        []byte
	withoutProof string // client-final-message-without-proof, as sent
}

// parseClientFinal parses c2 strictly: "c=" base64(gs2Header), "r=" nonce,
// any extensions (a letter other than c, r, p, then "="), "p=" base64 of
// a proof of proofLen bytes.
func parseClientFinal(c2, gs2Header string, proofLen int) (clientFinal, error) {
	fields := strings.Split(c2, ",")
	if len(fields) < 3 {
		return clientFinal{}, errors.New("client-final-message: want c=, r= and p=")
	}
	cb, ok := strings.CutPrefix(fields[0], "c=")
	if !ok {
		return clientFinal{}, errors.New("client-final-message: does not start with c=")
	}
	if cb != base64.StdEncoding.EncodeToString([]byte(gs2Header)) {
		return clientFinal{}, errors.New("client-final-message: channel binding does not match the client-first gs2 header")
	}
	nonce, ok := strings.CutPrefix(fields[1], "r=")
	if !ok || nonce == "" {
		return clientFinal{}, errors.New("client-final-message: r= does not follow c=")
	}
	for _, ext := range fields[2 : len(fields)-1] {
		if len(ext) < 2 || ext[1] != '=' || !isAlpha(ext[0]) || strings.IndexByte("crp", ext[0]) >= 0 {
			return clientFinal{}, fmt.Errorf("client-final-message: bad attribute %q", ext)
		}
	}
	p, ok := strings.CutPrefix(fields[len(fields)-1], "p=")
	if !ok {
		return clientFinal{}, errors.New("client-final-message: does not end with p=")
	}
	proof, err := base64.StdEncoding.Strict().DecodeString(p)
	if err != nil {
		return clientFinal{}, fmt.Errorf("client-final-message: proof: %w", err)
	}
	if len(proof) != proofLen {
		return clientFinal{}, fmt.Errorf("client-final-message: proof of %d bytes, want %d", len(proof), proofLen)
	}
	return clientFinal{nonce: nonce, proof: proof, withoutProof: c2[:strings.LastIndexByte(c2, ',')]}, nil
}

func isAlpha(b byte) bool { return 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' }
