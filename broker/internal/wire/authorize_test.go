package wire

import (
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kspring/kspring/broker/internal/cluster"
)

func acl(rt int8, name string, pattern int8, principal, host string, op kmsg.ACLOperation, perm int8) cluster.ACL {
	return cluster.ACL{ResourceType: rt, ResourceName: name, PatternType: pattern, Principal: principal,
		Host: host, Operation: int8(op), Permission: perm}
}

func TestDecide(t *testing.T) {
	const (
		lit, pre     = cluster.PatternLiteral, cluster.PatternPrefixed
		allow, deny  = cluster.PermissionAllow, cluster.PermissionDeny
		topic, group = cluster.ResourceTopic, cluster.ResourceGroup
		txn          = cluster.ResourceTransactionalID
	)
	acls := []cluster.ACL{
		acl(topic, "orders", lit, "User:alice", "*", kmsg.ACLOperationWrite, allow),
		acl(topic, "pay-", pre, "User:alice", "*", kmsg.ACLOperationRead, allow),
		acl(topic, "pay-secret", lit, "User:alice", "*", kmsg.ACLOperationAll, deny),
		acl(topic, "*", lit, "User:bob", "10.0.0.1", kmsg.ACLOperationDescribe, allow),
		acl(group, "billing", lit, "User:*", "*", kmsg.ACLOperationRead, allow),
		acl(txn, "tx-", pre, "User:alice", "*", kmsg.ACLOperationWrite, allow),
		acl(topic, "cfg", lit, "User:alice", "*", kmsg.ACLOperationAlterConfigs, allow),
	}
	on := Authorization{Enabled: true, SuperUsers: []string{"User:admin"}}
	for _, tc := range []struct {
		name      string
		a         Authorization
		principal string
		host      string
		rt        int8
		resource  string
		op        kmsg.ACLOperation
		want      bool
	}{
		{"literal allow", on, "User:alice", "127.0.0.1", topic, "orders", kmsg.ACLOperationWrite, true},
		{"write implies describe", on, "User:alice", "127.0.0.1", topic, "orders", kmsg.ACLOperationDescribe, true},
		{"write is not read", on, "User:alice", "127.0.0.1", topic, "orders", kmsg.ACLOperationRead, false},
		{"other principal", on, "User:carol", "127.0.0.1", topic, "orders", kmsg.ACLOperationWrite, false},
		{"prefixed", on, "User:alice", "127.0.0.1", topic, "pay-in", kmsg.ACLOperationRead, true},
		{"deny all wins", on, "User:alice", "127.0.0.1", topic, "pay-secret", kmsg.ACLOperationRead, false},
		{"wildcard resource, host match", on, "User:bob", "10.0.0.1", topic, "anything", kmsg.ACLOperationDescribe, true},
		{"wildcard resource, other host", on, "User:bob", "10.0.0.2", topic, "anything", kmsg.ACLOperationDescribe, false},
		{"wildcard principal", on, "User:zed", "h", group, "billing", kmsg.ACLOperationRead, true},
		{"group read is not delete", on, "User:zed", "h", group, "billing", kmsg.ACLOperationDelete, false},
		{"transactional id", on, "User:alice", "h", txn, "tx-orders", kmsg.ACLOperationWrite, true},
		{"transactional id of someone else", on, "User:bob", "h", txn, "tx-orders", kmsg.ACLOperationWrite, false},
		{"transactional id describe implied", on, "User:alice", "h", txn, "tx-1", kmsg.ACLOperationDescribe, true},
		{"alter configs implies describe configs", on, "User:alice", "h", topic, "cfg", kmsg.ACLOperationDescribeConfigs, true},
		{"super user", on, "User:admin", "h", cluster.ResourceCluster, "kafka-cluster", kmsg.ACLOperationAlter, true},
		{"no acl: deny by default", on, "User:alice", "h", group, "other", kmsg.ACLOperationRead, false},
		{"no acl: allow everyone", Authorization{Enabled: true, AllowIfNoACL: true}, "User:alice", "h", group, "other", kmsg.ACLOperationRead, true},
		{"named resource, allow everyone does not apply", Authorization{Enabled: true, AllowIfNoACL: true}, "User:carol", "h", topic, "orders", kmsg.ACLOperationWrite, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, tc.a.decide(acls, tc.principal, tc.host, tc.rt, tc.resource, tc.op))
		})
	}
}

func TestACLFilter(t *testing.T) {
	a := acl(cluster.ResourceTopic, "pay-", cluster.PatternPrefixed, "User:alice", "*", kmsg.ACLOperationRead, cluster.PermissionAllow)
	name := func(s string) *string { return &s }
	any := aclFilter{resourceType: kmsg.ACLResourceTypeAny, pattern: kmsg.ACLResourcePatternTypeAny,
		operation: kmsg.ACLOperationAny, permission: kmsg.ACLPermissionTypeAny}
	for _, tc := range []struct {
		name string
		edit func(f *aclFilter)
		want bool
	}{
		{"any", func(*aclFilter) {}, true},
		{"match covers the prefix", func(f *aclFilter) { f.pattern, f.name = kmsg.ACLResourcePatternTypeMatch, name("pay-in") }, true},
		{"match of another name", func(f *aclFilter) { f.pattern, f.name = kmsg.ACLResourcePatternTypeMatch, name("orders") }, false},
		{"any pattern needs the exact name", func(f *aclFilter) { f.name = name("pay-in") }, false},
		{"prefixed exact", func(f *aclFilter) { f.pattern, f.name = kmsg.ACLResourcePatternTypePrefixed, name("pay-") }, true},
		{"literal is not prefixed", func(f *aclFilter) { f.pattern = kmsg.ACLResourcePatternTypeLiteral }, false},
		{"principal", func(f *aclFilter) { f.principal = name("User:bob") }, false},
		{"operation", func(f *aclFilter) { f.operation = kmsg.ACLOperationWrite }, false},
		{"permission", func(f *aclFilter) { f.permission = kmsg.ACLPermissionTypeAllow }, true},
		{"resource type", func(f *aclFilter) { f.resourceType = kmsg.ACLResourceTypeGroup }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := any
			tc.edit(&f)
			require.Equal(t, tc.want, f.matches(a))
		})
	}
}
