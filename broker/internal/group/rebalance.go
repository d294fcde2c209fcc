package group

import (
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"
)

// The rebalance state machine, after Kafka's classic GroupCoordinator.
// Every function here is called with g.wmu and g.mu held, except where it
// says otherwise; none of them blocks or appends.

// newMemberJoinTimeout bounds how long a new member may wait in its first
// JoinGroup before it is dropped (Kafka's NewMemberJoinTimeoutMs).
const newMemberJoinTimeout = 5 * time.Minute

// maybePrepareRebalance starts a rebalance unless one is under way.
func (c *Coordinator) maybePrepareRebalance(g *group, reason string) {
	switch g.state {
	case stateStable, stateCompletingRebalance, stateEmpty:
		c.prepareRebalance(g, reason)
	}
}

// prepareRebalance moves g to PreparingRebalance: members waiting for their
// assignment are sent back to rejoin, and the join phase ends when every
// member has rejoined or the rebalance timeout passes. An empty group first
// waits the initial rebalance delay for more members.
func (c *Coordinator) prepareRebalance(g *group, reason string) {
	if g.state == stateCompletingRebalance {
		c.resetAssignments(g, kerr.RebalanceInProgress.Code)
	}
	g.stopSyncTimer()
	clear(g.unsynced)
	wasEmpty := g.state == stateEmpty
	g.transition(statePreparingRebalance, c.now())
	c.logger.Info("preparing to rebalance group", zap.String("group", g.id),
		zap.Int32("generation", g.generation), zap.String("reason", reason))
	if wasEmpty {
		delay := c.cfg.InitialRebalanceDelay
		g.initialDelay = true
		g.newMemberAdded = false
		g.delayRemaining = max(g.rebalanceTimeout()-delay, 0)
		c.scheduleJoin(g, delay, c.initialDelayExpired)
		return
	}
	g.initialDelay = false
	c.scheduleJoin(g, g.rebalanceTimeout(), c.completeJoin)
	c.tryCompleteJoin(g)
}

// initialDelayExpired extends the initial delay while new members keep
// arriving, up to the rebalance timeout, then ends the join phase.
func (c *Coordinator) initialDelayExpired(g *group) {
	if g.newMemberAdded && g.delayRemaining > 0 {
		g.newMemberAdded = false
		delay := min(c.cfg.InitialRebalanceDelay, g.delayRemaining)
		g.delayRemaining = max(g.delayRemaining-c.cfg.InitialRebalanceDelay, 0)
		c.scheduleJoin(g, delay, c.initialDelayExpired)
		return
	}
	g.initialDelay = false
	c.completeJoin(g)
}

// tryCompleteJoin ends the join phase once every member has rejoined
// (never during the initial delay).
func (c *Coordinator) tryCompleteJoin(g *group) {
	if g.state == statePreparingRebalance && !g.initialDelay && g.allJoined() {
		c.completeJoin(g)
	}
}

// scheduleJoin runs fn after d if g is still preparing the same rebalance.
func (c *Coordinator) scheduleJoin(g *group, d time.Duration, fn func(*group)) {
	g.stopJoinTimer()
	seq := g.joinSeq
	g.joinTimer = c.afterFunc(g, d, func() {
		g.wmu.Lock()
		defer g.wmu.Unlock()
		g.mu.Lock()
		defer g.mu.Unlock()
		if g.joinSeq != seq || g.state != statePreparingRebalance {
			return
		}
		fn(g)
		c.flushEmpty(c.background(), g)
	})
}

func (g *group) stopJoinTimer() {
	g.joinSeq++
	if g.joinTimer != nil {
		g.joinTimer.Stop()
		g.joinTimer = nil
	}
}

func (g *group) stopSyncTimer() {
	g.syncSeq++
	if g.syncTimer != nil {
		g.syncTimer.Stop()
		g.syncTimer = nil
	}
}

// completeJoin ends the join phase (Kafka's onCompleteJoin): dynamic
// members that did not rejoin are removed, a new generation starts, and
// every waiting member gets its JoinGroup response, the leader with the
// members' metadata. Members then have a rebalance timeout to sync.
func (c *Coordinator) completeJoin(g *group) {
	g.stopJoinTimer()
	g.initialDelay = false
	for _, m := range g.sortedMembers() {
		if m.joinCh == nil && !m.isStatic() {
			c.logger.Info("removing member that did not rejoin", zap.String("group", g.id), zap.String("member", m.id))
			g.removeMember(m)
		}
	}
	if g.state == stateDead {
		return
	}
	if !g.electJoinedLeader() && len(g.members) > 0 {
		// Only static members that have not rejoined are left: wait
		// another rebalance timeout for them, or for their sessions to
		// expire.
		c.scheduleJoin(g, g.rebalanceTimeout(), c.completeJoin)
		return
	}

	now := c.now()
	g.generation++
	if len(g.members) == 0 {
		g.protocol = ""
		g.computeSubscribed()
		g.transition(stateEmpty, now)
		g.storeEmpty = true
		c.logger.Info("group is now empty", zap.String("group", g.id), zap.Int32("generation", g.generation))
		return
	}
	g.protocol = g.selectProtocol()
	g.computeSubscribed()
	g.transition(stateCompletingRebalance, now)
	c.logger.Info("stabilized group", zap.String("group", g.id), zap.Int32("generation", g.generation),
		zap.String("protocol", g.protocol), zap.String("leader", g.leader), zap.Int("members", len(g.members)))

	var all []kmsg.JoinGroupResponseMember
	for _, m := range g.sortedMembers() {
		res := joinResult{
			memberID:     m.id,
			generation:   g.generation,
			protocolType: new(g.protocolType),
			protocol:     new(g.protocol),
			leader:       g.leader,
		}
		if m.id == g.leader {
			if all == nil {
				all = g.memberList()
			}
			res.members = all
		}
		g.answerJoin(m, res)
		c.touch(g, m, m.sessionTimeout)
		m.isNew = false
		g.unsynced[m.id] = struct{}{}
	}
	c.scheduleSync(g)
}

