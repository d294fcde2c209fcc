package sasl

import (
	"bytes"
	"crypto/pbkdf2"
	"crypto/sha256"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/xdg-go/scram"
)

type users struct {
	plain map[string]string
	scram map[[2]string]Credential
}

func (u users) PlainPassword(user string) (string, bool) { p, ok := u.plain[user]; return p, ok }
func (u users) ScramCredential(user, mech string) (Credential, bool) {
	c, ok := u.scram[[2]string{user, mech}]
	return c, ok
}

func testUsers(t *testing.T) users {
	t.Helper()
	u := users{plain: map[string]string{"alice": "alice-pw"}, scram: map[[2]string]Credential{}}
	for _, m := range []string{ScramSHA256, ScramSHA512} {
		c, err := FromPassword(m, "bob", "bob-pw", []byte("salt-of-bob"), 4096)
		require.NoError(t, err)
		u.scram[[2]string{"bob", m}] = c
	}
	return u
}

func TestPlain(t *testing.T) {
	u := testUsers(t)
	for _, tc := range []struct {
		name  string
		token string
		ok    bool
	}{
		{"ok", "\x00alice\x00alice-pw", true},
		{"ok with authzid", "alice\x00alice\x00alice-pw", true},
		{"wrong password", "\x00alice\x00nope", false},
		{"unknown user", "\x00carol\x00alice-pw", false},
		{"other authzid", "bob\x00alice\x00alice-pw", false},
		{"two fields", "alice\x00alice-pw", false},
		{"empty password", "\x00alice\x00", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := New(Plain, u)
			require.NoError(t, err)
			_, err = s.Step([]byte(tc.token))
			if !tc.ok {
				require.ErrorIs(t, err, ErrAuthentication)
				require.False(t, s.Done())
				return
			}
			require.NoError(t, err)
			require.True(t, s.Done())
			require.Equal(t, "alice", s.User())
		})
	}
}

// scramExchange runs a client conversation against a server session.
func scramExchange(t *testing.T, mech, user, pw string, u Users) (Session, error) {
	t.Helper()
	fn := scram.SHA256
	if mech == ScramSHA512 {
		fn = scram.SHA512
	}
	cl, err := fn.NewClient(user, pw, "")
	require.NoError(t, err)
	conv := cl.NewConversation()
	s, err := New(mech, u)
	require.NoError(t, err)
	var in string
	for !conv.Done() {
		out, err := conv.Step(in)
		if err != nil {
			return s, err
		}
		if conv.Done() {
			require.True(t, conv.Valid(), "the client verified the server's signature")
			break
		}
		resp, err := s.Step([]byte(out))
		if err != nil {
			return s, err
		}
		in = string(resp)
	}
	return s, nil
}

func TestScram(t *testing.T) {
	u := testUsers(t)
	for _, mech := range []string{ScramSHA256, ScramSHA512} {
		t.Run(mech, func(t *testing.T) {
			s, err := scramExchange(t, mech, "bob", "bob-pw", u)
			require.NoError(t, err)
			require.True(t, s.Done())
			require.Equal(t, "bob", s.User())

			s, err = scramExchange(t, mech, "bob", "wrong", u)
			require.ErrorIs(t, err, ErrAuthentication)
			require.False(t, s.Done())

			s, err = scramExchange(t, mech, "nobody", "bob-pw", u)
			require.ErrorIs(t, err, ErrAuthentication)
			require.False(t, s.Done())
		})
	}
}

// The credential derived from a salted password (AlterUserScramCredentials)
// is the one derived from the password itself.
func TestFromSaltedPassword(t *testing.T) {
	salt := []byte("0123456789abcdef")
	salted, err := pbkdf2.Key(sha256.New, "pw", salt, 4096, sha256.Size)
	require.NoError(t, err)
	a, err := FromSaltedPassword(ScramSHA256, salt, salted, 4096)
	require.NoError(t, err)
	b, err := FromPassword(ScramSHA256, "u", "pw", salt, 4096)
	require.NoError(t, err)
	require.Equal(t, b, a)
}

// Whatever a client sends, a session answers or fails with
// ErrAuthentication, and never reports success without a valid exchange.
// In the second token, "{c}" stands for the client nonce of the first and
// "{s}" for the server's nonce, so that the fuzzer reaches the final step
// of both accepted nonce forms (c=biws,r={s},... and librdkafka's
// c=biws,r={c}{s},...).
func FuzzStep(f *testing.F) {
	f.Add(byte(0), []byte("\x00alice\x00alice-pw"), []byte(nil))
	f.Add(byte(1), []byte("n,,n=bob,r=abc"), []byte("c=biws,r=abc,p=xyz"))
	f.Add(byte(2), []byte("n,a=x,n=bob,r=q"), []byte("garbage"))
	f.Add(byte(1), []byte("n,,n=bob,r=abc"), []byte("c=biws,r={s},p=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="))
	f.Add(byte(1), []byte("n,,n=bob,r=abc"), []byte("c=biws,r={c}{s},p=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="))
	f.Add(byte(2), []byte("n,,n=bob,r=abc"), []byte("c=biws,r={c}{s},x=1,p=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=="))
	f.Add(byte(2), []byte("n,,n=bob,r=abc"), []byte("c=biws,r={c}{c}{s},p=!"))
	var u users
	f.Fuzz(func(t *testing.T, m byte, first, second []byte) {
		if u.plain == nil {
			u = testUsers(t) // once: deriving keys is slow on purpose
		}
		mech := Mechanisms[int(m)%len(Mechanisms)]
		s, err := New(mech, u)
		require.NoError(t, err)
		tokens := [][]byte{first, second}
		for i := range tokens {
			if s.Done() {
				break
			}
			out, err := s.Step(tokens[i])
			if err != nil {
				require.ErrorIs(t, err, ErrAuthentication)
				require.False(t, s.Done())
				return
			}
			if i == 0 && mech != Plain {
				tokens[1] = withNonces(first, out, second)
			}
		}
		if s.Done() && mech != Plain {
			t.Fatalf("SCRAM done from two fuzzed tokens: %q %q", first, tokens[1])
		}
	})
}

// withNonces replaces {c} and {s} in tok with the client nonce of
// clientFirst and the server nonce of serverFirst.
func withNonces(clientFirst, serverFirst, tok []byte) []byte {
	nonce := func(msg []byte) []byte {
		for f := range bytes.SplitSeq(msg, []byte(",")) {
			if v, ok := bytes.CutPrefix(f, []byte("r=")); ok {
				return v
			}
		}
		return nil
	}
	tok = bytes.ReplaceAll(tok, []byte("{c}"), nonce(clientFirst))
	return bytes.ReplaceAll(tok, []byte("{s}"), nonce(serverFirst))
}
