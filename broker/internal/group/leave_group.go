package group

// LeaveGroup (key 13), versions 0-5.
// v0-2 name one member; v3+ a batch, each by member id or, for an
// administrative removal, by group.instance.id alone. A member that leaves
// triggers a rebalance of the others.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"
)

// LeaveGroup serves a LeaveGroupRequest.
func (c *Coordinator) LeaveGroup(ctx context.Context, req *kmsg.LeaveGroupRequest) *kmsg.LeaveGroupResponse {
	resp := req.ResponseKind().(*kmsg.LeaveGroupResponse)
	leaving := req.Members
	if req.Version < 3 {
		leaving = []kmsg.LeaveGroupRequestMember{{MemberID: req.MemberID}}
	}
	resp.Members = make([]kmsg.LeaveGroupResponseMember, len(leaving))
	for i, l := range leaving {
		resp.Members[i] = kmsg.LeaveGroupResponseMember{MemberID: l.MemberID, InstanceID: l.InstanceID}
	}
	resp.ErrorCode = c.leave(ctx, req.Group, leaving, resp.Members)
	if req.Version < 3 {
		// One member: its error is the request's error.
		if resp.ErrorCode == 0 {
			resp.ErrorCode = resp.Members[0].ErrorCode
		}
		resp.Members = nil
	} else if resp.ErrorCode != 0 {
		resp.Members = nil
	}
	return resp
}

// leave removes the leaving members, setting each one's code in out, and
// returns the request-level code.
func (c *Coordinator) leave(ctx context.Context, id string, leaving []kmsg.LeaveGroupRequestMember, out []kmsg.LeaveGroupResponseMember) int16 {
	if id == "" {
		return kerr.InvalidGroupID.Code
	}
	g, s, code := c.lookup(id, false)
	if code != 0 {
		return code
	}
	defer s.exit()
	if g == nil {
		for i := range out {
			out[i].ErrorCode = kerr.UnknownMemberID.Code
		}
		return 0
	}
	g.wmu.Lock()
	defer g.wmu.Unlock()
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.state == stateDead {
		return kerr.CoordinatorNotAvailable.Code
	}
	for i, l := range leaving {
		out[i].ErrorCode = c.leaveMember(g, l)
	}
	c.flushEmpty(ctx, g)
	return 0
}

func (c *Coordinator) leaveMember(g *group, l kmsg.LeaveGroupRequestMember) int16 {
	reason := "member left"
	if l.Reason != nil {
		reason += ": " + *l.Reason
	}
	if l.MemberID == "" {
		// Removal by group.instance.id (kafka-consumer-groups, admin).
		if l.InstanceID == nil {
			return kerr.UnknownMemberID.Code
		}
		m := g.members[g.static[*l.InstanceID]]
		if m == nil {
			return kerr.UnknownMemberID.Code
		}
		c.logger.Info("static member removed", zap.String("group", g.id), zap.String("instance", *l.InstanceID))
		c.removeMemberAndRebalance(g, m, reason)
		return 0
	}
	if c.removePending(g, l.MemberID) {
		c.tryCompleteJoin(g)
		return 0
	}
	if g.staticFenced(l.InstanceID, l.MemberID) {
		return kerr.FencedInstanceID.Code
	}
	m := g.members[l.MemberID]
	if m == nil {
		return kerr.UnknownMemberID.Code
	}
	c.logger.Info("member left", zap.String("group", g.id), zap.String("member", m.id))
	c.removeMemberAndRebalance(g, m, reason)
	return 0
}
