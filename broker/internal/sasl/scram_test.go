package sasl

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"hash"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// handClient is a SCRAM client built from RFC 5802 with the standard
// library alone, so that its final message can carry any nonce.
type handClient struct {
	t           *testing.T
	h           func() hash.Hash
	user, pw    string
	clientNonce string
	clientFirst string // bare
	serverFirst string
	serverNonce string
	salted      []byte
}

func newHandClient(t *testing.T, mech, user, pw string) *handClient {
	t.Helper()
	h := sha256.New
	if mech == ScramSHA512 {
		h = sha512.New
	}
	c := &handClient{t: t, h: h, user: user, pw: pw, clientNonce: "fyko+d2lbbFgONRv9qkxdawL"}
	c.clientFirst = "n=" + user + ",r=" + c.clientNonce
	return c
}

func (c *handClient) first() string { return "n,," + c.clientFirst }

// takeServerFirst reads "r=...,s=...,i=..." and salts the password.
func (c *handClient) takeServerFirst(s1 string) {
	c.t.Helper()
	c.serverFirst = s1
	f := strings.Split(s1, ",")
	require.Len(c.t, f, 3, s1)
	c.serverNonce = strings.TrimPrefix(f[0], "r=")
	require.True(c.t, strings.HasPrefix(c.serverNonce, c.clientNonce), "the server nonce extends the client's")
	salt, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(f[1], "s="))
	require.NoError(c.t, err)
	iters, err := strconv.Atoi(strings.TrimPrefix(f[2], "i="))
	require.NoError(c.t, err)
	c.salted, err = pbkdf2.Key(c.h, c.pw, salt, iters, c.h().Size())
	require.NoError(c.t, err)
}

