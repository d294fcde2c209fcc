package wire

import (
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kspring/kspring/broker/internal/cluster"
)

func TestDecideByResourceType(t *testing.T) {
	const (
		lit, pre    = cluster.PatternLiteral, cluster.PatternPrefixed
		allow, deny = cluster.PermissionAllow, cluster.PermissionDeny
		topic       = cluster.ResourceTopic
		write       = kmsg.ACLOperationWrite
	)
	on := Authorization{Enabled: true, SuperUsers: []string{"User:admin"}}
	for _, tc := range []struct {
		name string
		a    Authorization
		acls []cluster.ACL
		want bool
	}{
		{"no ACL", on, nil, false},
		{"no ACL, allow everyone", Authorization{Enabled: true, AllowIfNoACL: true}, nil, true},
		{"literal", on, []cluster.ACL{acl(topic, "orders", lit, "User:alice", "*", write, allow)}, true},
		{"prefix of topics not created", on, []cluster.ACL{acl(topic, "alice-", pre, "User:alice", "*", write, allow)}, true},
		{"All", on, []cluster.ACL{acl(topic, "orders", lit, "User:alice", "*", kmsg.ACLOperationAll, allow)}, true},
		{"wildcard principal", on, []cluster.ACL{acl(topic, "orders", lit, "User:*", "*", write, allow)}, true},
		{"read is not write", on, []cluster.ACL{acl(topic, "orders", lit, "User:alice", "*", kmsg.ACLOperationRead, allow)}, false},
		{"another principal's", on, []cluster.ACL{acl(topic, "orders", lit, "User:bob", "*", write, allow)}, false},
		{"another host's", on, []cluster.ACL{acl(topic, "orders", lit, "User:alice", "10.0.0.9", write, allow)}, false},
		{"another type", on, []cluster.ACL{acl(cluster.ResourceGroup, "orders", lit, "User:alice", "*", write, allow)}, false},
		{"literal denied", on, []cluster.ACL{
			acl(topic, "orders", lit, "User:alice", "*", write, allow), acl(topic, "orders", lit, "User:alice", "*", write, deny)}, false},
		{"literal under a denied prefix", on, []cluster.ACL{
			acl(topic, "orders", lit, "User:alice", "*", write, allow), acl(topic, "ord", pre, "User:alice", "*", write, deny)}, false},
		{"prefix under a denied prefix", on, []cluster.ACL{
			acl(topic, "orders-", pre, "User:alice", "*", write, allow), acl(topic, "o", pre, "User:*", "*", kmsg.ACLOperationAll, deny)}, false},
		{"a longer denied prefix leaves the prefix", on, []cluster.ACL{
			acl(topic, "orders-", pre, "User:alice", "*", write, allow), acl(topic, "orders-eu", pre, "User:alice", "*", write, deny)}, true},
		{"one allowed of two", on, []cluster.ACL{
			acl(topic, "a", lit, "User:alice", "*", write, allow), acl(topic, "a", lit, "User:alice", "*", write, deny),
			acl(topic, "b", lit, "User:alice", "*", write, allow)}, true},
		{"wildcard", on, []cluster.ACL{acl(topic, "*", lit, "User:alice", "*", write, allow)}, true},
		{"wildcard denied", on, []cluster.ACL{
			acl(topic, "orders", lit, "User:alice", "*", write, allow), acl(topic, "*", lit, "User:alice", "*", write, deny)}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, tc.a.decideByResourceType(tc.acls, "User:alice", "127.0.0.1", topic, write))
		})
	}
	require.True(t, on.decideByResourceType([]cluster.ACL{acl(topic, "*", lit, "User:admin", "*", write, deny)},
		"User:admin", "h", topic, write), "a super user, whatever DENY")
}
