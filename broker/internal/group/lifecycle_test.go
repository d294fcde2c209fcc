package group

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestConsumerGroupLifecycle(t *testing.T) {
	h := newHarness(t, testConfig())
	ms := []*consumer{
		newConsumer(h, "billing", "orders"),
		newConsumer(h, "billing", "orders"),
		newConsumer(h, "billing", "orders"),
	}

	// Three members form a generation; the leader sees all three.
	owners := form(t, "orders", 6, ms...)
	requirePartitioned(t, 6, owners)
	var leaders int
	for _, m := range ms {
		require.Equal(t, ms[0].generation, m.generation)
		require.Equal(t, "range", m.protocol)
		if m.isLeader() {
			leaders++
			require.Len(t, m.members, 3)
		} else {
			require.Empty(t, m.members)
		}
		require.NoError(t, code(m.heartbeat()))
	}
	require.Equal(t, 1, leaders)
	d := describe(t, h.c, "billing")
	require.Equal(t, "Stable", d.State)
	require.Equal(t, "consumer", d.ProtocolType)
	require.Equal(t, "range", d.Protocol)
	require.Len(t, d.Members, 3)
	for _, dm := range d.Members {
		require.NotEmpty(t, dm.MemberAssignment)
		require.Equal(t, "client", dm.ClientID)
	}

	// One leaves: the others are told to rejoin and share its partitions.
	gen := ms[0].generation
	require.NoError(t, code(ms[2].leave()))
	for _, m := range ms[:2] {
		require.Equal(t, kerr.RebalanceInProgress.Code, m.heartbeat())
	}
	ms[1].session = 2 * time.Second // the member that will die next
	owners = rejoinAll(t, "orders", 6, ms[:2]...)
	requirePartitioned(t, 6, owners)
	require.Equal(t, gen+1, ms[0].generation)
	require.Equal(t, ms[0].generation, ms[1].generation)

	// One dies: it stops heartbeating and its session expires; the
	// survivor, heartbeating all along, is told to rejoin.
	eventually(t, func() error {
		if c := ms[0].heartbeat(); c != kerr.RebalanceInProgress.Code {
			return fmt.Errorf("heartbeat: %v", code(c))
		}
		return nil
	})
	owners = rejoinAll(t, "orders", 6, ms[0])
	requirePartitioned(t, 6, owners)
	require.Equal(t, gen+2, ms[0].generation)
	require.Equal(t, kerr.UnknownMemberID.Code, ms[1].heartbeat())
	require.Len(t, describe(t, h.c, "billing").Members, 1)
}

func TestStaticMemberRestartsWithoutRebalance(t *testing.T) {
	for _, version := range []int16{5, 9} {
		t.Run(fmt.Sprintf("v%d", version), func(t *testing.T) {
			h := newHarness(t, testConfig())
			a := newConsumer(h, "g", "t").withInstance("a")
			b := newConsumer(h, "g", "t").withInstance("b")
			owners := form(t, "t", 4, a, b)
			requirePartitioned(t, 4, owners)
			gen, leader, oldID := a.generation, a.leader, a.id

			// a's process restarts: no member id, same instance id.
			a2 := newConsumer(h, "g", "t").withInstance("a")
			a2.version = version
			resp := a2.join(testCtx(t))
			require.NoError(t, code(resp.ErrorCode))
			require.NotEqual(t, oldID, a2.id)
			require.Equal(t, gen, resp.Generation, "no new generation")
			switch {
			case leader != oldID:
				require.Equal(t, leader, resp.LeaderID)
				require.False(t, resp.SkipAssignment)
			case version >= 9:
				require.Equal(t, a2.id, resp.LeaderID, "the restarted leader leads")
				require.True(t, resp.SkipAssignment, "but skips the assignment")
				require.Len(t, resp.Members, 2)
			default:
				require.Equal(t, oldID, resp.LeaderID, "old clients see the old leader id")
			}
			sync := a2.sync(testCtx(t), nil)
			require.NoError(t, code(sync.ErrorCode))
			ps, err := owned(sync.MemberAssignment, "t")
			require.NoError(t, err)
			require.Equal(t, owners[0], ps, "the assignment comes back")

			require.NoError(t, code(b.heartbeat()), "no rebalance for the others")
			require.NoError(t, code(a2.heartbeat()))
			require.Equal(t, "Stable", groupState(t, h.c, "g"))

			// The old process is fenced.
			require.Equal(t, kerr.FencedInstanceID.Code, a.heartbeat())
			require.Equal(t, kerr.FencedInstanceID.Code, a.commit("t", 0, 1))
			require.NoError(t, code(a2.commit("t", 0, 1)))

			// And the new id survives a coordinator restart.
			h.restart()
			require.NoError(t, code(a2.heartbeat()))
			require.Equal(t, kerr.FencedInstanceID.Code, a.heartbeat())
		})
	}
}