func (c *handClient) mac(key []byte, msg string) []byte {
	m := hmac.New(c.h, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

// final builds a client-final-message over withoutProof (as librdkafka
// does, the proof signs the message as sent) and the server signature it
// expects back.
func (c *handClient) final(withoutProof string) (msg, serverFinal string) {
	authMsg := c.clientFirst + "," + c.serverFirst + "," + withoutProof
	clientKey := c.mac(c.salted, "Client Key")
	h := c.h()
	h.Write(clientKey)
	sig := c.mac(h.Sum(nil), authMsg)
	proof := make([]byte, len(sig))
	for i := range sig {
		proof[i] = clientKey[i] ^ sig[i]
	}
	v := c.mac(c.mac(c.salted, "Server Key"), authMsg)
	return withoutProof + ",p=" + base64.StdEncoding.EncodeToString(proof), "v=" + base64.StdEncoding.EncodeToString(v)
}

// TestScramLegacyNonce runs hand-built exchanges whose client-final nonce
// takes each form: the normal one and librdkafka's (before 2.6.1)
// clientNonce+serverNonce are accepted with the right password; any other
// nonce, a wrong password or a malformed message is refused.
func TestScramLegacyNonce(t *testing.T) {
	u := testUsers(t)
	for _, mech := range []string{ScramSHA256, ScramSHA512} {
		for _, tc := range []struct {
			name   string
			pw     string
			final  func(c *handClient) string // the message without proof
			edit   func(msg string) string    // applied to the signed message
			ok     bool
			legacy bool
		}{
			{name: "normal", pw: "bob-pw", ok: true,
				final: func(c *handClient) string { return "c=biws,r=" + c.serverNonce }},
			{name: "librdkafka", pw: "bob-pw", ok: true, legacy: true,
				final: func(c *handClient) string { return "c=biws,r=" + c.clientNonce + c.serverNonce }},
			{name: "librdkafka with an extension", pw: "bob-pw", ok: true, legacy: true,
				final: func(c *handClient) string { return "c=biws,r=" + c.clientNonce + c.serverNonce + ",x=ext" }},
			{name: "librdkafka wrong password", pw: "wrong",
				final: func(c *handClient) string { return "c=biws,r=" + c.clientNonce + c.serverNonce }},
			{name: "normal wrong password", pw: "wrong",
				final: func(c *handClient) string { return "c=biws,r=" + c.serverNonce }},
			{name: "client nonce only", pw: "bob-pw",
				final: func(c *handClient) string { return "c=biws,r=" + c.clientNonce }},
			{name: "server nonce truncated", pw: "bob-pw",
				final: func(c *handClient) string { return "c=biws,r=" + c.serverNonce[:len(c.serverNonce)-1] }},
			{name: "librdkafka truncated", pw: "bob-pw",
				final: func(c *handClient) string {
					return "c=biws,r=" + c.clientNonce + c.serverNonce[:len(c.serverNonce)-1]
				}},
			{name: "client nonce three times", pw: "bob-pw",
				final: func(c *handClient) string { return "c=biws,r=" + c.clientNonce + c.clientNonce + c.serverNonce }},
			{name: "server nonce twice", pw: "bob-pw",
				final: func(c *handClient) string { return "c=biws,r=" + c.serverNonce + c.serverNonce }},
			{name: "other prefix", pw: "bob-pw",
				final: func(c *handClient) string { return "c=biws,r=X" + c.serverNonce }},
			{name: "other channel binding", pw: "bob-pw",
				final: func(c *handClient) string { return "c=eSws,r=" + c.clientNonce + c.serverNonce }},
			{name: "nonce before channel binding", pw: "bob-pw",
				final: func(c *handClient) string { return "r=" + c.clientNonce + c.serverNonce + ",c=biws" }},
			{name: "bad extension", pw: "bob-pw",
				final: func(c *handClient) string { return "c=biws,r=" + c.clientNonce + c.serverNonce + ",r=again" }},
			{name: "proof not base64", pw: "bob-pw",
				final: func(c *handClient) string { return "c=biws,r=" + c.clientNonce + c.serverNonce },
				edit:  func(msg string) string { return msg[:strings.LastIndex(msg, "p=")] + "p=!!!!" }},
			{name: "proof too short", pw: "bob-pw",
				final: func(c *handClient) string { return "c=biws,r=" + c.clientNonce + c.serverNonce },
				edit:  func(msg string) string { return msg[:strings.LastIndex(msg, "p=")] + "p=AAAA" }},
			{name: "no proof", pw: "bob-pw",
				final: func(c *handClient) string { return "c=biws,r=" + c.clientNonce + c.serverNonce },
				edit:  func(msg string) string { return msg[:strings.LastIndex(msg, ",p=")] }},
		} {
			t.Run(mech+"/"+tc.name, func(t *testing.T) {
				c := newHandClient(t, mech, "bob", tc.pw)
				s, err := New(mech, u)
				require.NoError(t, err)
				s1, err := s.Step([]byte(c.first()))
				require.NoError(t, err)
				c.takeServerFirst(string(s1))

				msg, want := c.final(tc.final(c))
				if tc.edit != nil {
					msg = tc.edit(msg)
				}
				s2, err := s.Step([]byte(msg))
				if !tc.ok {
					require.ErrorIs(t, err, ErrAuthentication)
					require.False(t, s.Done())
					require.False(t, AcceptedLegacyNonce(s))
					return
				}
				require.NoError(t, err)
				require.True(t, s.Done())
				require.Equal(t, "bob", s.User())
				require.Equal(t, want, string(s2), "the server signs the message as received")
				require.Equal(t, tc.legacy, AcceptedLegacyNonce(s))

				_, err = s.Step([]byte(msg))
				require.ErrorIs(t, err, ErrAuthentication, "no step after the final one")
			})
		}
	}
}

// A final message of one exchange does not authenticate another: each
// exchange's server nonce is fresh, in the legacy form too.
func TestScramLegacyNonceNoReplay(t *testing.T) {
	u := testUsers(t)
	c := newHandClient(t, ScramSHA256, "bob", "bob-pw")
	s, err := New(ScramSHA256, u)
	require.NoError(t, err)
	s1, err := s.Step([]byte(c.first()))
	require.NoError(t, err)
	c.takeServerFirst(string(s1))
	msg, _ := c.final("c=biws,r=" + c.clientNonce + c.serverNonce)
	_, err = s.Step([]byte(msg))
	require.NoError(t, err)

	replay, err := New(ScramSHA256, u)
	require.NoError(t, err)
	_, err = replay.Step([]byte(c.first()))
	require.NoError(t, err)
	_, err = replay.Step([]byte(msg))
	require.ErrorIs(t, err, ErrAuthentication)
	require.False(t, replay.Done())
}
