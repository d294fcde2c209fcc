package group

// JoinGroup (key 11), versions 0-9.
// A member joins and waits until the group's join phase ends: when every
// member has rejoined, or the rebalance timeout passes, or (for a new group)
// the initial rebalance delay. Departures from Kafka: none intended; v0
// uses the session timeout as the rebalance timeout, as Kafka does.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"
)

// joinResult is a JoinGroup answer before it is shaped for the request's
// version.
type joinResult struct {
	code           int16
	memberID       string
	generation     int32
	protocolType   *string
	protocol       *string
	leader         string
	skipAssignment bool
	members        []kmsg.JoinGroupResponseMember
}

func joinError(code int16, memberID string) joinResult {
	return joinResult{code: code, memberID: memberID, generation: -1}
}

// joinRequest is a JoinGroupRequest with its version's defaults resolved.
type joinRequest struct {
	*kmsg.JoinGroupRequest
	session, rebalance time.Duration
	client             clientInfo
	ch                 chan joinResult
}

// JoinGroup serves a JoinGroupRequest. It blocks until the join phase of
// the group completes, ctx ends (REBALANCE_IN_PROGRESS: the client rejoins)
// or the coordinator closes (NOT_COORDINATOR).
func (c *Coordinator) JoinGroup(ctx context.Context, req *kmsg.JoinGroupRequest) *kmsg.JoinGroupResponse {
	resp := req.ResponseKind().(*kmsg.JoinGroupResponse)
	res := c.join(ctx, req)
	resp.ErrorCode = res.code
	resp.MemberID = res.memberID
	resp.Generation = res.generation
	resp.ProtocolType = res.protocolType
	resp.Protocol = res.protocol
	resp.LeaderID = res.leader
	resp.SkipAssignment = res.skipAssignment
	resp.Members = res.members
	return resp
}

func (c *Coordinator) join(ctx context.Context, kreq *kmsg.JoinGroupRequest) joinResult {
	if kreq.Group == "" {
		return joinError(kerr.InvalidGroupID.Code, kreq.MemberID)
	}
	req := joinRequest{
		JoinGroupRequest: kreq,
		session:          time.Duration(kreq.SessionTimeoutMillis) * time.Millisecond,
		rebalance:        time.Duration(kreq.RebalanceTimeoutMillis) * time.Millisecond,
		client:           clientFrom(ctx),
		ch:               make(chan joinResult, 1),
	}
	if kreq.Version == 0 || req.rebalance <= 0 {
		req.rebalance = req.session
	}
	if req.session < c.cfg.MinSessionTimeout || req.session > c.cfg.MaxSessionTimeout {
		return joinError(kerr.InvalidSessionTimeout.Code, kreq.MemberID)
	}
	g, s, code := c.lookup(kreq.Group, kreq.MemberID == "")
	if code != 0 {
		return joinError(code, kreq.MemberID)
	}
	defer s.exit()
	if g == nil {
		return joinError(kerr.UnknownMemberID.Code, kreq.MemberID)
	}

	g.wmu.Lock()
	g.mu.Lock()
	res, wait := c.joinLocked(ctx, g, &req)
	if g.state == statePreparingRebalance {
		c.tryCompleteJoin(g)
	}
	c.flushEmpty(ctx, g)
	g.mu.Unlock()
	g.wmu.Unlock()
	if !wait {
		return res
	}
	select {
	case res := <-req.ch:
		return res
	case <-ctx.Done():
		return joinError(kerr.RebalanceInProgress.Code, kreq.MemberID)
	case <-c.done:
		return joinError(kerr.NotCoordinator.Code, kreq.MemberID)
	}
}

// joinLocked returns an immediate answer, or wait = true when the answer
// comes on req.ch. The caller holds g.wmu and g.mu.
func (c *Coordinator) joinLocked(ctx context.Context, g *group, req *joinRequest) (res joinResult, wait bool) {
	if g.state == stateDead {
		// Deleted or unloaded meanwhile: the client looks up the
		// coordinator again and rejoins.
		return joinError(kerr.CoordinatorNotAvailable.Code, req.MemberID), false
	}
	if !c.acceptJoiningMember(g, req.MemberID) {
		if m := g.members[req.MemberID]; m != nil {
			c.removeMemberAndRebalance(g, m, "group is full")
		}
		return joinError(kerr.GroupMaxSizeReached.Code, ""), false
	}
	if !g.supportsProtocols(req.ProtocolType, req.Protocols) {
		return joinError(kerr.InconsistentGroupProtocol.Code, req.MemberID), false
	}
	if req.MemberID == "" {
		return c.joinNewMember(ctx, g, req)
	}
	return c.joinKnownMember(g, req)
}