func TestZombieCommitIsFenced(t *testing.T) {
	h := newHarness(t, testConfig())
	a := newConsumer(h, "g", "t")
	a.rebalanceGroup(t, "t", 2)
	require.NoError(t, code(a.commit("t", 0, 10)))
	zombie := *a // a copy that keeps the old generation

	b := newConsumer(h, "g", "t")
	form(t, "t", 2, a, b)
	require.Greater(t, a.generation, zombie.generation)

	require.Equal(t, kerr.IllegalGeneration.Code, zombie.commit("t", 0, 99))
	require.Equal(t, int64(10), committed(t, h.c, "g", "t", 0))
	require.NoError(t, code(a.commit("t", 0, 20)))
	require.Equal(t, int64(20), committed(t, h.c, "g", "t", 0))

	stranger := *a
	stranger.id = "stranger"
	require.Equal(t, kerr.UnknownMemberID.Code, stranger.commit("t", 0, 1))
	require.Equal(t, kerr.IllegalGeneration.Code, zombie.heartbeat())
}

func TestProtocolIsChosenByVote(t *testing.T) {
	meta := subscription("t")
	protocols := func(names ...string) []kmsg.JoinGroupRequestProtocol {
		var out []kmsg.JoinGroupRequestProtocol
		for _, n := range names {
			out = append(out, kmsg.JoinGroupRequestProtocol{Name: n, Metadata: meta})
		}
		return out
	}
	for _, tc := range []struct {
		name    string
		members [][]kmsg.JoinGroupRequestProtocol
		want    string
	}{
		{"majority preference", [][]kmsg.JoinGroupRequestProtocol{
			protocols("range", "roundrobin"), protocols("range", "roundrobin"), protocols("roundrobin", "range"),
		}, "range"},
		{"only common protocol", [][]kmsg.JoinGroupRequestProtocol{
			protocols("range", "roundrobin"), protocols("roundrobin", "range"), protocols("roundrobin", "sticky"),
		}, "roundrobin"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, testConfig())
			var ms []*consumer
			for _, ps := range tc.members {
				m := newConsumer(h, "g", "t")
				m.protocols = ps
				ms = append(ms, m)
			}
			form(t, "t", 3, ms...)
			for _, m := range ms {
				require.Equal(t, tc.want, m.protocol)
			}
		})
	}
}

func TestMembersThatDoNotRejoinAreRemoved(t *testing.T) {
	h := newHarness(t, testConfig())
	a, b := newConsumer(h, "g", "t"), newConsumer(h, "g", "t")
	form(t, "t", 2, a, b)
	gen := a.generation

	// a rejoins; b never does and is dropped when the rebalance times out.
	done := make(chan error, 1)
	go func() {
		_, err := a.tryRebalance(testCtx(t), "t", 2)
		done <- err
	}()
	eventually(t, func() error { return awaitingJoin(h.c, "g", 1) })
	fire(t, h.c, "g", func(g *group) *time.Timer { return g.joinTimer })
	require.NoError(t, <-done)
	require.Equal(t, gen+1, a.generation)
	require.Equal(t, kerr.UnknownMemberID.Code, b.heartbeat())
	require.Len(t, describe(t, h.c, "g").Members, 1)
}

func TestMembersThatDoNotSyncAreRemoved(t *testing.T) {
	h := newHarness(t, testConfig())
	a, b := newConsumer(h, "g", "t"), newConsumer(h, "g", "t")
	form(t, "t", 2, a)
	done := make(chan error, 1)
	go func() { done <- b.joinGroup(testCtx(t)) }()
	eventually(t, func() error {
		if c := a.heartbeat(); c != kerr.RebalanceInProgress.Code {
			return fmt.Errorf("heartbeat: %v", code(c))
		}
		return nil
	})
	_, err := a.tryRebalance(testCtx(t), "t", 2)
	require.NoError(t, err)
	require.NoError(t, <-done)
	require.Equal(t, "Stable", groupState(t, h.c, "g"))

	// b never syncs: when the rebalance timeout passes it is removed and
	// a is told to rejoin.
	fire(t, h.c, "g", func(g *group) *time.Timer { return g.syncTimer })
	eventually(t, func() error {
		if c := a.heartbeat(); c != kerr.RebalanceInProgress.Code {
			return fmt.Errorf("heartbeat: %v", code(c))
		}
		return nil
	})
	require.Equal(t, kerr.UnknownMemberID.Code, b.heartbeat())
	rejoinAll(t, "t", 2, a)
	require.Len(t, describe(t, h.c, "g").Members, 1)
}

