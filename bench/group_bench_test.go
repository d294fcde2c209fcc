package bench

// Consumer-group coordination, side by side with kfake: how long a group of
// 10 members takes from its first JoinGroup until all 10 hold assignments of
// one generation (BenchmarkGroupJoin), and how many OffsetCommit requests a
// second the coordinator acknowledges (BenchmarkGroupCommit).
//
// The members speak the group protocol by hand, with kmsg requests sent
// through one franz-go client each (so each member has its own connection,
// as a JoinGroup blocks its connection): the figures are the coordinator's,
// not a client library's heartbeat cadence or assignor. kspring writes every
// commit and every generation to __consumer_offsets on disk; kfake keeps
// them in memory.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kspring/kspring/bench/internal/target"
)

const (
	groupTopic      = "group-bench"
	groupPartitions = 6
	groupSize       = 10 // members of the joining group
	// groupHeartbeat is how often a stable member heartbeats, which is how
	// it learns of a rebalance; short, so that the figure is the broker's.
	groupHeartbeat = 2 * time.Millisecond
	groupSession   = 2 * time.Minute
	groupTimeout   = 5 * time.Minute
)

var groupTargets = []string{target.NameKspring, target.NameKfake}

// startGroupTarget starts the named broker with groupTopic created. kspring
// gets group.initial.rebalance.delay.ms=0, which is what kfake does (it has
// no initial delay); everything else is kspring's default, 50 partitions of
// __consumer_offsets on disk included.
func startGroupTarget(b *testing.B, name string) *target.Target {
	b.Helper()
	return startSpec(b, target.Spec{
		Name: name, Topic: groupTopic, Partitions: groupPartitions,
		Properties: map[string]string{"group.initial.rebalance.delay.ms": "0"},
	})
}

// groupCtx bounds a benchmark's blocking calls.
func groupCtx(b *testing.B) context.Context {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), groupTimeout)
	b.Cleanup(cancel)
	return ctx
}

// groupMember is one member speaking the classic protocol by hand over its
// own client. Not safe for concurrent use.
type groupMember struct {
	cl         *kgo.Client
	group      string
	id         string
	generation int32
	userData   []byte // in the member's metadata; changing it forces a rebalance
	topicID    [16]byte
}

func newGroupMember(b *testing.B, addr string) *groupMember { return newGroupMemberT(b, addr) }

func newGroupMemberT(b testing.TB, addr string) *groupMember {
	b.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	require.NoError(b, err)
	b.Cleanup(cl.Close)
	return &groupMember{cl: cl}
}

// reset makes m a fresh member of group.
func (m *groupMember) reset(group string) {
	m.group, m.id, m.generation = group, "", -1
}

// join joins (or rejoins) the group with the range protocol, answering
// MEMBER_ID_REQUIRED, and returns the answer once the join phase ends.
func (m *groupMember) join(ctx context.Context) (*kmsg.JoinGroupResponse, error) {
	for {
		req := kmsg.NewPtrJoinGroupRequest()
		req.Group, req.MemberID, req.ProtocolType = m.group, m.id, "consumer"
		req.SessionTimeoutMillis = int32(groupSession.Milliseconds())
		req.RebalanceTimeoutMillis = int32(time.Minute.Milliseconds())
		meta := kmsg.NewConsumerMemberMetadata()
		meta.Topics, meta.UserData = []string{groupTopic}, m.userData
		proto := kmsg.NewJoinGroupRequestProtocol()
		proto.Name, proto.Metadata = "range", meta.AppendTo(nil)
		req.Protocols = append(req.Protocols, proto)
		resp, err := req.RequestWith(ctx, m.cl)
		if err != nil {
			return nil, fmt.Errorf("join %s: %w", m.group, err)
		}
		switch err := kerr.ErrorForCode(resp.ErrorCode); {
		case errors.Is(err, kerr.MemberIDRequired):
			m.id = resp.MemberID
			continue
		case errors.Is(err, kerr.UnknownMemberID):
			m.id = ""
			continue
		case err != nil:
			return nil, fmt.Errorf("join %s: %w", m.group, err)
		}
		m.id, m.generation = resp.MemberID, resp.Generation
		return resp, nil
	}
}

