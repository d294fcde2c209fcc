package wire

import (
	"strings"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kspring/kspring/broker/internal/cluster"
)

// ACL bindings and filters as CreateAcls, DescribeAcls and DeleteAcls
// carry them, with Kafka's matching rules (AclBindingFilter).

// aclFilter is a DescribeAcls or DeleteAcls filter.
type aclFilter struct {
	resourceType kmsg.ACLResourceType
	name         *string
	pattern      kmsg.ACLResourcePatternType
	principal    *string
	host         *string
	operation    kmsg.ACLOperation
	permission   kmsg.ACLPermissionType
}

// matches reports whether ACL a passes the filter. The pattern type MATCH
// selects every ACL that applies to the named resource (literal name,
// literal "*", prefixes of it); ANY every pattern type of exactly that
// name; LITERAL and PREFIXED that type and name.
func (f aclFilter) matches(a cluster.ACL) bool {
	if f.resourceType != kmsg.ACLResourceTypeAny && int8(f.resourceType) != a.ResourceType {
		return false
	}
	switch f.pattern {
	case kmsg.ACLResourcePatternTypeMatch:
		if f.name != nil && !resourceMatches(a, *f.name) {
			return false
		}
	case kmsg.ACLResourcePatternTypeAny:
		if f.name != nil && a.ResourceName != *f.name {
			return false
		}
	default:
		if int8(f.pattern) != a.PatternType || f.name != nil && a.ResourceName != *f.name {
			return false
		}
	}
	switch {
	case f.principal != nil && *f.principal != a.Principal,
		f.host != nil && *f.host != a.Host,
		f.operation != kmsg.ACLOperationAny && int8(f.operation) != a.Operation,
		f.permission != kmsg.ACLPermissionTypeAny && int8(f.permission) != a.Permission:
		return false
	}
	return true
}

// validFilter reports why a filter can match nothing Kafka would store, or "".
func (f aclFilter) invalid() string {
	switch {
	case f.resourceType == kmsg.ACLResourceTypeUnknown:
		return "resource type UNKNOWN"
	case f.pattern == kmsg.ACLResourcePatternTypeUnknown:
		return "pattern type UNKNOWN"
	case f.operation == kmsg.ACLOperationUnknown:
		return "operation UNKNOWN"
	case f.permission == kmsg.ACLPermissionTypeUnknown:
		return "permission type UNKNOWN"
	}
	return ""
}

// newBinding checks a CreateAcls creation and returns it as an ACL, or
// why it is invalid.
func newBinding(c kmsg.CreateACLsRequestCreation) (cluster.ACL, string) {
	a := cluster.ACL{
		ResourceType: int8(c.ResourceType), ResourceName: c.ResourceName, PatternType: int8(c.ResourcePatternType),
		Principal: c.Principal, Host: c.Host, Operation: int8(c.Operation), Permission: int8(c.PermissionType),
	}
	switch {
	case c.ResourceType < kmsg.ACLResourceTypeTopic || c.ResourceType > kmsg.ACLResourceTypeUser:
		return a, "invalid resource type " + c.ResourceType.String()
	case c.ResourcePatternType != kmsg.ACLResourcePatternTypeLiteral && c.ResourcePatternType != kmsg.ACLResourcePatternTypePrefixed:
		return a, "invalid pattern type " + c.ResourcePatternType.String() + ": want LITERAL or PREFIXED"
	case c.Operation < kmsg.ACLOperationAll || c.Operation > kmsg.ACLOperationDescribeTokens:
		return a, "invalid operation " + c.Operation.String()
	case c.PermissionType != kmsg.ACLPermissionTypeAllow && c.PermissionType != kmsg.ACLPermissionTypeDeny:
		return a, "invalid permission type " + c.PermissionType.String()
	case c.ResourceName == "":
		return a, "empty resource name"
	case c.ResourcePatternType == kmsg.ACLResourcePatternTypePrefixed && c.ResourceName == "*":
		return a, "a prefixed pattern cannot be '*': use a literal '*'"
	case c.Host == "":
		return a, "empty host: use '*' for every host"
	case c.ResourceType == kmsg.ACLResourceTypeCluster && c.ResourceName != clusterName:
		return a, "the cluster resource is named kafka-cluster"
	}
	typ, name, ok := strings.Cut(c.Principal, ":")
	if !ok || typ == "" || name == "" {
		return a, "principal " + c.Principal + ": want Type:name, e.g. User:alice"
	}
	return a, ""
}
