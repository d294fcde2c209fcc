package wire

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kspring/kspring/broker/internal/cluster"
)

// Group ACLs, as Kafka checks them: JoinGroup, SyncGroup, Heartbeat,
// LeaveGroup need Read on the group; DescribeGroups Describe and
// DeleteGroups Delete on each group; ListGroups lists the groups the
// principal may describe (all of them with Describe on the cluster);
// OffsetFetch needs Describe on the group, and leaves out (or refuses)
// topics the principal may not describe.

// guardGroups runs call on body, or on the part of it req may touch, and
// answers the rest with GROUP_AUTHORIZATION_FAILED.
func (s *Server) guardGroups(req *Request, body kmsg.Request, call func(kmsg.Request) kmsg.Response) kmsg.Response {
	if !s.authz.Enabled {
		return call(body)
	}
	denied := kerr.GroupAuthorizationFailed.Code
	read := func(g string) bool { return s.authorizeGroup(req, g, kmsg.ACLOperationRead) }
	switch b := body.(type) {
	case *kmsg.JoinGroupRequest:
		if !read(b.Group) {
			r := b.ResponseKind().(*kmsg.JoinGroupResponse)
			r.SetVersion(b.Version)
			r.ErrorCode, r.Generation, r.MemberID = denied, -1, b.MemberID
			return r
		}
	case *kmsg.SyncGroupRequest:
		if !read(b.Group) {
			r := b.ResponseKind().(*kmsg.SyncGroupResponse)
			r.SetVersion(b.Version)
			r.ErrorCode = denied
			return r
		}
	case *kmsg.HeartbeatRequest:
		if !read(b.Group) {
			r := b.ResponseKind().(*kmsg.HeartbeatResponse)
			r.SetVersion(b.Version)
			r.ErrorCode = denied
			return r
		}
	case *kmsg.LeaveGroupRequest:
		if !read(b.Group) {
			r := b.ResponseKind().(*kmsg.LeaveGroupResponse)
			r.SetVersion(b.Version)
			r.ErrorCode = denied
			return r
		}
	case *kmsg.DescribeGroupsRequest:
		return s.describeGroupsAllowed(req, b, call)
	case *kmsg.ListGroupsRequest:
		r := call(b).(*kmsg.ListGroupsResponse)
		if !s.authorizeCluster(req, kmsg.ACLOperationDescribe) {
			kept := r.Groups[:0]
			for _, g := range r.Groups {
				if s.authorizeGroup(req, g.Group, kmsg.ACLOperationDescribe) {
					kept = append(kept, g)
				}
			}
			r.Groups = kept
		}
		return r
	case *kmsg.DeleteGroupsRequest:
		return s.deleteGroupsAllowed(req, b, call)
	case *kmsg.OffsetFetchRequest:
		return s.offsetFetchAllowed(req, b, call)
	}
	return call(body)
}

func (s *Server) describeGroupsAllowed(req *Request, b *kmsg.DescribeGroupsRequest, call func(kmsg.Request) kmsg.Response) kmsg.Response {
	allowed := *b
	allowed.Groups = nil
	for _, g := range b.Groups {
		if s.authorizeGroup(req, g, kmsg.ACLOperationDescribe) {
			allowed.Groups = append(allowed.Groups, g)
		}
	}
	var got []kmsg.DescribeGroupsResponseGroup
	r := b.ResponseKind().(*kmsg.DescribeGroupsResponse)
	r.SetVersion(b.Version)
	if len(allowed.Groups) > 0 {
		cr := call(&allowed).(*kmsg.DescribeGroupsResponse)
		r.ThrottleMillis, got = cr.ThrottleMillis, cr.Groups
	}
	for _, g := range b.Groups {
		if len(got) > 0 && got[0].Group == g && s.authorizeGroup(req, g, kmsg.ACLOperationDescribe) {
			if b.IncludeAuthorizedOperations {
				got[0].AuthorizedOperations = s.authorizedOperations(req, cluster.ResourceGroup, g, groupOperations)
			}
			r.Groups, got = append(r.Groups, got[0]), got[1:]
			continue
		}
		d := kmsg.NewDescribeGroupsResponseGroup()
		d.Group, d.ErrorCode = g, kerr.GroupAuthorizationFailed.Code
		d.AuthorizedOperations = -2147483648
		r.Groups = append(r.Groups, d)
	}
	return r
}

