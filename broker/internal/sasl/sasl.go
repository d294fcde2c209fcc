package sasl

import (
	"bytes"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"errors"
	"fmt"
	"hash"
	"slices"

	"github.com/xdg-go/scram"
)

// Mechanism names, as SaslHandshake carries them.
const (
	Plain       = "PLAIN"
	ScramSHA256 = "SCRAM-SHA-256"
	ScramSHA512 = "SCRAM-SHA-512"
)

// Mechanisms are the mechanisms served.
var Mechanisms = []string{Plain, ScramSHA256, ScramSHA512}

// Supported reports whether mechanism is served.
func Supported(mechanism string) bool { return slices.Contains(Mechanisms, mechanism) }

// ErrAuthentication is wrapped by every failed authentication: the client
// gets SASL_AUTHENTICATION_FAILED with the message.
var ErrAuthentication = errors.New("authentication failed")

// Credential is a user's SCRAM credential for one mechanism, as the
// metadata quorum stores it (never the password).
type Credential struct {
	Salt       []byte
	StoredKey  []byte
	ServerKey  []byte
	Iterations int32
}

// Users looks up credentials. Implementations must be safe for concurrent use.
type Users interface {
	// PlainPassword returns the PLAIN password of user.
	PlainPassword(user string) (string, bool)
	// ScramCredential returns user's credential for a SCRAM mechanism.
	ScramCredential(user, mechanism string) (Credential, bool)
}

// Session is one connection's authentication exchange.
type Session interface {
	// Step takes the client's next token and returns the server's answer.
	// An error wrapping ErrAuthentication ends the exchange unauthenticated.
	Step(token []byte) ([]byte, error)
	// Done reports whether the exchange is over and succeeded.
	Done() bool
	// User is the authenticated user's name once Done.
	User() string
}

// New starts an exchange for mechanism.
func New(mechanism string, users Users) (Session, error) {
	switch mechanism {
	case Plain:
		return &plain{users: users}, nil
	case ScramSHA256, ScramSHA512:
		fn := scram.SHA256
		if mechanism == ScramSHA512 {
			fn = scram.SHA512
		}
		h, _ := hashFor(mechanism)
		sess := &scramSession{mechanism: mechanism, hash: h}
		srv, err := fn.NewServer(func(user string) (scram.StoredCredentials, error) {
			c, ok := users.ScramCredential(user, mechanism)
			if !ok {
				return scram.StoredCredentials{}, fmt.Errorf("%w: unknown user or mechanism %s", ErrAuthentication, mechanism)
			}
			sess.cred = c
			return scram.StoredCredentials{
				KeyFactors: scram.KeyFactors{Salt: string(c.Salt), Iters: int(c.Iterations)},
				StoredKey:  c.StoredKey, ServerKey: c.ServerKey,
			}, nil
		})
		if err != nil {
			return nil, fmt.Errorf("sasl: %s: %w", mechanism, err)
		}
		sess.conv = srv.NewConversation()
		return sess, nil
	}
	return nil, fmt.Errorf("sasl: mechanism %q is not supported", mechanism)
}

// plain is RFC 4616: one token "authzid\0authcid\0passwd".
type plain struct {
	users Users
	user  string
	done  bool
}

func (p *plain) Step(token []byte) ([]byte, error) {
	if p.done {
		return nil, fmt.Errorf("%w: PLAIN takes one token", ErrAuthentication)
	}
	authzid, user, pass, err := ParsePlain(token)
	if err != nil {
		return nil, err
	}
	if authzid != "" && authzid != user {
		return nil, fmt.Errorf("%w: authorization id %q differs from user %q", ErrAuthentication, authzid, user)
	}
	want, ok := p.users.PlainPassword(user)
	// Compare even for an unknown user, so that timing tells nothing.
	if subtle.ConstantTimeCompare([]byte(want), []byte(pass)) != 1 || !ok {
		return nil, fmt.Errorf("%w: invalid username or password", ErrAuthentication)
	}
	p.user, p.done = user, true
	return nil, nil
}

func (p *plain) Done() bool   { return p.done }
func (p *plain) User() string { return p.user }

// ParsePlain splits a PLAIN token into its three fields.
func ParsePlain(token []byte) (authzid, user, pass string, err error) {
	parts := bytes.Split(token, []byte{0})
	if len(parts) != 3 {
		return "", "", "", fmt.Errorf("%w: a PLAIN token has 3 NUL-separated fields, got %d", ErrAuthentication, len(parts))
	}
	if len(parts[1]) == 0 || len(parts[2]) == 0 {
		return "", "", "", fmt.Errorf("%w: empty username or password", ErrAuthentication)
	}
	return string(parts[0]), string(parts[1]), string(parts[2]), nil
}

// Kafka's bounds on SCRAM iterations.
const (
	MinIterations = 4096
	MaxIterations = 16384
)

func hashFor(mechanism string) (func() hash.Hash, error) {
	switch mechanism {
	case ScramSHA256:
		return sha256.New, nil
	case ScramSHA512:
		return sha512.New, nil
	}
	return nil, fmt.Errorf("sasl: %q is not a SCRAM mechanism", mechanism)
}

// FromSaltedPassword derives the stored credential from the salted
// password AlterUserScramCredentials carries (RFC 5802: StoredKey =
// H(HMAC(SaltedPassword, "Client Key")), ServerKey = HMAC(SaltedPassword,
// "Server Key")).
func FromSaltedPassword(mechanism string, salt, salted []byte, iterations int32) (Credential, error) {
	h, err := hashFor(mechanism)
	if err != nil {
		return Credential{}, err
	}
	mac := func(key []byte, msg string) []byte {
		m := hmac.New(h, key)
		m.Write([]byte(msg))
		return m.Sum(nil)
	}
	ck := mac(salted, "Client Key")
	sh := h()
	sh.Write(ck)
	return Credential{
		Salt: slices.Clone(salt), StoredKey: sh.Sum(nil), ServerKey: mac(salted, "Server Key"),
		Iterations: iterations,
	}, nil
}

// SaltPassword is SCRAM's Hi(password, salt, iterations): PBKDF2 with the
// mechanism's HMAC, as a client computes it for AlterUserScramCredentials.
func SaltPassword(mechanism, password string, salt []byte, iterations int32) ([]byte, error) {
	h, err := hashFor(mechanism)
	if err != nil {
		return nil, err
	}
	return pbkdf2.Key(h, password, salt, int(iterations), h().Size())
}

// FromPassword derives the stored credential of password with salt.
func FromPassword(mechanism, user, password string, salt []byte, iterations int32) (Credential, error) {
	fn := scram.SHA256
	if mechanism == ScramSHA512 {
		fn = scram.SHA512
	} else if mechanism != ScramSHA256 {
		return Credential{}, fmt.Errorf("sasl: %q is not a SCRAM mechanism", mechanism)
	}
	cl, err := fn.NewClient(user, password, "")
	if err != nil {
		return Credential{}, fmt.Errorf("sasl: %w", err)
	}
	sc, err := cl.GetStoredCredentialsWithError(scram.KeyFactors{Salt: string(salt), Iters: int(iterations)})
	if err != nil {
		return Credential{}, fmt.Errorf("sasl: %w", err)
	}
	return Credential{Salt: slices.Clone(salt), StoredKey: sc.StoredKey, ServerKey: sc.ServerKey, Iterations: iterations}, nil
}