// sync sends SyncGroup; a leader assigns the partitions round-robin over
// the members it was given. It returns REBALANCE_IN_PROGRESS as an error.
func (m *groupMember) sync(ctx context.Context, joined *kmsg.JoinGroupResponse) error {
	req := kmsg.NewPtrSyncGroupRequest()
	req.Group, req.MemberID, req.Generation = m.group, m.id, m.generation
	req.ProtocolType, req.Protocol = kmsg.StringPtr("consumer"), kmsg.StringPtr("range")
	if joined.LeaderID == m.id {
		plans := make([][]int32, len(joined.Members))
		for p := range int32(groupPartitions) {
			plans[int(p)%len(plans)] = append(plans[int(p)%len(plans)], p)
		}
		for i, jm := range joined.Members {
			a := kmsg.NewConsumerMemberAssignment()
			at := kmsg.NewConsumerMemberAssignmentTopic()
			at.Topic, at.Partitions = groupTopic, plans[i]
			a.Topics = append(a.Topics, at)
			ga := kmsg.NewSyncGroupRequestGroupAssignment()
			ga.MemberID, ga.MemberAssignment = jm.MemberID, a.AppendTo(nil)
			req.GroupAssignment = append(req.GroupAssignment, ga)
		}
	}
	resp, err := req.RequestWith(ctx, m.cl)
	if err != nil {
		return fmt.Errorf("sync %s: %w", m.group, err)
	}
	return kerr.ErrorForCode(resp.ErrorCode)
}

// heartbeat returns the heartbeat's Kafka error, if any.
func (m *groupMember) heartbeat(ctx context.Context) error {
	req := kmsg.NewPtrHeartbeatRequest()
	req.Group, req.MemberID, req.Generation = m.group, m.id, m.generation
	resp, err := req.RequestWith(ctx, m.cl)
	if err != nil {
		return fmt.Errorf("heartbeat %s: %w", m.group, err)
	}
	return kerr.ErrorForCode(resp.ErrorCode)
}

// run keeps m in its group, as a client would, until done closes: join,
// sync, then heartbeat until a rebalance calls for a rejoin. After each
// successful sync it reports its generation.
func (m *groupMember) run(ctx context.Context, done <-chan struct{}, synced func(generation int32)) error {
	for {
		joined, err := m.join(ctx)
		if err != nil {
			return err
		}
		switch err := m.sync(ctx, joined); {
		case errors.Is(err, kerr.RebalanceInProgress):
			continue
		case err != nil:
			return err
		}
		synced(m.generation)
		for {
			select {
			case <-done:
				return nil
			case <-time.After(groupHeartbeat):
			}
			if err := m.heartbeat(ctx); errors.Is(err, kerr.RebalanceInProgress) {
				break
			} else if err != nil {
				return err
			}
		}
	}
}

// groupLeave removes members from their group in one batched LeaveGroup.
func groupLeave(ctx context.Context, members []*groupMember) error {
	req := kmsg.NewPtrLeaveGroupRequest()
	req.Group = members[0].group
	for _, m := range members {
		lm := kmsg.NewLeaveGroupRequestMember()
		lm.MemberID = m.id
		req.Members = append(req.Members, lm)
	}
	resp, err := req.RequestWith(ctx, members[0].cl)
	if err != nil {
		return fmt.Errorf("leave %s: %w", req.Group, err)
	}
	if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
		return fmt.Errorf("leave %s: %w", req.Group, err)
	}
	for _, lm := range resp.Members {
		if err := kerr.ErrorForCode(lm.ErrorCode); err != nil {
			return fmt.Errorf("leave %s: member %s: %w", req.Group, lm.MemberID, err)
		}
	}
	return nil
}