// acceptJoiningMember enforces group.max.size as Kafka does: counting
// members awaiting a join during a rebalance, all members otherwise.
func (c *Coordinator) acceptJoiningMember(g *group, memberID string) bool {
	limit := c.cfg.MaxGroupSize
	if limit <= 0 {
		return true
	}
	m := g.members[memberID]
	switch g.state {
	case statePreparingRebalance:
		return m != nil && m.joinCh != nil || g.joined < limit
	case stateCompletingRebalance, stateStable:
		return m != nil || len(g.members) < limit
	default:
		return true
	}
}

func (c *Coordinator) joinNewMember(ctx context.Context, g *group, req *joinRequest) (joinResult, bool) {
	prefix := req.client.id
	if req.InstanceID != nil {
		prefix = *req.InstanceID
	}
	id := newMemberID(prefix)
	switch {
	case req.InstanceID != nil:
		return c.joinStaticMember(ctx, g, req, id)
	case req.Version >= 4:
		// The member must come back with this id: a client that
		// retries after a lost response then cannot leave defunct
		// members behind.
		c.addPending(g, id, req.session)
		return joinError(kerr.MemberIDRequired.Code, id), false
	default:
		c.addMemberAndRebalance(g, req, id)
		return joinResult{}, true
	}
}

func (c *Coordinator) joinKnownMember(g *group, req *joinRequest) (joinResult, bool) {
	if _, ok := g.pending[req.MemberID]; ok {
		c.removePending(g, req.MemberID)
		c.addMemberAndRebalance(g, req, req.MemberID)
		return joinResult{}, true
	}
	if g.staticFenced(req.InstanceID, req.MemberID) {
		return joinError(kerr.FencedInstanceID.Code, req.MemberID), false
	}
	m := g.members[req.MemberID]
	if m == nil || req.InstanceID != nil && g.static[*req.InstanceID] == "" {
		return joinError(kerr.UnknownMemberID.Code, req.MemberID), false
	}
	switch g.state {
	case statePreparingRebalance:
		c.updateMemberAndRebalance(g, m, req, "member rejoining during rebalance")
		return joinResult{}, true
	case stateCompletingRebalance:
		if !m.sameProtocols(req.Protocols) {
			c.updateMemberAndRebalance(g, m, req, "member "+m.id+" changed its metadata")
			return joinResult{}, true
		}
		// A retry after a lost response: the current generation again.
		res := g.generationResult(m.id, g.leader)
		if m.id == g.leader {
			res.members = g.memberList()
		}
		return res, false
	case stateStable:
		if m.id == g.leader || !m.sameProtocols(req.Protocols) {
			// A leader's rejoin forces a rebalance: it is how the
			// leader reacts to changes the metadata does not show,
			// such as new partitions.
			c.updateMemberAndRebalance(g, m, req, "member "+m.id+" rejoined")
			return joinResult{}, true
		}
		return g.generationResult(m.id, g.leader), false
	default:
		return joinError(kerr.UnknownMemberID.Code, req.MemberID), false
	}
}

