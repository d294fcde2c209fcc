package cluster

import (
	"bytes"
	"io"
	"testing"

	"github.com/stretchr/testify/require"
)

var (
	testScram = ScramCredential{User: "alice", Mechanism: "SCRAM-SHA-256", Salt: []byte("salt"),
		StoredKey: []byte("stored"), ServerKey: []byte("server"), Iterations: 4096}
	testACL = ACL{ResourceType: ResourceTopic, ResourceName: "orders", PatternType: PatternLiteral,
		Principal: "User:alice", Host: "*", Operation: 4 /* write */, Permission: PermissionAllow}
)

// secured adds testScram and testACL to s.
func secured(t *testing.T, s *State) *State {
	t.Helper()
	s, _, err := apply(s, command{Op: opSetScram, Scram: &testScram}, 20)
	require.NoError(t, err)
	s, _, err = apply(s, command{Op: opCreateACLs, ACLs: []ACL{testACL}}, 21)
	require.NoError(t, err)
	return s
}

func TestScramCredentials(t *testing.T) {
	s := secured(t, emptyState())
	c, ok := s.ScramCredential("alice", "SCRAM-SHA-256")
	require.True(t, ok)
	require.Equal(t, testScram, c)
	_, ok = s.ScramCredential("alice", "SCRAM-SHA-512")
	require.False(t, ok)

	n, _, err := apply(s, command{Op: opDeleteScram, Scram: &ScramCredential{User: "alice", Mechanism: "SCRAM-SHA-256"}}, 22)
	require.NoError(t, err)
	_, ok = n.ScramCredential("alice", "SCRAM-SHA-256")
	require.False(t, ok)
	_, ok = s.ScramCredential("alice", "SCRAM-SHA-256")
	require.True(t, ok, "the state applied to is unchanged")

	_, _, err = apply(n, command{Op: opDeleteScram, Scram: &ScramCredential{User: "alice", Mechanism: "SCRAM-SHA-256"}}, 23)
	require.ErrorIs(t, err, ErrNoSuchCredential)
}

func TestScramAndACLChecks(t *testing.T) {
	low := testScram
	low.Iterations = 100
	noKey := testScram
	noKey.StoredKey = nil
	badMech := testScram
	badMech.Mechanism = "SCRAM-SHA-1"
	cluster := testACL
	cluster.ResourceType = ResourceCluster
	noHost := testACL
	noHost.Host = ""
	badPrincipal := testACL
	badPrincipal.Principal = "alice"
	for name, c := range map[string]command{
		"iterations":    {Op: opSetScram, Scram: &low},
		"no stored key": {Op: opSetScram, Scram: &noKey},
		"mechanism":     {Op: opSetScram, Scram: &badMech},
		"no credential": {Op: opSetScram},
		"no acls":       {Op: opCreateACLs},
		"cluster name":  {Op: opCreateACLs, ACLs: []ACL{cluster}},
		"host":          {Op: opCreateACLs, ACLs: []ACL{noHost}},
		"principal":     {Op: opDeleteACLs, ACLs: []ACL{badPrincipal}},
	} {
		t.Run(name, func(t *testing.T) {
			_, _, err := apply(emptyState(), c, 1)
			require.ErrorIs(t, err, ErrInvalidRequest)
		})
	}
}

func TestACLs(t *testing.T) {
	s := secured(t, emptyState())
	other := testACL
	other.Principal = "User:bob"
	s, _, err := apply(s, command{Op: opCreateACLs, ACLs: []ACL{testACL, other}}, 30)
	require.NoError(t, err)
	require.Equal(t, []ACL{testACL, other}, s.ACLs, "a binding that exists stays one")

	n, deleted, err := apply(s, command{Op: opDeleteACLs, ACLs: []ACL{testACL}}, 31)
	require.NoError(t, err)
	require.Equal(t, []ACL{testACL}, deleted)
	require.Equal(t, []ACL{other}, n.ACLs)
	require.Equal(t, []ACL{testACL, other}, s.ACLs, "the state applied to is unchanged")
}

// SCRAM credentials and ACLs survive a snapshot.
func TestSecuritySnapshot(t *testing.T) {
	s := secured(t, emptyState())
	var buf bytes.Buffer
	require.NoError(t, snapshot{s}.Persist(&sink{Buffer: &buf}))
	f := newFSM()
	require.NoError(t, f.Restore(io.NopCloser(&buf)))
	got := f.state.Load()
	require.Equal(t, s.Scram, got.Scram)
	require.Equal(t, s.ACLs, got.ACLs)
}

type sink struct{ *bytes.Buffer }

func (sink) ID() string    { return "test" }
func (sink) Cancel() error { return nil }
func (sink) Close() error  { return nil }
