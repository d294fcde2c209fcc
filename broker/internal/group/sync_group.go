package group

// SyncGroup (key 14), versions 0-5.
// Members wait until the leader's assignment is stored in
// __consumer_offsets; then each gets its own. In a stable group a member
// gets its current assignment at once.

import (
	"bytes"
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"
)

// syncResult is a SyncGroup answer before it is shaped for the version.
type syncResult struct {
	code         int16
	protocolType *string
	protocol     *string
	assignment   []byte
}

// SyncGroup serves a SyncGroupRequest. A member of a generation that is
// still completing blocks until the leader's assignment is stored, ctx ends
// (REBALANCE_IN_PROGRESS) or the coordinator closes (NOT_COORDINATOR).
func (c *Coordinator) SyncGroup(ctx context.Context, req *kmsg.SyncGroupRequest) *kmsg.SyncGroupResponse {
	resp := req.ResponseKind().(*kmsg.SyncGroupResponse)
	res := c.sync(ctx, req)
	resp.ErrorCode = res.code
	resp.ProtocolType = res.protocolType
	resp.Protocol = res.protocol
	resp.MemberAssignment = res.assignment
	return resp
}

func (c *Coordinator) sync(ctx context.Context, req *kmsg.SyncGroupRequest) syncResult {
	if req.Group == "" {
		return syncResult{code: kerr.InvalidGroupID.Code}
	}
	g, s, code := c.lookup(req.Group, false)
	if code != 0 {
		return syncResult{code: code}
	}
	defer s.exit()
	if g == nil {
		return syncResult{code: kerr.UnknownMemberID.Code}
	}
	ch := make(chan syncResult, 1)
	g.wmu.Lock()
	g.mu.Lock()
	res, wait := c.syncLocked(ctx, g, req, ch)
	g.mu.Unlock()
	g.wmu.Unlock()
	if !wait {
		return res
	}
	select {
	case res := <-ch:
		return res
	case <-ctx.Done():
		return syncResult{code: kerr.RebalanceInProgress.Code}
	case <-c.done:
		return syncResult{code: kerr.NotCoordinator.Code}
	}
}

// syncLocked returns an immediate answer, or wait = true when the answer
// comes on ch. The caller holds g.wmu and g.mu; mu is released while the
// leader's assignment is stored.
func (c *Coordinator) syncLocked(ctx context.Context, g *group, req *kmsg.SyncGroupRequest, ch chan syncResult) (syncResult, bool) {
	m := g.members[req.MemberID]
	switch {
	case g.state == stateDead:
		return syncResult{code: kerr.CoordinatorNotAvailable.Code}, false
	case g.staticFenced(req.InstanceID, req.MemberID):
		return syncResult{code: kerr.FencedInstanceID.Code}, false
	case m == nil:
		return syncResult{code: kerr.UnknownMemberID.Code}, false
	case req.Generation != g.generation:
		return syncResult{code: kerr.IllegalGeneration.Code}, false
	case req.ProtocolType != nil && *req.ProtocolType != g.protocolType,
		req.Protocol != nil && *req.Protocol != g.protocol:
		return syncResult{code: kerr.InconsistentGroupProtocol.Code}, false
	}

	switch g.state {
	case stateEmpty:
		return syncResult{code: kerr.UnknownMemberID.Code}, false
	case statePreparingRebalance:
		return syncResult{code: kerr.RebalanceInProgress.Code}, false
	case stateStable:
		delete(g.unsynced, m.id)
		c.touch(g, m, m.sessionTimeout)
		return syncResult{protocolType: new(g.protocolType), protocol: new(g.protocol), assignment: m.assignment}, false
	}

	// CompletingRebalance: wait for the leader's assignment.
	if m.syncCh != nil {
		g.answerSync(m, syncResult{code: kerr.RebalanceInProgress.Code})
	}
	m.syncCh = ch
	delete(g.unsynced, m.id)
	if m.id != g.leader {
		return syncResult{}, true
	}

	assignments := make(map[string][]byte, len(g.members))
	for _, a := range req.GroupAssignment {
		if g.members[a.MemberID] != nil {
			assignments[a.MemberID] = bytes.Clone(a.MemberAssignment)
		}
	}
	for id := range g.members {
		if _, ok := assignments[id]; !ok {
			c.logger.Warn("leader assigned nothing to a member", zap.String("group", g.id), zap.String("member", id))
			assignments[id] = []byte{}
		}
	}
	generation := g.generation
	rec := Record{Key: groupMetadataKey(g.id), Value: groupMetadataValueWith(g, assignments)}
	g.mu.Unlock()
	err := c.append(ctx, g, []Record{rec})
	g.mu.Lock()
	if g.state != stateCompletingRebalance || g.generation != generation {
		return syncResult{}, true
	}
	if err != nil {
		c.logger.Warn("failed to store group assignment", zap.String("group", g.id), zap.Error(err))
		c.resetAssignments(g, groupStoreError(err))
		c.maybePrepareRebalance(g, "failed to store the assignment")
		return syncResult{}, true
	}
	for id, a := range assignments {
		if m := g.members[id]; m != nil {
			m.assignment = a
		}
	}
	c.propagateAssignments(g)
	g.transition(stateStable, c.now())
	c.logger.Info("group is stable", zap.String("group", g.id), zap.Int32("generation", g.generation))
	return syncResult{}, true
}
