package group

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestDescribeAndListGroups(t *testing.T) {
	h := newHarness(t, testConfig())
	form(t, "t", 2, newConsumer(h, "stable", "t"))
	require.NoError(t, code(commitOffset(h.c, "offsets-only", -1, "", nil, "t", 0, 1)))

	list := func(version int16, states ...string) map[string]kmsg.ListGroupsResponseGroup {
		req := kmsg.NewPtrListGroupsRequest()
		req.Version = version
		req.StatesFilter = states
		resp := h.c.ListGroups(context.Background(), req)
		require.NoError(t, code(resp.ErrorCode))
		out := make(map[string]kmsg.ListGroupsResponseGroup)
		for _, g := range resp.Groups {
			out[g.Group] = g
		}
		return out
	}
	all := list(5)
	require.Len(t, all, 2)
	require.Equal(t, "consumer", all["stable"].ProtocolType)
	require.Equal(t, "Stable", all["stable"].GroupState)
	require.Equal(t, "classic", all["stable"].GroupType)
	require.Equal(t, "", all["offsets-only"].ProtocolType)
	require.Len(t, list(4, "Stable"), 1)
	require.Contains(t, list(4, "empty"), "offsets-only", "the filter ignores case")
	require.Len(t, list(4, "Dead"), 0)

	req := kmsg.NewPtrListGroupsRequest()
	req.Version = 5
	req.TypesFilter = []string{"consumer"}
	require.Empty(t, h.c.ListGroups(context.Background(), req).Groups)

	for _, tc := range []struct {
		version int16
		group   string
		code    *kerr.Error
		state   string
	}{
		{5, "missing", nil, "Dead"},
		{6, "missing", kerr.GroupIDNotFound, "Dead"},
		{0, "stable", nil, "Stable"},
		{6, "offsets-only", nil, "Empty"},
	} {
		t.Run(fmt.Sprintf("v%d %s", tc.version, tc.group), func(t *testing.T) {
			req := kmsg.NewPtrDescribeGroupsRequest()
			req.Version = tc.version
			req.Groups = []string{tc.group}
			req.IncludeAuthorizedOperations = true
			g := h.c.DescribeGroups(context.Background(), req).Groups[0]
			if tc.code == nil {
				require.NoError(t, code(g.ErrorCode))
				require.Equal(t, int32(groupOperations), g.AuthorizedOperations)
			} else {
				require.Equal(t, tc.code.Code, g.ErrorCode)
				require.NotNil(t, g.ErrorMessage)
			}
			require.Equal(t, tc.state, g.State)
		})
	}
}

func TestDescribeShowsMetadataOnlyWhenStable(t *testing.T) {
	h := newHarness(t, testConfig())
	a := newConsumer(h, "g", "t")
	require.NoError(t, a.joinGroup(testCtx(t)))
	d := describe(t, h.c, "g")
	require.Equal(t, "CompletingRebalance", d.State)
	require.Empty(t, d.Protocol)
	require.Empty(t, d.Members[0].ProtocolMetadata)
	require.NoError(t, code(a.sync(testCtx(t), map[string][]byte{a.id: assignment("t", 0)}).ErrorCode))
	d = describe(t, h.c, "g")
	require.Equal(t, "range", d.Protocol)
	require.Equal(t, a.protocols[0].Metadata, d.Members[0].ProtocolMetadata)
	require.Equal(t, assignment("t", 0), d.Members[0].MemberAssignment)
}