func (s *Server) deleteGroupsAllowed(req *Request, b *kmsg.DeleteGroupsRequest, call func(kmsg.Request) kmsg.Response) kmsg.Response {
	allowed := *b
	allowed.Groups = nil
	for _, g := range b.Groups {
		if s.authorizeGroup(req, g, kmsg.ACLOperationDelete) {
			allowed.Groups = append(allowed.Groups, g)
		}
	}
	r := b.ResponseKind().(*kmsg.DeleteGroupsResponse)
	r.SetVersion(b.Version)
	byGroup := map[string]kmsg.DeleteGroupsResponseGroup{}
	if len(allowed.Groups) > 0 {
		cr := call(&allowed).(*kmsg.DeleteGroupsResponse)
		r.ThrottleMillis = cr.ThrottleMillis
		for _, g := range cr.Groups {
			byGroup[g.Group] = g
		}
	}
	for _, g := range b.Groups {
		if got, ok := byGroup[g]; ok {
			r.Groups = append(r.Groups, got)
			continue
		}
		d := kmsg.NewDeleteGroupsResponseGroup()
		d.Group, d.ErrorCode = g, kerr.GroupAuthorizationFailed.Code
		r.Groups = append(r.Groups, d)
	}
	return r
}

// offsetFetchAllowed answers an OffsetFetch: a group req may not describe
// gets GROUP_AUTHORIZATION_FAILED; topics it may not describe are left out
// of an all-topics fetch and refused with TOPIC_AUTHORIZATION_FAILED when
// named.
func (s *Server) offsetFetchAllowed(req *Request, b *kmsg.OffsetFetchRequest, call func(kmsg.Request) kmsg.Response) kmsg.Response {
	describe := func(g string) bool { return s.authorizeGroup(req, g, kmsg.ACLOperationDescribe) }
	topicOK := func(t string) bool { return s.authorizeTopic(req, t, kmsg.ACLOperationDescribe) }
	if len(b.Groups) == 0 { // v0-7: one group
		if !describe(b.Group) {
			r := b.ResponseKind().(*kmsg.OffsetFetchResponse)
			r.SetVersion(b.Version)
			r.ErrorCode = kerr.GroupAuthorizationFailed.Code
			return r
		}
		r := call(b).(*kmsg.OffsetFetchResponse)
		kept := r.Topics[:0]
		for _, t := range r.Topics {
			if !topicOK(t.Topic) {
				if b.Topics == nil {
					continue
				}
				for i := range t.Partitions {
					t.Partitions[i].Offset, t.Partitions[i].Metadata = -1, nil
					t.Partitions[i].ErrorCode = kerr.TopicAuthorizationFailed.Code
				}
			}
			kept = append(kept, t)
		}
		r.Topics = kept
		return r
	}
	r := call(b).(*kmsg.OffsetFetchResponse)
	for gi := range r.Groups {
		g := &r.Groups[gi]
		if !describe(g.Group) {
			g.Topics, g.ErrorCode = nil, kerr.GroupAuthorizationFailed.Code
			continue
		}
		named := false
		for _, rg := range b.Groups {
			if rg.Group == g.Group {
				named = rg.Topics != nil
			}
		}
		kept := g.Topics[:0]
		for _, t := range g.Topics {
			if !topicOK(t.Topic) {
				if !named {
					continue
				}
				for i := range t.Partitions {
					t.Partitions[i].Offset, t.Partitions[i].Metadata = -1, nil
					t.Partitions[i].ErrorCode = kerr.TopicAuthorizationFailed.Code
				}
			}
			kept = append(kept, t)
		}
		g.Topics = kept
	}
	return r
}
