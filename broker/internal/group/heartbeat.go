package group

// Heartbeat (key 12), versions 0-4.
// Keeps a member's session alive and tells it when the group rebalances.
// Heartbeats take only the group's state lock, so they are answered while
// the group's records are being appended.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Heartbeat serves a HeartbeatRequest; it never blocks on other requests.
func (c *Coordinator) Heartbeat(_ context.Context, req *kmsg.HeartbeatRequest) *kmsg.HeartbeatResponse {
	resp := req.ResponseKind().(*kmsg.HeartbeatResponse)
	resp.ErrorCode = c.heartbeat(req)
	return resp
}

func (c *Coordinator) heartbeat(req *kmsg.HeartbeatRequest) int16 {
	if req.Group == "" {
		return kerr.InvalidGroupID.Code
	}
	g, s, code := c.lookup(req.Group, false)
	if code != 0 {
		return code
	}
	defer s.exit()
	if g == nil {
		return kerr.UnknownMemberID.Code
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	m := g.members[req.MemberID]
	switch {
	case g.state == stateDead:
		return kerr.CoordinatorNotAvailable.Code
	case g.staticFenced(req.InstanceID, req.MemberID):
		return kerr.FencedInstanceID.Code
	case m == nil:
		return kerr.UnknownMemberID.Code
	case req.Generation != g.generation:
		return kerr.IllegalGeneration.Code
	}
	switch g.state {
	case stateEmpty:
		return kerr.UnknownMemberID.Code
	case statePreparingRebalance:
		c.touch(g, m, m.sessionTimeout)
		return kerr.RebalanceInProgress.Code
	default: // CompletingRebalance (a member may heartbeat before it syncs), Stable
		c.touch(g, m, m.sessionTimeout)
		return 0
	}
}