func TestInitialRebalanceDelayGathersMembers(t *testing.T) {
	cfg := testConfig()
	cfg.InitialRebalanceDelay = time.Hour
	h := newHarness(t, cfg)
	a, b := newConsumer(h, "g", "t"), newConsumer(h, "g", "t")
	a.rebalance, b.rebalance = 2*time.Hour, 2*time.Hour

	results := make(chan error, 2)
	for _, m := range []*consumer{a, b} {
		go func() {
			_, err := m.tryRebalance(testCtx(t), "t", 2)
			results <- err
		}()
	}
	eventually(t, func() error { return awaitingJoin(h.c, "g", 2) })

	// The delay ends, but b came during it: it is extended once more
	// (the rebalance timeout leaves room for one more delay).
	fire(t, h.c, "g", func(g *group) *time.Timer { return g.joinTimer })
	eventually(t, func() error {
		g := peek(h.c, "g")
		g.mu.Lock()
		defer g.mu.Unlock()
		if g.newMemberAdded || g.delayRemaining != 0 || g.state != statePreparingRebalance {
			return fmt.Errorf("not extended: new member %v, remaining %v, %v", g.newMemberAdded, g.delayRemaining, g.state)
		}
		return nil
	})
	fire(t, h.c, "g", func(g *group) *time.Timer { return g.joinTimer })
	require.NoError(t, <-results)
	require.NoError(t, <-results)
	require.Equal(t, int32(1), a.generation, "both joined the first generation")
	require.Equal(t, int32(1), b.generation)
}

func TestMemberIDRequired(t *testing.T) {
	h := newHarness(t, testConfig())
	m := newConsumer(h, "g", "t")
	m.version = 4
	resp := m.join(testCtx(t))
	require.Equal(t, kerr.MemberIDRequired.Code, resp.ErrorCode)
	require.Regexp(t, `^client-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`, resp.MemberID)
	resp = m.join(testCtx(t))
	require.NoError(t, code(resp.ErrorCode))
	require.Equal(t, m.id, resp.LeaderID)

	// Before v4 a new member gets its id and joins at once.
	old := newConsumer(h, "g2", "t")
	old.version = 3
	require.NoError(t, code(old.join(testCtx(t)).ErrorCode))

	// A member id handed out but never used expires with the session.
	p := newConsumer(h, "g3", "t")
	p.session = 50 * time.Millisecond
	require.Equal(t, kerr.MemberIDRequired.Code, p.join(testCtx(t)).ErrorCode)
	g := peek(h.c, "g3")
	eventually(t, func() error {
		g.mu.Lock()
		defer g.mu.Unlock()
		if n := len(g.pending); n != 0 {
			return fmt.Errorf("%d pending members", n)
		}
		return nil
	})
	require.Equal(t, kerr.UnknownMemberID.Code, p.join(testCtx(t)).ErrorCode)
}