// BenchmarkGroupJoin measures join/sync latency of a group of 10 members,
// per op: the time until each of the 10 holds an assignment of one and the
// same generation.
//
//   - mode=fresh: a new group forms, from the moment all 10 send their first
//     JoinGroup. With no initial rebalance delay the first arrivals form a
//     smaller generation and the rest join in further rebalances, learned of
//     through heartbeats; generations/op counts the rounds, which vary with
//     arrival order, so this mode is noisier. The members then leave (not
//     timed).
//   - mode=rejoin: the 10 members of a stable group all rejoin at once with
//     new metadata: exactly one rebalance, one JoinGroup and one SyncGroup
//     each.
func BenchmarkGroupJoin(b *testing.B) {
	for _, mode := range []string{"fresh", "rejoin"} {
		for _, name := range groupTargets {
			b.Run(fmt.Sprintf("mode=%s/target=%s", mode, name), func(b *testing.B) {
				ctx := groupCtx(b)
				t := startGroupTarget(b, name)
				members := make([]*groupMember, groupSize)
				for i := range members {
					members[i] = newGroupMember(b, t.Addr)
				}
				// Not timed: the first group creates __consumer_offsets.
				b.StopTimer()
				groupJoinOnce(b, ctx, members, "warm-up")
				b.StartTimer()
				b.ReportAllocs()
				var lat groupLatencies
				if mode == "rejoin" {
					groupForm(b, ctx, members, "rejoin")
					for i := 0; b.Loop(); i++ {
						start := time.Now()
						groupRejoinOnce(b, ctx, members, i)
						lat = append(lat, time.Since(start))
					}
					lat.report(b)
					return
				}
				var generations int64
				for i := 0; b.Loop(); i++ {
					gen, took := groupJoinOnce(b, ctx, members, fmt.Sprintf("join-%d", i))
					generations += int64(gen)
					lat = append(lat, took)
				}
				lat.report(b)
				b.ReportMetric(float64(generations)/float64(b.N), "generations/op")
			})
		}
	}
}

// groupForm forms group with members and leaves them in it, stable.
func groupForm(b *testing.B, ctx context.Context, members []*groupMember, group string) {
	b.Helper()
	_, _ = groupJoin(b, ctx, members, group, false)
}