// joinStaticMember handles a member with a group.instance.id and no member
// id: a new static member joins; a known one takes over its previous
// member id (fencing any other process with the same instance id) and, in a
// stable group whose protocol it does not change, gets the current
// generation back without a rebalance. The caller holds g.wmu and g.mu;
// mu is released while the new member id is stored.
func (c *Coordinator) joinStaticMember(ctx context.Context, g *group, req *joinRequest, id string) (joinResult, bool) {
	oldID, ok := g.static[*req.InstanceID]
	m := g.members[oldID]
	if !ok || m == nil {
		c.addMemberAndRebalance(g, req, id)
		return joinResult{}, true
	}
	oldLeader := g.leader
	oldProtocols, oldRebalance, oldSession := m.protocols, m.rebalanceTimeout, m.sessionTimeout
	g.replaceStatic(m, id)
	c.touch(g, m, m.sessionTimeout)
	g.updateProtocols(m, req.Protocols, req.rebalance, req.session)
	c.logger.Info("static member rejoined", zap.String("group", g.id), zap.String("instance", *req.InstanceID),
		zap.String("old_member", oldID), zap.String("member", id), zap.Stringer("state", g.state))

	switch g.state {
	case stateStable:
		if g.selectProtocol() != g.protocol {
			g.awaitJoin(m, req.ch)
			c.maybePrepareRebalance(g, "static member "+id+" changed the group's protocol")
			return joinResult{}, true
		}
		rec := Record{Key: groupMetadataKey(g.id), Value: groupMetadataValue(g)}
		g.mu.Unlock()
		err := c.append(ctx, g, []Record{rec})
		g.mu.Lock()
		if err != nil {
			c.logger.Warn("failed to store static member", zap.String("group", g.id), zap.Error(err))
			if !m.gone && g.state != stateDead {
				g.setProtocols(m, oldProtocols, oldRebalance, oldSession)
				g.replaceStatic(m, oldID)
			}
			return joinError(groupStoreError(err), ""), false
		}
		if g.state == stateDead {
			return joinError(kerr.NotCoordinator.Code, ""), false
		}
		if req.Version >= 9 {
			// The leader learns it leads but skips the assignment.
			res := g.generationResult(id, g.leader)
			if id == g.leader {
				res.members = g.memberList()
				res.skipAssignment = true
			}
			return res, false
		}
		// Older clients get the old leader id: a restarted leader then
		// does not compute an assignment a stable group would not
		// hand out.
		return g.generationResult(id, oldLeader), false
	case stateCompletingRebalance:
		g.awaitJoin(m, req.ch)
		c.maybePrepareRebalance(g, "static member "+id+" rejoined during sync")
		return joinResult{}, true
	case statePreparingRebalance:
		g.awaitJoin(m, req.ch)
		return joinResult{}, true
	default:
		return joinError(kerr.UnknownMemberID.Code, ""), false
	}
}

// replaceStatic gives static member m the member id id, answering any
// request the old id waits in with FENCED_INSTANCE_ID.
func (g *group) replaceStatic(m *member, id string) {
	g.answerJoin(m, joinError(kerr.FencedInstanceID.Code, m.id))
	g.answerSync(m, syncResult{code: kerr.FencedInstanceID.Code})
	old := m.id
	delete(g.members, old)
	m.id = id
	g.members[id] = m
	g.static[*m.instanceID] = id
	if g.leader == old {
		g.leader = id
	}
	if _, ok := g.unsynced[old]; ok {
		delete(g.unsynced, old)
		g.unsynced[id] = struct{}{}
	}
}

// generationResult is a successful JoinGroup answer with the current
// generation, without the member list.
func (g *group) generationResult(memberID, leader string) joinResult {
	return joinResult{
		memberID:     memberID,
		generation:   g.generation,
		protocolType: new(g.protocolType),
		protocol:     new(g.protocol),
		leader:       leader,
	}
}

func (c *Coordinator) addMemberAndRebalance(g *group, req *joinRequest, id string) {
	m := &member{
		id:               id,
		instanceID:       cloneString(req.InstanceID),
		clientID:         req.client.id,
		clientHost:       req.client.host,
		rebalanceTimeout: req.rebalance,
		sessionTimeout:   req.session,
		protocolType:     req.ProtocolType,
		protocols:        toProtocols(req.Protocols),
		isNew:            true,
		joinCh:           req.ch,
	}
	if g.state == statePreparingRebalance && g.generation == 0 {
		g.newMemberAdded = true
	}
	g.addMember(m)
	// A new member cannot heartbeat before its join completes; if its
	// client gave up, it is dropped after this long.
	c.touch(g, m, newMemberJoinTimeout)
	c.maybePrepareRebalance(g, "member "+id+" joined")
}

func (c *Coordinator) updateMemberAndRebalance(g *group, m *member, req *joinRequest, reason string) {
	if req.Reason != nil && *req.Reason != "" {
		reason += " (client: " + *req.Reason + ")"
	}
	g.updateProtocols(m, req.Protocols, req.rebalance, req.session)
	g.awaitJoin(m, req.ch)
	c.maybePrepareRebalance(g, reason)
}

// newMemberID returns prefix-<uuid>, Kafka's member id format.
func newMemberID(prefix string) string {
	var u [16]byte
	_, _ = rand.Read(u[:]) // never fails (crypto/rand)
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	var b [36]byte
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:], u[10:])
	return prefix + "-" + string(b[:])
}

func cloneString(s *string) *string {
	if s == nil {
		return nil
	}
	return new(*s)
}