func TestJoinGroupErrors(t *testing.T) {
	cfg := testConfig()
	cfg.MaxSessionTimeout = time.Minute
	h := newHarness(t, cfg)
	form(t, "t", 1, newConsumer(h, "g", "t"))

	for _, tc := range []struct {
		name   string
		modify func(*consumer)
		want   *kerr.Error
	}{
		{"empty group id", func(m *consumer) { m.group = "" }, kerr.InvalidGroupID},
		{"session below minimum", func(m *consumer) { m.session = 0 }, kerr.InvalidSessionTimeout},
		{"session above maximum", func(m *consumer) { m.session = time.Hour }, kerr.InvalidSessionTimeout},
		{"unknown member of unknown group", func(m *consumer) { m.group, m.id = "nope", "ghost" }, kerr.UnknownMemberID},
		{"unknown member", func(m *consumer) { m.id = "ghost" }, kerr.UnknownMemberID},
		{"no protocols", func(m *consumer) { m.group, m.protocols = "new", nil }, kerr.InconsistentGroupProtocol},
		{"other protocol type", func(m *consumer) { m.version = 3; m.group = "g" }, nil},
		{"no common protocol", func(m *consumer) { m.version = 3; m.protocols[0].Name = "sticky" }, kerr.InconsistentGroupProtocol},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newConsumer(h, "g", "t")
			tc.modify(m)
			req := m.joinRequest()
			if tc.name == "other protocol type" {
				req.ProtocolType = "connect"
				tc.want = kerr.InconsistentGroupProtocol
			}
			resp := h.c.JoinGroup(testCtx(t), req)
			require.Equal(t, tc.want.Code, resp.ErrorCode, "got %v", code(resp.ErrorCode))
			require.Equal(t, int32(-1), resp.Generation)
		})
	}

	t.Run("group full", func(t *testing.T) {
		cfg := testConfig()
		cfg.MaxGroupSize = 1
		h := newHarness(t, cfg)
		form(t, "t", 1, newConsumer(h, "g", "t"))
		m := newConsumer(h, "g", "t")
		m.version = 3
		require.Equal(t, kerr.GroupMaxSizeReached.Code, m.join(testCtx(t)).ErrorCode)
	})
}

func TestHeartbeatAndSyncErrors(t *testing.T) {
	h := newHarness(t, testConfig())
	a := newConsumer(h, "g", "t")
	form(t, "t", 1, a)

	wrongGen, ghost, noGroup, badProto := *a, *a, *a, *a
	wrongGen.generation++
	ghost.id = "ghost"
	noGroup.group = "nope"
	badProto.protocol = "sticky"
	for _, tc := range []struct {
		name string
		m    *consumer
		want *kerr.Error
	}{
		{"wrong generation", &wrongGen, kerr.IllegalGeneration},
		{"unknown member", &ghost, kerr.UnknownMemberID},
		{"unknown group", &noGroup, kerr.UnknownMemberID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want.Code, tc.m.heartbeat(), "heartbeat")
			require.Equal(t, tc.want.Code, tc.m.sync(testCtx(t), nil).ErrorCode, "sync")
		})
	}
	require.Equal(t, kerr.InconsistentGroupProtocol.Code, badProto.sync(testCtx(t), nil).ErrorCode)
	empty := *a
	empty.group = ""
	require.Equal(t, kerr.InvalidGroupID.Code, empty.heartbeat())
}

func TestCommitsAndHeartbeatsDuringRebalance(t *testing.T) {
	h := newHarness(t, testConfig())
	a, b := newConsumer(h, "g", "t"), newConsumer(h, "g", "t")
	form(t, "t", 2, a, b)
	require.True(t, a.isLeader())

	// The leader rejoins: the group prepares a rebalance and waits for b.
	done := make(chan error, 1)
	go func() { done <- a.joinGroup(testCtx(t)) }()
	eventually(t, func() error {
		if s := groupState(t, h.c, "g"); s != "PreparingRebalance" {
			return fmt.Errorf("state %s", s)
		}
		return nil
	})
	require.NoError(t, code(b.commit("t", 1, 1)), "commits still count while preparing")
	require.Equal(t, kerr.RebalanceInProgress.Code, b.heartbeat())
	require.Equal(t, kerr.RebalanceInProgress.Code, b.sync(testCtx(t), nil).ErrorCode)

	require.NoError(t, b.joinGroup(testCtx(t)))
	require.NoError(t, <-done)
	require.Equal(t, "CompletingRebalance", groupState(t, h.c, "g"))
	require.NoError(t, code(b.heartbeat()), "heartbeats before the sync are fine")
	require.Equal(t, kerr.RebalanceInProgress.Code, b.commit("t", 1, 2), "no commits before the assignment")
	require.Equal(t, int64(1), committed(t, h.c, "g", "t", 1))
}

func TestStaticMemberSessionExpires(t *testing.T) {
	h := newHarness(t, testConfig())
	a := newConsumer(h, "g", "t").withInstance("a")
	a.session = time.Second
	form(t, "t", 1, a)
	gen := a.generation
	eventually(t, func() error {
		if s := groupState(t, h.c, "g"); s != "Empty" {
			return fmt.Errorf("state %s", s)
		}
		return nil
	})
	require.Equal(t, kerr.UnknownMemberID.Code, a.heartbeat())

	a2 := newConsumer(h, "g", "t").withInstance("a")
	a2.rebalanceGroup(t, "t", 1)
	require.Equal(t, gen+2, a2.generation, "a new member after the empty generation")
}
