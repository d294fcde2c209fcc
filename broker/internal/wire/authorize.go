package wire

import (
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"

	"github.com/kspring/kspring/broker/internal/cluster"
)

// Authorization is the ACL switch and its defaults (authorizer.class.name,
// super.users, allow.everyone.if.no.acl.found).
type Authorization struct {
	// Enabled turns ACL checks on; off, every request is allowed.
	Enabled bool
	// SuperUsers are principals ("User:alice") allowed everything.
	SuperUsers []string
	// AllowIfNoACL allows an operation on a resource no ACL names.
	AllowIfNoACL bool
}

// WithAuthorization checks every request against the ACLs of the metadata
// quorum as a says.
func WithAuthorization(a Authorization) Option { return func(s *Server) { s.authz = a } }

// clusterName is the one cluster resource's name, as Kafka names it.
const clusterName = "kafka-cluster"

// authorize reports whether req's principal may perform op on a resource
// (a cluster.Resource* type and name), as Kafka's StandardAuthorizer
// decides: super users may do anything; a matching DENY wins over any
// ALLOW; READ, WRITE, DELETE and ALTER imply DESCRIBE, ALTER_CONFIGS implies
// DESCRIBE_CONFIGS; a resource no ACL names is allowed only with
// allow.everyone.if.no.acl.found. Other APIs' handlers (transactions) call
// it the same way for their resources.
func (s *Server) authorize(req *Request, resourceType int8, name string, op kmsg.ACLOperation) bool {
	if !s.authz.Enabled {
		return true
	}
	if s.authz.decide(s.meta.State().ACLs, req.Principal(), req.Host(), resourceType, name, op) {
		return true
	}
	s.logDenied(req, resourceType, name, op)
	return false
}

// decide is the authorizer's decision over acls (see authorize).
func (a Authorization) decide(acls []cluster.ACL, principal, host string, resourceType int8, name string, op kmsg.ACLOperation) bool {
	if slices.Contains(a.SuperUsers, principal) {
		return true
	}
	named, allowed := false, false
	for _, acl := range acls {
		if acl.ResourceType != resourceType || !resourceMatches(acl, name) {
			continue
		}
		named = true
		if acl.Principal != principal && acl.Principal != "User:*" || acl.Host != "*" && acl.Host != host {
			continue
		}
		aop := kmsg.ACLOperation(acl.Operation)
		if acl.Permission == cluster.PermissionDeny {
			if aop == op || aop == kmsg.ACLOperationAll {
				return false
			}
			continue
		}
		if impliedBy(op, aop) {
			allowed = true
		}
	}
	return allowed || !named && a.AllowIfNoACL
}

func (s *Server) logDenied(req *Request, resourceType int8, name string, op kmsg.ACLOperation) {
	s.logger.Debug("access denied", zap.String("principal", req.Principal()), zap.String("host", req.Host()),
		zap.String("operation", op.String()), zap.String("resource", kmsg.ACLResourceType(resourceType).String()),
		zap.String("name", name), zap.String("api", kmsg.NameForKey(req.Key)))
}

// resourceMatches reports whether ACL a's pattern covers resource name.
func resourceMatches(a cluster.ACL, name string) bool {
	switch a.PatternType {
	case cluster.PatternLiteral:
		return a.ResourceName == name || a.ResourceName == "*"
	case cluster.PatternPrefixed:
		return strings.HasPrefix(name, a.ResourceName)
	}
	return false
}

// impliedBy reports whether an ALLOW of granted permits op.
func impliedBy(op, granted kmsg.ACLOperation) bool {
	switch {
	case granted == op, granted == kmsg.ACLOperationAll:
		return true
	case op == kmsg.ACLOperationDescribe:
		return granted == kmsg.ACLOperationRead || granted == kmsg.ACLOperationWrite ||
			granted == kmsg.ACLOperationDelete || granted == kmsg.ACLOperationAlter
	case op == kmsg.ACLOperationDescribeConfigs:
		return granted == kmsg.ACLOperationAlterConfigs
	}
	return false
}

func (s *Server) authorizeCluster(req *Request, op kmsg.ACLOperation) bool {
	return s.authorize(req, cluster.ResourceCluster, clusterName, op)
}

func (s *Server) authorizeTopic(req *Request, topic string, op kmsg.ACLOperation) bool {
	return s.authorize(req, cluster.ResourceTopic, topic, op)
}

func (s *Server) authorizeGroup(req *Request, group string, op kmsg.ACLOperation) bool {
	return s.authorize(req, cluster.ResourceGroup, group, op)
}

// authorizeTransactionalID reports whether req may perform op (Write or
// Describe) on a transactional id: the hook for the transaction APIs.
func (s *Server) authorizeTransactionalID(req *Request, id string, op kmsg.ACLOperation) bool {
	return s.authorize(req, cluster.ResourceTransactionalID, id, op)
}

// Operations Kafka reports as authorized on each resource type.
var (
	topicOperations = []kmsg.ACLOperation{kmsg.ACLOperationRead, kmsg.ACLOperationWrite, kmsg.ACLOperationCreate,
		kmsg.ACLOperationDelete, kmsg.ACLOperationAlter, kmsg.ACLOperationDescribe,
		kmsg.ACLOperationDescribeConfigs, kmsg.ACLOperationAlterConfigs}
	groupOperations        = []kmsg.ACLOperation{kmsg.ACLOperationRead, kmsg.ACLOperationDescribe, kmsg.ACLOperationDelete}
	clusterOperationsByACL = []kmsg.ACLOperation{kmsg.ACLOperationCreate, kmsg.ACLOperationAlter, kmsg.ACLOperationDescribe,
		kmsg.ACLOperationClusterAction, kmsg.ACLOperationDescribeConfigs, kmsg.ACLOperationAlterConfigs,
		kmsg.ACLOperationIdempotentWrite}
)

// authorizedOperations is the bitfield of ops req may perform on a
// resource, as Metadata, DescribeCluster and DescribeGroups report it when
// asked (KIP-430); with ACLs off, every op.
func (s *Server) authorizedOperations(req *Request, resourceType int8, name string, ops []kmsg.ACLOperation) int32 {
	var bits int32
	for _, op := range ops {
		if s.authorize(req, resourceType, name, op) {
			bits |= 1 << op
		}
	}
	return bits
}