func TestLeaveGroupVersions(t *testing.T) {
	h := newHarness(t, testConfig())
	a := newConsumer(h, "g", "t")
	b := newConsumer(h, "g", "t").withInstance("b")
	c := newConsumer(h, "g", "t")
	form(t, "t", 3, a, b, c)

	// v0: one member; its error is the request's.
	req := kmsg.NewPtrLeaveGroupRequest()
	req.Version = 0
	req.Group, req.MemberID = "g", "ghost"
	resp := h.c.LeaveGroup(context.Background(), req)
	require.Equal(t, kerr.UnknownMemberID.Code, resp.ErrorCode)
	require.Nil(t, resp.Members)

	// v3+: a batch, by member id and by instance id alone.
	req = kmsg.NewPtrLeaveGroupRequest()
	req.Version = 3
	req.Group = "g"
	req.Members = []kmsg.LeaveGroupRequestMember{
		{MemberID: a.id},
		{MemberID: c.id, InstanceID: new("b")}, // claims b's instance id
		{InstanceID: new("b")},
		{InstanceID: new("nobody")},
	}
	resp = h.c.LeaveGroup(context.Background(), req)
	require.NoError(t, code(resp.ErrorCode))
	require.Len(t, resp.Members, 4)
	require.NoError(t, code(resp.Members[0].ErrorCode))
	require.Equal(t, kerr.FencedInstanceID.Code, resp.Members[1].ErrorCode)
	require.NoError(t, code(resp.Members[2].ErrorCode))
	require.Equal(t, kerr.UnknownMemberID.Code, resp.Members[3].ErrorCode)
	require.Equal(t, kerr.RebalanceInProgress.Code, c.heartbeat())
	rejoinAll(t, "t", 3, c)
	require.Len(t, describe(t, h.c, "g").Members, 1)

	// Unknown group: every member is unknown.
	req.Group = "none"
	resp = h.c.LeaveGroup(context.Background(), req)
	require.NoError(t, code(resp.ErrorCode))
	require.Equal(t, kerr.UnknownMemberID.Code, resp.Members[0].ErrorCode)
}

func TestDeleteGroups(t *testing.T) {
	h := newHarness(t, testConfig())
	a := newConsumer(h, "g", "t")
	form(t, "t", 1, a)
	require.NoError(t, code(a.commit("t", 0, 5)))
	require.NoError(t, code(commitOffset(h.c, "tools", -1, "", nil, "t", 0, 1)))

	del := func(groups ...string) []kmsg.DeleteGroupsResponseGroup {
		req := kmsg.NewPtrDeleteGroupsRequest()
		req.Version = 3
		req.Groups = groups
		return h.c.DeleteGroups(context.Background(), req).Groups
	}
	got := del("g", "missing")
	require.Equal(t, kerr.NonEmptyGroup.Code, got[0].ErrorCode)
	require.Equal(t, kerr.GroupIDNotFound.Code, got[1].ErrorCode)
	require.NotNil(t, got[1].ErrorMessage)

	require.NoError(t, code(a.leave()))
	got = del("g", "tools")
	require.NoError(t, code(got[0].ErrorCode))
	require.NoError(t, code(got[1].ErrorCode))
	require.Equal(t, int64(-1), committed(t, h.c, "g", "t", 0))
	require.Equal(t, "Dead", groupState(t, h.c, "g"))
	require.Equal(t, kerr.GroupIDNotFound.Code, del("g")[0].ErrorCode)

	h.restart()
	require.Equal(t, int64(-1), committed(t, h.c, "g", "t", 0), "tombstones keep it deleted")
	require.Equal(t, int64(-1), committed(t, h.c, "tools", "t", 0))
	require.Equal(t, "Dead", groupState(t, h.c, "g"))
}

func TestOffsetDelete(t *testing.T) {
	h := newHarness(t, testConfig())
	a := newConsumer(h, "g", "subscribed")
	form(t, "subscribed", 1, a)
	require.NoError(t, code(a.commit("subscribed", 0, 5)))
	require.NoError(t, code(a.commit("other", 0, 6)))

	del := func(group string, topics ...string) *kmsg.OffsetDeleteResponse {
		req := kmsg.NewPtrOffsetDeleteRequest()
		req.Group = group
		for _, t := range topics {
			req.Topics = append(req.Topics, kmsg.OffsetDeleteRequestTopic{Topic: t, Partitions: []kmsg.OffsetDeleteRequestTopicPartition{{Partition: 0}}})
		}
		return h.c.OffsetDelete(context.Background(), req)
	}
	resp := del("g", "subscribed", "other")
	require.NoError(t, code(resp.ErrorCode))
	require.Equal(t, kerr.GroupSubscribedToTopic.Code, resp.Topics[0].Partitions[0].ErrorCode)
	require.NoError(t, code(resp.Topics[1].Partitions[0].ErrorCode))
	require.Equal(t, int64(5), committed(t, h.c, "g", "subscribed", 0))
	require.Equal(t, int64(-1), committed(t, h.c, "g", "other", 0))

	require.Equal(t, kerr.GroupIDNotFound.Code, del("missing", "t").ErrorCode)

	// An empty group left without offsets is gone, also after a restart.
	require.NoError(t, code(a.leave()))
	require.NoError(t, code(del("g", "subscribed").ErrorCode))
	require.Equal(t, "Dead", groupState(t, h.c, "g"))
	h.restart()
	require.Equal(t, "Dead", groupState(t, h.c, "g"))
	require.Equal(t, int64(-1), committed(t, h.c, "g", "subscribed", 0))
}