// electJoinedLeader keeps the leader if it rejoined, else makes any
// rejoined member the leader; it reports whether the group has a leader
// that rejoined.
func (g *group) electJoinedLeader() bool {
	l := g.members[g.leader]
	if l == nil {
		return false
	}
	if l.joinCh != nil {
		return true
	}
	for _, m := range g.sortedMembers() {
		if m.joinCh != nil {
			g.leader = m.id
			return true
		}
	}
	return false
}

// scheduleSync removes the members that have not sent SyncGroup within the
// rebalance timeout and rebalances (Kafka's pending sync expiration).
func (c *Coordinator) scheduleSync(g *group) {
	g.stopSyncTimer()
	seq, generation := g.syncSeq, g.generation
	g.syncTimer = c.afterFunc(g, g.rebalanceTimeout(), func() {
		g.wmu.Lock()
		defer g.wmu.Unlock()
		g.mu.Lock()
		defer g.mu.Unlock()
		if g.syncSeq != seq || g.generation != generation || len(g.unsynced) == 0 ||
			(g.state != stateCompletingRebalance && g.state != stateStable) {
			return
		}
		for id := range g.unsynced {
			if m := g.members[id]; m != nil {
				c.logger.Info("removing member that did not sync", zap.String("group", g.id), zap.String("member", id))
				g.removeMember(m)
			}
		}
		c.prepareRebalance(g, "members did not sync in time")
		c.flushEmpty(c.background(), g)
	})
}

// resetAssignments clears the assignments and answers waiting syncs with
// code (Kafka's resetAndPropagateAssignmentError).
func (c *Coordinator) resetAssignments(g *group, code int16) {
	for _, m := range g.members {
		m.assignment = nil
		if g.answerSync(m, syncResult{code: code}) {
			c.touch(g, m, m.sessionTimeout)
		}
	}
}

// propagateAssignments hands each waiting member its assignment.
func (c *Coordinator) propagateAssignments(g *group) {
	for _, m := range g.members {
		if g.answerSync(m, syncResult{protocolType: new(g.protocolType), protocol: new(g.protocol), assignment: m.assignment}) {
			c.touch(g, m, m.sessionTimeout)
		}
	}
}

// removeMemberAndRebalance removes m (leaving, expired or fenced) and
// rebalances the rest (Kafka's removeMemberAndUpdateGroup).
func (c *Coordinator) removeMemberAndRebalance(g *group, m *member, reason string) {
	g.removeMember(m)
	switch g.state {
	case stateStable, stateCompletingRebalance:
		c.maybePrepareRebalance(g, reason)
	case statePreparingRebalance:
		c.tryCompleteJoin(g)
	}
}

// touch records a heartbeat of m: its session now ends after d.
func (c *Coordinator) touch(g *group, m *member, d time.Duration) {
	m.heartbeat = c.now().Add(d)
	c.armMember(g, m)
}

// armMember makes sure m's timer fires no later than its session deadline.
func (c *Coordinator) armMember(g *group, m *member) {
	if m.timer == nil {
		m.timerAt = m.heartbeat
		m.timer = c.afterFunc(g, m.heartbeat.Sub(c.now()), func() { c.memberTimer(g, m) })
		return
	}
	if m.heartbeat.Before(m.timerAt) {
		m.timerAt = m.heartbeat
		m.timer.Reset(m.heartbeat.Sub(c.now()))
	}
}

// memberTimer expires m's session unless it heartbeated since or waits in
// a join or sync (Kafka's hasSatisfiedHeartbeat).
func (c *Coordinator) memberTimer(g *group, m *member) {
	g.wmu.Lock()
	defer g.wmu.Unlock()
	g.mu.Lock()
	defer g.mu.Unlock()
	if m.gone || g.state == stateDead {
		return
	}
	now := c.now()
	if now.Before(m.heartbeat) {
		m.timerAt = m.heartbeat
		m.timer.Reset(m.heartbeat.Sub(now))
		return
	}
	if !m.isNew && (m.joinCh != nil || m.syncCh != nil) {
		m.heartbeat = now.Add(m.sessionTimeout)
		m.timerAt = m.heartbeat
		m.timer.Reset(m.sessionTimeout)
		return
	}
	c.logger.Info("member session expired", zap.String("group", g.id), zap.String("member", m.id))
	c.removeMemberAndRebalance(g, m, "member "+m.id+" session expired")
	c.flushEmpty(c.background(), g)
}

// addPending registers a member id handed out with MEMBER_ID_REQUIRED; it
// must rejoin with it within its session timeout.
func (c *Coordinator) addPending(g *group, id string, session time.Duration) {
	var t *time.Timer
	t = c.afterFunc(g, session, func() {
		g.wmu.Lock()
		defer g.wmu.Unlock()
		g.mu.Lock()
		defer g.mu.Unlock()
		if g.pending[id] != t {
			return
		}
		delete(g.pending, id)
		c.tryCompleteJoin(g)
		c.flushEmpty(c.background(), g)
	})
	g.pending[id] = t
}

// removePending drops a pending member id; it reports whether it existed.
func (c *Coordinator) removePending(g *group, id string) bool {
	t, ok := g.pending[id]
	if ok {
		t.Stop()
		delete(g.pending, id)
	}
	return ok
}
