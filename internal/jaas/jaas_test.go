package jaas

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     Config
		err      bool
	}{
		{name: "plain server", in: `org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-secret" user_admin="admin-secret" user_alice="alice-secret";`,
			want: Config{LoginModule: PlainLoginModule, Flag: "required", Options: map[string]string{
				"username": "admin", "password": "admin-secret", "user_admin": "admin-secret", "user_alice": "alice-secret"}}},
		{name: "scram client, unquoted, spaces", in: "  " + ScramLoginModule + "  required\n username=bob   password = \"p;w \\\"q\\\"\" ;  ",
			want: Config{LoginModule: ScramLoginModule, Flag: "required", Options: map[string]string{"username": "bob", "password": `p;w "q"`}}},
		{name: "no options", in: PlainLoginModule + " optional;", want: Config{LoginModule: PlainLoginModule, Flag: "optional", Options: map[string]string{}}},
		{name: "empty", in: "", err: true},
		{name: "bad flag", in: PlainLoginModule + " maybe;", err: true},
		{name: "no semicolon", in: PlainLoginModule + ` required username="a"`, err: true},
		{name: "unterminated quote", in: PlainLoginModule + ` required username="a;`, err: true},
		{name: "missing equals", in: PlainLoginModule + ` required username "a";`, err: true},
		{name: "two modules", in: PlainLoginModule + ` required; ` + PlainLoginModule + ` required;`, err: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(tc.in)
			if tc.err {
				require.ErrorIs(t, err, ErrSyntax)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestUsersAndCredentials(t *testing.T) {
	c, err := Parse(PlainLoginModule + ` required username="admin" password="s" user_admin="s" user_alice="a" user_="x";`)
	require.NoError(t, err)
	require.Equal(t, map[string]string{"admin": "s", "alice": "a"}, c.Users())
	u, p, ok := c.Credentials()
	require.True(t, ok)
	require.Equal(t, "admin", u)
	require.Equal(t, "s", p)
}

// Any input parses or fails with ErrSyntax; a parsed config re-parses to itself.
func FuzzParse(f *testing.F) {
	f.Add(PlainLoginModule + ` required username="a" password="b\"c";`)
	f.Add(ScramLoginModule + " required user_x=y;")
	f.Add(`x optional k="\\";`)
	f.Fuzz(func(t *testing.T, s string) {
		c, err := Parse(s)
		if err != nil {
			if !errors.Is(err, ErrSyntax) {
				t.Fatalf("error %v does not wrap ErrSyntax", err)
			}
			return
		}
		if c.LoginModule == "" || c.Options == nil {
			t.Fatalf("parsed %q to %+v", s, c)
		}
	})
}
