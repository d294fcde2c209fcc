package group

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/goleak"
	"go.uber.org/zap"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testConfig is a small coordinator with no initial delay and session
// timeouts allowed down to a millisecond.
func testConfig() Config {
	return Config{
		OffsetsTopicPartitions:        8,
		MinSessionTimeout:             time.Millisecond,
		MaxSessionTimeout:             time.Hour,
		OffsetsRetentionCheckInterval: time.Hour,
	}
}

// harness is a started Coordinator over a fileStore in t.TempDir.
type harness struct {
	t     testing.TB
	cfg   Config
	store *logStore
	opts  []Option
	c     *Coordinator
}

func newHarness(t testing.TB, cfg Config, opts ...Option) *harness {
	t.Helper()
	h := &harness{t: t, cfg: cfg, store: newLogStore(t.TempDir()), opts: opts}
	t.Cleanup(func() { require.NoError(t, h.store.reopen()) })
	h.start()
	return h
}

func (h *harness) start() {
	h.t.Helper()
	c := New(h.cfg, h.store, zap.NewNop(), h.opts...)
	h.t.Cleanup(func() { _ = c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(h.t, c.Start(ctx))
	h.c = c
}

// restart closes the coordinator and starts a new one over the same store.
func (h *harness) restart() {
	h.t.Helper()
	require.NoError(h.t, h.c.Close())
	require.NoError(h.t, h.store.reopen())
	h.start()
}

// testCtx bounds a test's waits.
func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// eventually polls fn until it returns nil, failing with its last error
// after 15 seconds.
func eventually(t testing.TB, fn func() error) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		err := fn()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("condition not met in time: %v", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// code turns a Kafka error code into an error for require.
func code(c int16) error { return kerr.ErrorForCode(c) }

// consumer drives the coordinator like a Kafka consumer's group client.
type consumer struct {
	h         *harness
	group     string
	id        string
	instance  *string
	version   int16
	session   time.Duration
	rebalance time.Duration
	protocols []kmsg.JoinGroupRequestProtocol

	generation int32
	leader     string
	protocol   string
	members    []kmsg.JoinGroupResponseMember
}

// subscription is a consumer protocol's member metadata for topics.
func subscription(topics ...string) []byte {
	m := kmsg.NewConsumerMemberMetadata()
	m.Version = 1
	m.Topics = topics
	return m.AppendTo(nil)
}

func newConsumer(h *harness, group string, topics ...string) *consumer {
	return &consumer{
		h: h, group: group, version: 9,
		session: 30 * time.Second, rebalance: 30 * time.Second,
		protocols:  []kmsg.JoinGroupRequestProtocol{{Name: "range", Metadata: subscription(topics...)}},
		generation: -1,
	}
}

func (m *consumer) withInstance(id string) *consumer { m.instance = &id; return m }

func (m *consumer) joinRequest() *kmsg.JoinGroupRequest {
	req := kmsg.NewPtrJoinGroupRequest()
	req.Version = m.version
	req.Group = m.group
	req.SessionTimeoutMillis = int32(m.session.Milliseconds())
	req.RebalanceTimeoutMillis = int32(m.rebalance.Milliseconds())
	req.MemberID = m.id
	req.InstanceID = m.instance
	req.ProtocolType = "consumer"
	req.Protocols = m.protocols
	return req
}

// join sends one JoinGroup and records what it learns.
func (m *consumer) join(ctx context.Context) *kmsg.JoinGroupResponse {
	resp := m.h.c.JoinGroup(WithClient(ctx, "client", "/127.0.0.1"), m.joinRequest())
	switch resp.ErrorCode {
	case kerr.MemberIDRequired.Code:
		m.id = resp.MemberID
	case 0:
		m.id, m.generation, m.leader, m.members = resp.MemberID, resp.Generation, resp.LeaderID, resp.Members
		if resp.Protocol != nil {
			m.protocol = *resp.Protocol
		}
	case kerr.UnknownMemberID.Code, kerr.FencedInstanceID.Code:
		m.id = ""
	}
	return resp
}

// joinGroup joins like a client: with MEMBER_ID_REQUIRED it rejoins with
// the id it was given. It is safe to call from any goroutine.
func (m *consumer) joinGroup(ctx context.Context) error {
	resp := m.join(ctx)
	if resp.ErrorCode == kerr.MemberIDRequired.Code {
		resp = m.join(ctx)
	}
	if err := code(resp.ErrorCode); err != nil {
		return fmt.Errorf("join %s as %q: %w", m.group, m.id, err)
	}
	return nil
}

func (m *consumer) isLeader() bool { return m.id != "" && m.id == m.leader }

func (m *consumer) syncRequest(assignments map[string][]byte) *kmsg.SyncGroupRequest {
	req := kmsg.NewPtrSyncGroupRequest()
	req.Version = 5
	req.Group = m.group
	req.Generation = m.generation
	req.MemberID = m.id
	req.InstanceID = m.instance
	req.ProtocolType = new("consumer")
	req.Protocol = new(m.protocol)
	for id, a := range assignments {
		req.GroupAssignment = append(req.GroupAssignment, kmsg.SyncGroupRequestGroupAssignment{MemberID: id, MemberAssignment: a})
	}
	return req
}

func (m *consumer) sync(ctx context.Context, assignments map[string][]byte) *kmsg.SyncGroupResponse {
	return m.h.c.SyncGroup(ctx, m.syncRequest(assignments))
}

func (m *consumer) heartbeat() int16 {
	req := kmsg.NewPtrHeartbeatRequest()
	req.Version = 4
	req.Group, req.Generation, req.MemberID, req.InstanceID = m.group, m.generation, m.id, m.instance
	return m.h.c.Heartbeat(context.Background(), req).ErrorCode
}

func (m *consumer) leave() int16 {
	req := kmsg.NewPtrLeaveGroupRequest()
	req.Version = 5
	req.Group = m.group
	req.Members = []kmsg.LeaveGroupRequestMember{{MemberID: m.id, InstanceID: m.instance}}
	resp := m.h.c.LeaveGroup(context.Background(), req)
	if resp.ErrorCode != 0 {
		return resp.ErrorCode
	}
	return resp.Members[0].ErrorCode
}

// commit commits offset for topic/partition with the member's generation.
func (m *consumer) commit(topic string, partition int32, offset int64) int16 {
	return commitOffset(m.h.c, m.group, m.generation, m.id, m.instance, topic, partition, offset)
}

// tryRebalance joins and syncs a generation like a client: the leader
// assigns the partitions of topic with a range assignor. It returns the
// partitions this member owns. It is safe to call from any goroutine.
func (m *consumer) tryRebalance(ctx context.Context, topic string, partitions int32) ([]int32, error) {
	for {
		if err := m.joinGroup(ctx); err != nil {
			return nil, err
		}
		var assignments map[string][]byte
		if m.isLeader() {
			var err error
			if assignments, err = rangeAssign(m.members, topic, partitions); err != nil {
				return nil, err
			}
		}
		resp := m.sync(ctx, assignments)
		if resp.ErrorCode == kerr.RebalanceInProgress.Code && ctx.Err() == nil {
			continue // another member joined meanwhile: rejoin, as clients do
		}
		if err := code(resp.ErrorCode); err != nil {
			return nil, fmt.Errorf("sync %s generation %d: %w", m.id, m.generation, err)
		}
		return owned(resp.MemberAssignment, topic)
	}
}

// settle behaves like a client until the group is stable with size
// members: it rebalances, then heartbeats, and rebalances again whenever
// told to. It is safe to call from any goroutine (one per consumer).
func (m *consumer) settle(ctx context.Context, topic string, partitions int32, size int) error {
	for {
		if _, err := m.tryRebalance(ctx, topic, partitions); err != nil {
			return err
		}
		for {
			switch c := m.heartbeat(); c {
			case 0:
			case kerr.RebalanceInProgress.Code:
			default:
				return fmt.Errorf("heartbeat of %s: %w", m.id, code(c))
			}
			req := kmsg.NewPtrDescribeGroupsRequest()
			req.Groups = []string{m.group}
			d := m.h.c.DescribeGroups(ctx, req).Groups[0]
			if d.State == "Stable" && len(d.Members) == size && m.heartbeat() == 0 {
				return nil
			}
			if m.heartbeat() == kerr.RebalanceInProgress.Code {
				break
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(5 * time.Millisecond):
			}
		}
	}
}

// form builds a group of new members deterministically, as it forms with
// no initial delay: the first member joins alone, the others join and wait
// for it, and its rejoin completes one generation with all of them. It
// returns each member's partitions of topic.
func form(t testing.TB, topic string, partitions int32, ms ...*consumer) [][]int32 {
	t.Helper()
	ctx := testCtx(t)
	if len(ms) == 1 {
		ps, err := ms[0].tryRebalance(ctx, topic, partitions)
		require.NoError(t, err)
		return [][]int32{ps}
	}
	require.NoError(t, ms[0].joinGroup(ctx))
	type result struct {
		ps  []int32
		err error
	}
	done := make(chan struct{})
	rest := make([]result, len(ms)-1)
	go func() {
		defer close(done)
		rest = parallel(len(ms)-1, func(i int) result {
			ps, err := ms[i+1].tryRebalance(ctx, topic, partitions)
			return result{ps, err}
		})
	}()
	eventually(t, func() error {
		if d := describe(t, ms[0].h.c, ms[0].group); len(d.Members) != len(ms) || d.State != "PreparingRebalance" {
			return fmt.Errorf("group %s: %d members, %s", ms[0].group, len(d.Members), d.State)
		}
		return nil
	})
	first, err := ms[0].tryRebalance(ctx, topic, partitions)
	require.NoError(t, err)
	<-done
	out := [][]int32{first}
	for _, r := range rest {
		require.NoError(t, r.err)
		out = append(out, r.ps)
	}
	return out
}

// rejoinAll rebalances members that were told to rejoin, concurrently.
func rejoinAll(t testing.TB, topic string, partitions int32, ms ...*consumer) [][]int32 {
	t.Helper()
	ctx := testCtx(t)
	type result struct {
		ps  []int32
		err error
	}
	rs := parallel(len(ms), func(i int) result {
		ps, err := ms[i].tryRebalance(ctx, topic, partitions)
		return result{ps, err}
	})
	var out [][]int32
	for _, r := range rs {
		require.NoError(t, r.err)
		out = append(out, r.ps)
	}
	return out
}

// requirePartitioned checks that owners split 0..n-1 with no overlap.
func requirePartitioned(t testing.TB, n int32, owners [][]int32) {
	t.Helper()
	seen := make(map[int32]int)
	for _, ps := range owners {
		for _, p := range ps {
			seen[p]++
		}
	}
	require.Len(t, seen, int(n), "owners %v", owners)
	for p := range n {
		require.Equal(t, 1, seen[p], "partition %d owners %v", p, owners)
	}
}

func (m *consumer) rebalanceGroup(t testing.TB, topic string, partitions int32) []int32 {
	t.Helper()
	ps, err := m.tryRebalance(testCtx(t), topic, partitions)
	require.NoError(t, err)
	return ps
}

// rangeAssign splits partitions of topic over the members that subscribe
// to it, like Kafka's range assignor.
func rangeAssign(members []kmsg.JoinGroupResponseMember, topic string, partitions int32) (map[string][]byte, error) {
	var ids []string
	for _, m := range members {
		var meta kmsg.ConsumerMemberMetadata
		if err := meta.ReadFrom(m.ProtocolMetadata); err != nil {
			return nil, fmt.Errorf("member %s metadata: %w", m.MemberID, err)
		}
		if slices.Contains(meta.Topics, topic) {
			ids = append(ids, m.MemberID)
		}
	}
	slices.Sort(ids)
	out := make(map[string][]byte, len(members))
	for _, m := range members {
		out[m.MemberID] = assignment(topic)
	}
	n := int32(len(ids))
	for i, id := range ids {
		i := int32(i)
		per, extra := partitions/n, partitions%n
		start := i*per + min(i, extra)
		count := per
		if i < extra {
			count++
		}
		var ps []int32
		for p := start; p < start+count; p++ {
			ps = append(ps, p)
		}
		out[id] = assignment(topic, ps...)
	}
	return out, nil
}

func assignment(topic string, partitions ...int32) []byte {
	a := kmsg.NewConsumerMemberAssignment()
	if len(partitions) > 0 {
		a.Topics = []kmsg.ConsumerMemberAssignmentTopic{{Topic: topic, Partitions: partitions}}
	}
	return a.AppendTo(nil)
}

func owned(b []byte, topic string) ([]int32, error) {
	var a kmsg.ConsumerMemberAssignment
	if err := a.ReadFrom(b); err != nil {
		return nil, fmt.Errorf("assignment: %w", err)
	}
	var out []int32
	for _, at := range a.Topics {
		if at.Topic == topic {
			out = append(out, at.Partitions...)
		}
	}
	return out, nil
}

func commitOffset(c *Coordinator, group string, generation int32, memberID string, instance *string, topic string, partition int32, offset int64) int16 {
	req := kmsg.NewPtrOffsetCommitRequest()
	req.Version = 8
	req.Group, req.Generation, req.MemberID, req.InstanceID = group, generation, memberID, instance
	p := kmsg.NewOffsetCommitRequestTopicPartition()
	p.Partition, p.Offset, p.LeaderEpoch, p.Metadata = partition, offset, 3, new(fmt.Sprintf("m%d", offset))
	req.Topics = []kmsg.OffsetCommitRequestTopic{{Topic: topic, Partitions: []kmsg.OffsetCommitRequestTopicPartition{p}}}
	return c.OffsetCommit(context.Background(), req).Topics[0].Partitions[0].ErrorCode
}

// committed fetches a group's committed offset with OffsetFetch v5.
func committed(t testing.TB, c *Coordinator, group, topic string, partition int32) int64 {
	t.Helper()
	req := kmsg.NewPtrOffsetFetchRequest()
	req.Version = 5
	req.Group = group
	req.Topics = []kmsg.OffsetFetchRequestTopic{{Topic: topic, Partitions: []int32{partition}}}
	resp := c.OffsetFetch(context.Background(), req)
	require.NoError(t, code(resp.ErrorCode))
	p := resp.Topics[0].Partitions[0]
	require.NoError(t, code(p.ErrorCode))
	return p.Offset
}

// describe returns the description of one group (DescribeGroups v5).
func describe(t testing.TB, c *Coordinator, group string) kmsg.DescribeGroupsResponseGroup {
	t.Helper()
	req := kmsg.NewPtrDescribeGroupsRequest()
	req.Version = 5
	req.Groups = []string{group}
	resp := c.DescribeGroups(context.Background(), req)
	require.Len(t, resp.Groups, 1)
	return resp.Groups[0]
}

// groupState returns the group's state as DescribeGroups shows it.
func groupState(t testing.TB, c *Coordinator, group string) string {
	t.Helper()
	return describe(t, c, group).State
}

// parallel runs fn(i) for i in [0, n) in goroutines and waits for all.
func parallel[T any](n int, fn func(i int) T) []T {
	out := make([]T, n)
	done := make(chan struct{})
	for i := range n {
		go func() {
			defer func() { done <- struct{}{} }()
			out[i] = fn(i)
		}()
	}
	for range n {
		<-done
	}
	return out
}

// peek returns the group's state object (white-box tests), nil if none.
func peek(c *Coordinator, id string) *group {
	g, s, _ := c.lookup(id, false)
	if s != nil {
		s.exit()
	}
	return g
}

// fire makes one of the group's pending timers go off now, as if its time
// had come: tests of timeouts need not wait for them.
func fire(t testing.TB, c *Coordinator, id string, timer func(*group) *time.Timer) {
	t.Helper()
	g := peek(c, id)
	require.NotNil(t, g)
	g.mu.Lock()
	defer g.mu.Unlock()
	tm := timer(g)
	require.NotNil(t, tm, "no timer pending")
	tm.Reset(0)
}

// awaitingJoin reports whether n members of the group wait in a join.
func awaitingJoin(c *Coordinator, id string, n int) error {
	g := peek(c, id)
	if g == nil {
		return fmt.Errorf("no group %s", id)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.joined != n || g.state != statePreparingRebalance {
		return fmt.Errorf("group %s: %v, %d of %d members joined", id, g.state, g.joined, len(g.members))
	}
	return nil
}