func TestOffsetsOfEmptyGroupsExpire(t *testing.T) {
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return now
	}
	advance := func(d time.Duration) {
		mu.Lock()
		now = now.Add(d)
		mu.Unlock()
	}
	cfg := testConfig()
	cfg.OffsetsRetention = time.Hour
	h := newHarness(t, cfg, withClock(clock))

	active := newConsumer(h, "active", "t")
	form(t, "t", 1, active)
	require.NoError(t, code(active.commit("t", 0, 1)))
	require.NoError(t, code(active.commit("unsubscribed", 0, 1)))
	left := newConsumer(h, "left", "t")
	form(t, "t", 1, left)
	require.NoError(t, code(left.commit("t", 0, 2)))
	require.NoError(t, code(left.leave()))
	require.NoError(t, code(commitOffset(h.c, "simple", -1, "", nil, "t", 0, 3)))

	advance(59 * time.Minute)
	h.c.expireOffsets()
	require.Equal(t, int64(2), committed(t, h.c, "left", "t", 0), "not yet")

	advance(2 * time.Minute)
	require.NoError(t, code(active.heartbeat()))
	h.c.expireOffsets()
	require.Equal(t, int64(1), committed(t, h.c, "active", "t", 0), "a stable group keeps the offsets it consumes")
	require.Equal(t, int64(-1), committed(t, h.c, "active", "unsubscribed", 0), "but not others")
	require.Equal(t, int64(-1), committed(t, h.c, "left", "t", 0))
	require.Equal(t, int64(-1), committed(t, h.c, "simple", "t", 0))
	require.Equal(t, "Dead", groupState(t, h.c, "left"))
	require.Equal(t, "Dead", groupState(t, h.c, "simple"))

	h.restart()
	require.Equal(t, int64(-1), committed(t, h.c, "left", "t", 0))
	require.Equal(t, "Dead", groupState(t, h.c, "simple"))
	require.Equal(t, int64(1), committed(t, h.c, "active", "t", 0))
}

func TestCloseAnswersWaitingRequests(t *testing.T) {
	cfg := testConfig()
	cfg.InitialRebalanceDelay = time.Hour
	h := newHarness(t, cfg)
	m := newConsumer(h, "g", "t")
	m.version = 3
	done := make(chan *kmsg.JoinGroupResponse, 1)
	go func() { done <- h.c.JoinGroup(context.Background(), m.joinRequest()) }()
	eventually(t, func() error {
		if s := groupState(t, h.c, "g"); s != "PreparingRebalance" {
			return fmt.Errorf("state %s", s)
		}
		return nil
	})
	require.NoError(t, h.c.Close())
	require.Equal(t, kerr.NotCoordinator.Code, (<-done).ErrorCode)
	require.Equal(t, kerr.CoordinatorNotAvailable.Code, m.join(testCtx(t)).ErrorCode)
	require.Equal(t, kerr.CoordinatorNotAvailable.Code, commitOffset(h.c, "g", -1, "", nil, "t", 0, 1))
	require.NoError(t, h.c.Close(), "Close is idempotent")
	require.ErrorIs(t, h.c.Start(context.Background()), ErrClosed)
}

