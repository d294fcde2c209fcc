package wire

import (
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kspring/kspring/broker/internal/cluster"
)

// authorizeByResourceType reports whether req's principal may perform op on
// some resource of a type, existing or not, as Kafka's
// Authorizer.authorizeByResourceType decides (KIP-679: an idempotent
// producer needs Write on any topic).
func (s *Server) authorizeByResourceType(req *Request, resourceType int8, op kmsg.ACLOperation) bool {
	if !s.authz.Enabled {
		return true
	}
	if s.authz.decideByResourceType(s.meta.State().ACLs, req.Principal(), req.Host(), resourceType, op) {
		return true
	}
	s.logDenied(req, resourceType, "*", op)
	return false
}

// decideByResourceType is authorizeByResourceType's decision over acls, as
// Kafka makes it: allowed if op is allowed on a resource Kafka names
// "hardcode" (super users, allow.everyone.if.no.acl.found); denied by a
// DENY of op (or All) on the type's wildcard; else allowed by an ALLOW of
// op (or All) on the wildcard, or on a literal or prefix that no DENY covers
// (a literal of the same name, or a prefix of it). Only op itself counts:
// no operation implies another here.
func (a Authorization) decideByResourceType(acls []cluster.ACL, principal, host string, resourceType int8, op kmsg.ACLOperation) bool {
	if a.decide(acls, principal, host, resourceType, "hardcode", op) {
		return true
	}
	deniedLiteral, deniedPrefix := map[string]bool{}, map[string]bool{}
	var wildcardAllowed bool
	var allowedLiteral, allowedPrefix []string
	for _, acl := range acls {
		if acl.ResourceType != resourceType ||
			acl.Principal != principal && acl.Principal != "User:*" || acl.Host != "*" && acl.Host != host {
			continue
		}
		if aop := kmsg.ACLOperation(acl.Operation); aop != op && aop != kmsg.ACLOperationAll {
			continue
		}
		literal := acl.PatternType == cluster.PatternLiteral
		switch {
		case acl.Permission == cluster.PermissionDeny && literal && acl.ResourceName == "*":
			return false
		case acl.Permission == cluster.PermissionDeny && literal:
			deniedLiteral[acl.ResourceName] = true
		case acl.Permission == cluster.PermissionDeny && acl.PatternType == cluster.PatternPrefixed:
			deniedPrefix[acl.ResourceName] = true
		case acl.Permission == cluster.PermissionAllow && literal && acl.ResourceName == "*":
			wildcardAllowed = true
		case acl.Permission == cluster.PermissionAllow && literal:
			allowedLiteral = append(allowedLiteral, acl.ResourceName)
		case acl.Permission == cluster.PermissionAllow && acl.PatternType == cluster.PatternPrefixed:
			allowedPrefix = append(allowedPrefix, acl.ResourceName)
		}
	}
	if wildcardAllowed {
		return true
	}
	prefixDenied := func(name string) bool {
		for i := 1; i <= len(name); i++ {
			if deniedPrefix[name[:i]] {
				return true
			}
		}
		return false
	}
	for _, name := range allowedLiteral {
		if !deniedLiteral[name] && !prefixDenied(name) {
			return true
		}
	}
	for _, name := range allowedPrefix {
		if !prefixDenied(name) {
			return true
		}
	}
	return false
}