// groupRejoinOnce has every member join and sync at once, with metadata
// that differs from the last round (so a stable group rebalances),
// retrying a member whose sync meets a rebalance.
func groupRejoinOnce(b *testing.B, ctx context.Context, members []*groupMember, round int) {
	var (
		wg   sync.WaitGroup
		errs = make([]error, len(members))
	)
	for i, m := range members {
		m.userData = fmt.Appendf(m.userData[:0], "%d", round)
		wg.Go(func() {
			for {
				joined, err := m.join(ctx)
				if err != nil {
					errs[i] = err
					return
				}
				if err = m.sync(ctx, joined); !errors.Is(err, kerr.RebalanceInProgress) {
					errs[i] = err
					return
				}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		b.Fatal(err)
	}
}

// groupJoinOnce forms group with members and returns the generation in
// which all of them got their assignment, and how long that took; the
// leave is not timed.
func groupJoinOnce(b *testing.B, ctx context.Context, members []*groupMember, group string) (int32, time.Duration) {
	return groupJoin(b, ctx, members, group, true)
}

// groupJoin runs members as clients of group until all of them hold an
// assignment of one generation, which it returns with the time that took.
// Then, untimed, they stop heartbeating and, if leave is set, leave the
// group.
func groupJoin(b *testing.B, ctx context.Context, members []*groupMember, group string, leave bool) (int32, time.Duration) {
	start := time.Now()
	var (
		mu       sync.Mutex
		count    = map[int32]int{}
		complete atomic.Int32
		done     = make(chan struct{})
		wg       sync.WaitGroup
		errs     = make([]error, len(members))
	)
	synced := func(gen int32) {
		mu.Lock()
		defer mu.Unlock()
		if count[gen]++; count[gen] == len(members) && complete.Load() == 0 {
			complete.Store(gen)
			close(done)
		}
	}
	for i, m := range members {
		m.reset(group)
		wg.Go(func() { errs[i] = m.run(ctx, done, synced) })
	}
	select {
	case <-done:
	case <-ctx.Done():
	}
	took := time.Since(start)
	b.StopTimer()
	defer b.StartTimer()
	wg.Wait()
	require.NoError(b, errors.Join(errs...))
	require.NotZero(b, complete.Load(), "group %s did not form", group)
	if leave {
		require.NoError(b, groupLeave(ctx, members))
	}
	return complete.Load(), took
}

// groupLatencies are the durations of a benchmark's ops. Join latencies
// vary with arrival order and a shared machine's scheduling; the median
// and the 90th percentile are reported beside the mean.
type groupLatencies []time.Duration

func (l groupLatencies) report(b *testing.B) {
	if len(l) == 0 {
		return
	}
	slices.Sort(l)
	b.ReportMetric(float64(l[len(l)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(l[len(l)*9/10].Nanoseconds()), "p90-ns")
}

// BenchmarkGroupCommit measures synchronous OffsetCommit requests of a
// member of a stable group, each committing new offsets for 1 or all 6
// partitions, from one client at a time (clients=1: the round trip) and
// from 8 clients at once, each in its own group (clients=8: the
// coordinator's throughput). commits/s counts requests.
func BenchmarkGroupCommit(b *testing.B) {
	for _, parts := range []int32{1, groupPartitions} {
		for _, clients := range []int{1, 8} {
			for _, name := range groupTargets {
				b.Run(fmt.Sprintf("partitions=%d/clients=%d/target=%s", parts, clients, name), func(b *testing.B) {
					benchGroupCommit(b, name, parts, clients)
				})
			}
		}
	}
}

func benchGroupCommit(b *testing.B, name string, parts int32, clients int) {
	ctx := groupCtx(b)
	t := startGroupTarget(b, name)
	pool := make(chan *groupMember, clients)
	for i := range clients {
		m := newGroupMember(b, t.Addr)
		m.reset(fmt.Sprintf("commit-%d", i))
		m.topicID = groupTopicID(b, ctx, m.cl)
		joined, err := m.join(ctx)
		require.NoError(b, err)
		require.NoError(b, m.sync(ctx, joined))
		pool <- m
	}
	var next atomic.Int64 // offsets only grow, as a consumer's do
	b.ReportAllocs()
	if clients == 1 {
		m := <-pool
		var lat groupLatencies
		for b.Loop() {
			start := time.Now()
			if err := m.commit(ctx, parts, next.Add(1)); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(start))
		}
		lat.report(b)
	} else {
		// b.N commits shared out among the clients as they go.
		left := atomic.Int64{}
		left.Store(int64(b.N))
		var wg sync.WaitGroup
		errs := make([]error, clients)
		b.ResetTimer()
		for i := range clients {
			m := <-pool
			wg.Go(func() {
				for left.Add(-1) >= 0 {
					if errs[i] = m.commit(ctx, parts, next.Add(1)); errs[i] != nil {
						return
					}
				}
			})
		}
		wg.Wait()
		b.StopTimer()
		require.NoError(b, errors.Join(errs...))
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "commits/s")
}

// commit commits offset for partitions 0..parts-1 as the member's
// generation.
func (m *groupMember) commit(ctx context.Context, parts int32, offset int64) error {
	req := kmsg.NewPtrOffsetCommitRequest()
	req.Group, req.MemberID, req.Generation = m.group, m.id, m.generation
	rt := kmsg.NewOffsetCommitRequestTopic()
	rt.Topic, rt.TopicID = groupTopic, m.topicID // v10+ (kfake) names topics by ID
	for p := range parts {
		rp := kmsg.NewOffsetCommitRequestTopicPartition()
		rp.Partition, rp.Offset, rp.LeaderEpoch = p, offset, -1
		rt.Partitions = append(rt.Partitions, rp)
	}
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, m.cl)
	if err != nil {
		return fmt.Errorf("commit %s: %w", m.group, err)
	}
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
				return fmt.Errorf("commit %s %s[%d]: %w", m.group, t.Topic, p.Partition, err)
			}
		}
	}
	return nil
}

// groupTopicID looks up groupTopic's ID.
func groupTopicID(b *testing.B, ctx context.Context, cl *kgo.Client) [16]byte {
	b.Helper()
	req := kmsg.NewPtrMetadataRequest()
	rt := kmsg.NewMetadataRequestTopic()
	rt.Topic = kmsg.StringPtr(groupTopic)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	require.NoError(b, err)
	require.Len(b, resp.Topics, 1)
	require.NoError(b, kerr.ErrorForCode(resp.Topics[0].ErrorCode))
	return resp.Topics[0].TopicID
}