func TestJoinGivesUpWithItsContext(t *testing.T) {
	cfg := testConfig()
	cfg.InitialRebalanceDelay = time.Hour
	h := newHarness(t, cfg)
	m := newConsumer(h, "g", "t")
	m.version = 3
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	require.Equal(t, kerr.RebalanceInProgress.Code, h.c.JoinGroup(ctx, m.joinRequest()).ErrorCode)
}

func TestPartitionForMatchesKafka(t *testing.T) {
	for _, tc := range []struct {
		group string
		hash  int32 // java.lang.String.hashCode
	}{
		{"", 0},
		{"a", 97},
		{"hello", 99162322},
		{"Hello World", -862545276},
		{"polygenelubricants", -2147483648}, // Integer.MIN_VALUE: Utils.abs gives 0
		{"\U0001F600", 1772899},             // one code point, two UTF-16 units
		{"é", 233},
	} {
		require.Equal(t, tc.hash, javaHashCode(tc.group), "%q", tc.group)
	}
	require.Equal(t, int32(0), partitionFor("polygenelubricants", 50))
	require.Equal(t, int32(862545276%50), partitionFor("Hello World", 50))
	require.Equal(t, int32(99162322%50), New(Config{}, nil, nil).PartitionFor("hello"))
}

func TestManyGroupsConcurrently(t *testing.T) {
	h := newHarness(t, testConfig())
	const groups, members, commits = 8, 3, 20
	errs := parallel(groups, func(i int) error {
		ctx := testCtx(t)
		group := fmt.Sprintf("group-%d", i)
		ms := make([]*consumer, members)
		for j := range ms {
			ms[j] = newConsumer(h, group, "t")
		}
		formed := parallel(members, func(j int) error { return ms[j].settle(ctx, "t", 6, members) })
		for _, err := range formed {
			if err != nil {
				return err
			}
		}
		rs := parallel(members, func(j int) error {
			for k := range commits {
				if c := ms[j].commit("t", int32(j), int64(k)); c != 0 {
					return fmt.Errorf("%s commit: %w", group, code(c))
				}
				if c := ms[j].heartbeat(); c != 0 {
					return fmt.Errorf("%s heartbeat: %w", group, code(c))
				}
			}
			return nil
		})
		for _, err := range rs {
			if err != nil {
				return err
			}
		}
		return nil
	})
	for _, err := range errs {
		require.NoError(t, err)
	}
	h.restart()
	for i := range groups {
		for j := range members {
			require.Equal(t, int64(commits-1), committed(t, h.c, fmt.Sprintf("group-%d", i), "t", int32(j)))
		}
	}
}

func TestUnloadAndLoadPartition(t *testing.T) {
	cfg := testConfig()
	h := newHarness(t, cfg)
	a := newConsumer(h, "g", "t")
	form(t, "t", 1, a)
	require.NoError(t, code(a.commit("t", 0, 9)))
	p := h.c.PartitionFor("g")

	// A member waiting in a join is told to find the new coordinator.
	b := newConsumer(h, "g", "t")
	b.version = 3
	done := make(chan *kmsg.JoinGroupResponse, 1)
	go func() { done <- h.c.JoinGroup(testCtx(t), b.joinRequest()) }()
	eventually(t, func() error {
		if s := groupState(t, h.c, "g"); s != "PreparingRebalance" {
			return fmt.Errorf("state %s", s)
		}
		return nil
	})
	h.c.UnloadPartition(p)
	require.Equal(t, kerr.NotCoordinator.Code, (<-done).ErrorCode)
	require.Equal(t, kerr.NotCoordinator.Code, a.heartbeat())
	require.Equal(t, kerr.NotCoordinator.Code, a.commit("t", 0, 10))
	require.Equal(t, kerr.NotCoordinator.Code, describe(t, h.c, "g").ErrorCode)

	// Leading it again brings the group back from the log.
	require.NoError(t, h.c.LoadPartition(testCtx(t), p))
	require.NoError(t, h.c.LoadPartition(testCtx(t), p), "loading twice is harmless")
	require.Equal(t, int64(9), committed(t, h.c, "g", "t", 0))
	require.NoError(t, code(a.heartbeat()))
	require.Error(t, h.c.LoadPartition(testCtx(t), cfg.OffsetsTopicPartitions))
}
