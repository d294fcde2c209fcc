package group

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestSimpleCommits(t *testing.T) {
	h := newHarness(t, testConfig())
	form(t, "t", 1, newConsumer(h, "managed", "t"))

	for _, tc := range []struct {
		name       string
		group      string
		generation int32
		member     string
		want       *kerr.Error
	}{
		{"new offsets-only group", "tools", -1, "", nil},
		{"again", "tools", -1, "", nil},
		{"empty group id is a group too", "", -1, "", nil},
		{"generation of an unknown group", "unknown", 3, "m", kerr.IllegalGeneration},
		{"group with members", "managed", -1, "", kerr.UnknownMemberID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := commitOffset(h.c, tc.group, tc.generation, tc.member, nil, "t", 0, 42)
			if tc.want == nil {
				require.NoError(t, code(got))
				require.Equal(t, int64(42), committed(t, h.c, tc.group, "t", 0))
				return
			}
			require.Equal(t, tc.want.Code, got, "got %v", code(got))
		})
	}
	d := describe(t, h.c, "tools")
	require.Equal(t, "Empty", d.State)
	require.Empty(t, d.ProtocolType)
	require.Equal(t, int64(-1), committed(t, h.c, "unknown", "t", 0))
}

func TestOffsetCommitFieldsByVersion(t *testing.T) {
	topicID := [16]byte{1, 2, 3}
	h := newHarness(t, testConfig(), WithTopicIDs(staticTopics{"ids": topicID}))
	c := h.c
	commit := func(version int16, fill func(*kmsg.OffsetCommitRequest, *kmsg.OffsetCommitRequestTopicPartition)) int16 {
		req := kmsg.NewPtrOffsetCommitRequest()
		req.Version = version
		req.Group = "g"
		p := kmsg.NewOffsetCommitRequestTopicPartition()
		p.Partition, p.Offset = 0, 7
		req.Topics = []kmsg.OffsetCommitRequestTopic{{Topic: "t"}}
		fill(req, &p)
		req.Topics[0].Partitions = []kmsg.OffsetCommitRequestTopicPartition{p}
		resp := c.OffsetCommit(context.Background(), req)
		require.Equal(t, version, resp.Version)
		return resp.Topics[0].Partitions[0].ErrorCode
	}
	fetch := func(topic string) kmsg.OffsetFetchResponseTopicPartition {
		req := kmsg.NewPtrOffsetFetchRequest()
		req.Version = 6
		req.Group = "g"
		req.Topics = []kmsg.OffsetFetchRequestTopic{{Topic: topic, Partitions: []int32{0}}}
		return c.OffsetFetch(context.Background(), req).Topics[0].Partitions[0]
	}

	// v0: no generation, member or epoch.
	require.NoError(t, code(commit(0, func(_ *kmsg.OffsetCommitRequest, p *kmsg.OffsetCommitRequestTopicPartition) {
		p.Metadata = new("v0")
	})))
	got := fetch("t")
	require.Equal(t, int64(7), got.Offset)
	require.Equal(t, "v0", *got.Metadata)
	require.Equal(t, int32(-1), got.LeaderEpoch)

	// v6+: leader epoch round trip.
	require.NoError(t, code(commit(6, func(r *kmsg.OffsetCommitRequest, p *kmsg.OffsetCommitRequestTopicPartition) {
		r.Topics[0].Topic = "epochs"
		p.LeaderEpoch, p.Offset = 5, 9
	})))
	got = fetch("epochs")
	require.Equal(t, int64(9), got.Offset)
	require.Equal(t, int32(5), got.LeaderEpoch)
	require.Empty(t, *got.Metadata)

	// Metadata over offset.metadata.max.bytes.
	big := string(make([]byte, DefaultOffsetMetadataMaxBytes+1))
	require.Equal(t, kerr.OffsetMetadataTooLarge.Code, commit(8, func(_ *kmsg.OffsetCommitRequest, p *kmsg.OffsetCommitRequestTopicPartition) {
		p.Metadata = &big
	}))

	// v2-4 retention: stored with an expire timestamp (value version 1).
	require.NoError(t, code(commit(2, func(r *kmsg.OffsetCommitRequest, _ *kmsg.OffsetCommitRequestTopicPartition) {
		r.Topics[0].Topic, r.RetentionTimeMillis = "retained", 60_000
	})))
	g := peek(c, "g")
	g.mu.Lock()
	o := g.offsets[topicPartition{"retained", 0}]
	g.mu.Unlock()
	require.InDelta(t, o.commitMillis+60_000, o.expireMillis, 1)

	// v10 names topics by ID.
	require.NoError(t, code(commit(10, func(r *kmsg.OffsetCommitRequest, _ *kmsg.OffsetCommitRequestTopicPartition) {
		r.Topics[0].Topic, r.Topics[0].TopicID = "", topicID
	})))
	require.Equal(t, int64(7), fetch("ids").Offset)
	require.Equal(t, kerr.UnknownTopicID.Code, commit(10, func(r *kmsg.OffsetCommitRequest, _ *kmsg.OffsetCommitRequestTopicPartition) {
		r.Topics[0].Topic, r.Topics[0].TopicID = "", [16]byte{9}
	}))
}

type staticTopics map[string][16]byte

func (s staticTopics) TopicName(id [16]byte) (string, bool) {
	for name, tid := range s {
		if tid == id {
			return name, true
		}
	}
	return "", false
}

func (s staticTopics) TopicID(name string) ([16]byte, bool) {
	id, ok := s[name]
	return id, ok
}

func TestOffsetFetchByVersion(t *testing.T) {
	topicID := [16]byte{7}
	h := newHarness(t, testConfig(), WithTopicIDs(staticTopics{"a": topicID}))
	for _, c := range []struct {
		group, topic string
		partition    int32
		offset       int64
	}{{"g", "a", 0, 10}, {"g", "a", 1, 11}, {"g", "b", 0, 20}, {"h", "a", 0, 30}} {
		require.NoError(t, code(commitOffset(h.c, c.group, -1, "", nil, c.topic, c.partition, c.offset)))
	}

	t.Run("v1 asks per partition", func(t *testing.T) {
		req := kmsg.NewPtrOffsetFetchRequest()
		req.Version = 1
		req.Group = "g"
		req.Topics = []kmsg.OffsetFetchRequestTopic{{Topic: "a", Partitions: []int32{1, 5}}}
		resp := h.c.OffsetFetch(context.Background(), req)
		require.Len(t, resp.Topics, 1)
		ps := resp.Topics[0].Partitions
		require.Equal(t, int64(11), ps[0].Offset)
		require.Equal(t, "m11", *ps[0].Metadata)
		require.Equal(t, int64(-1), ps[1].Offset, "never committed")
	})
	t.Run("v5 null topics fetches all", func(t *testing.T) {
		req := kmsg.NewPtrOffsetFetchRequest()
		req.Version = 5
		req.Group = "g"
		resp := h.c.OffsetFetch(context.Background(), req)
		require.NoError(t, code(resp.ErrorCode))
		require.Len(t, resp.Topics, 2)
		require.Equal(t, "a", resp.Topics[0].Topic)
		require.Equal(t, []int64{10, 11}, []int64{resp.Topics[0].Partitions[0].Offset, resp.Topics[0].Partitions[1].Offset})
		require.Equal(t, int32(3), resp.Topics[0].Partitions[0].LeaderEpoch)
		require.Equal(t, "b", resp.Topics[1].Topic)
	})
	t.Run("v7 require stable has nothing pending", func(t *testing.T) {
		req := kmsg.NewPtrOffsetFetchRequest()
		req.Version = 7
		req.Group = "g"
		req.RequireStable = true
		req.Topics = []kmsg.OffsetFetchRequestTopic{{Topic: "b", Partitions: []int32{0}}}
		resp := h.c.OffsetFetch(context.Background(), req)
		require.NoError(t, code(resp.Topics[0].Partitions[0].ErrorCode))
		require.Equal(t, int64(20), resp.Topics[0].Partitions[0].Offset)
	})
	t.Run("v8 several groups", func(t *testing.T) {
		req := kmsg.NewPtrOffsetFetchRequest()
		req.Version = 8
		req.Groups = []kmsg.OffsetFetchRequestGroup{
			{Group: "g", Topics: []kmsg.OffsetFetchRequestGroupTopic{{Topic: "b", Partitions: []int32{0}}}},
			{Group: "h"}, // all
			{Group: "none"},
		}
		resp := h.c.OffsetFetch(context.Background(), req)
		require.Len(t, resp.Groups, 3)
		require.Equal(t, int64(20), resp.Groups[0].Topics[0].Partitions[0].Offset)
		require.Equal(t, "h", resp.Groups[1].Group)
		require.Equal(t, int64(30), resp.Groups[1].Topics[0].Partitions[0].Offset)
		require.Empty(t, resp.Groups[2].Topics)
		require.Nil(t, resp.Topics)
	})
	t.Run("v10 topic ids", func(t *testing.T) {
		req := kmsg.NewPtrOffsetFetchRequest()
		req.Version = 10
		req.Groups = []kmsg.OffsetFetchRequestGroup{
			{Group: "g", Topics: []kmsg.OffsetFetchRequestGroupTopic{{TopicID: topicID, Partitions: []int32{0}}, {TopicID: [16]byte{1}, Partitions: []int32{0}}}},
			{Group: "g"},
		}
		resp := h.c.OffsetFetch(context.Background(), req)
		require.Equal(t, int64(10), resp.Groups[0].Topics[0].Partitions[0].Offset)
		require.Equal(t, kerr.UnknownTopicID.Code, resp.Groups[0].Topics[1].Partitions[0].ErrorCode)
		require.Len(t, resp.Groups[1].Topics, 1, "b has no topic id")
		require.Equal(t, topicID, resp.Groups[1].Topics[0].TopicID)
	})
}

func TestOffsetFetchWhileLoading(t *testing.T) {
	h := &harness{t: t, cfg: testConfig(), store: newLogStore(t.TempDir())}
	t.Cleanup(func() { require.NoError(t, h.store.reopen()) })
	gate := make(chan struct{})
	h.store.loadGate = gate
	c := New(h.cfg, h.store, nil)
	t.Cleanup(func() { _ = c.Close() })
	h.c = c
	started := make(chan error, 1)
	go func() { started <- c.Start(context.Background()) }()

	for version, check := range map[int16]func(*kmsg.OffsetFetchResponse){
		1: func(r *kmsg.OffsetFetchResponse) {
			require.Equal(t, kerr.CoordinatorLoadInProgress.Code, r.Topics[0].Partitions[0].ErrorCode, "v0-1 report it per partition")
		},
		5: func(r *kmsg.OffsetFetchResponse) {
			require.Equal(t, kerr.CoordinatorLoadInProgress.Code, r.ErrorCode)
		},
		8: func(r *kmsg.OffsetFetchResponse) {
			require.Equal(t, kerr.CoordinatorLoadInProgress.Code, r.Groups[0].ErrorCode)
		},
	} {
		req := kmsg.NewPtrOffsetFetchRequest()
		req.Version = version
		req.Group = "g"
		req.Topics = []kmsg.OffsetFetchRequestTopic{{Topic: "t", Partitions: []int32{0}}}
		req.Groups = []kmsg.OffsetFetchRequestGroup{{Group: "g"}}
		check(c.OffsetFetch(context.Background(), req))
	}
	require.Equal(t, kerr.CoordinatorLoadInProgress.Code, commitOffset(c, "g", -1, "", nil, "t", 0, 1))
	m := newConsumer(h, "g", "t")
	require.Equal(t, kerr.CoordinatorLoadInProgress.Code, m.join(testCtx(t)).ErrorCode)
	lg := kmsg.NewPtrListGroupsRequest()
	require.Equal(t, kerr.CoordinatorLoadInProgress.Code, c.ListGroups(context.Background(), lg).ErrorCode)

	close(gate)
	require.NoError(t, <-started)
	require.NoError(t, code(commitOffset(c, "g", -1, "", nil, "t", 0, 1)))
}

func TestOffsetsAndGenerationsSurviveRestart(t *testing.T) {
	h := newHarness(t, testConfig())
	a, b := newConsumer(h, "billing", "orders"), newConsumer(h, "billing", "orders").withInstance("b-1")
	owners := form(t, "orders", 4, a, b)
	require.NoError(t, code(a.commit("orders", owners[0][0], 5)))
	require.NoError(t, code(b.commit("orders", owners[1][0], 7)))
	require.NoError(t, code(commitOffset(h.c, "tools", -1, "", nil, "orders", 3, 100)))
	gen := a.generation

	h.restart()
	require.Equal(t, int64(5), committed(t, h.c, "billing", "orders", owners[0][0]))
	require.Equal(t, int64(7), committed(t, h.c, "billing", "orders", owners[1][0]))
	require.Equal(t, int64(100), committed(t, h.c, "tools", "orders", 3))
	d := describe(t, h.c, "billing")
	require.Equal(t, "Stable", d.State)
	require.Equal(t, "range", d.Protocol)
	require.Len(t, d.Members, 2)
	require.Equal(t, "b-1", *d.Members[1].InstanceID)

	// The members carry on in their generation.
	require.NoError(t, code(a.heartbeat()))
	require.NoError(t, code(b.heartbeat()))
	require.NoError(t, code(a.commit("orders", owners[0][0], 6)))
	sync := a.sync(testCtx(t), nil)
	require.NoError(t, code(sync.ErrorCode))
	ps, err := owned(sync.MemberAssignment, "orders")
	require.NoError(t, err)
	require.Equal(t, owners[0], ps)

	// Everyone leaves; the empty group keeps its generation.
	require.NoError(t, code(a.leave()))
	require.NoError(t, code(b.leave()))
	require.Equal(t, "Empty", groupState(t, h.c, "billing"))
	h.restart()
	require.Equal(t, "Empty", groupState(t, h.c, "billing"))
	require.Equal(t, int64(6), committed(t, h.c, "billing", "orders", owners[0][0]))
	c := newConsumer(h, "billing", "orders")
	c.rebalanceGroup(t, "orders", 4)
	require.Greater(t, c.generation, gen+1, "generations continue after a restart")
}

func TestRecordsUseKafkaSchemas(t *testing.T) {
	h := newHarness(t, testConfig())
	m := newConsumer(h, "g", "t").withInstance("i")
	m.rebalanceGroup(t, "t", 1)
	require.NoError(t, code(m.commit("t", 0, 42)))

	recs, err := h.store.records(h.c.PartitionFor("g"))
	require.NoError(t, err)
	var sawGroup, sawOffset bool
	for _, r := range recs {
		kind, err := kindOf(r.Key)
		require.NoError(t, err)
		switch kind {
		case kindGroup:
			var k kmsg.GroupMetadataKey
			require.NoError(t, k.ReadFrom(r.Key))
			require.Equal(t, int16(2), k.Version)
			require.Equal(t, "g", k.Group)
			var v kmsg.GroupMetadataValue
			require.NoError(t, v.ReadFrom(r.Value))
			require.Equal(t, int16(3), v.Version)
			require.Equal(t, "consumer", v.ProtocolType)
			require.Equal(t, int32(1), v.Generation)
			require.Equal(t, "range", *v.Protocol)
			require.Equal(t, m.id, *v.Leader)
			require.Len(t, v.Members, 1)
			require.Equal(t, "i", *v.Members[0].InstanceID)
			require.Equal(t, int32(30_000), v.Members[0].SessionTimeoutMillis)
			require.Equal(t, m.protocols[0].Metadata, v.Members[0].Subscription)
			require.Equal(t, assignment("t", 0), v.Members[0].Assignment)
			sawGroup = true
		case kindOffset:
			var k kmsg.OffsetCommitKey
			require.NoError(t, k.ReadFrom(r.Key))
			require.Equal(t, kmsg.OffsetCommitKey{Version: 1, Group: "g", Topic: "t", Partition: 0}, k)
			var v kmsg.OffsetCommitValue
			require.NoError(t, v.ReadFrom(r.Value))
			require.Equal(t, int16(3), v.Version)
			require.Equal(t, int64(42), v.Offset)
			require.Equal(t, int32(3), v.LeaderEpoch)
			require.Equal(t, "m42", v.Metadata)
			require.InDelta(t, time.Now().UnixMilli(), v.CommitTimestamp, float64(time.Minute.Milliseconds()))
			sawOffset = true
		}
	}
	require.True(t, sawGroup && sawOffset, "records %d", len(recs))
}

func TestStoreFailures(t *testing.T) {
	h := newHarness(t, testConfig())
	m := newConsumer(h, "g", "t")
	m.rebalanceGroup(t, "t", 1)
	require.NoError(t, code(m.commit("t", 0, 1)))

	for _, tc := range []struct {
		err  error
		want *kerr.Error
	}{
		{kerr.NotLeaderForPartition, kerr.NotCoordinator},
		{kerr.NotEnoughReplicas, kerr.CoordinatorNotAvailable},
		{kerr.MessageTooLarge, kerr.InvalidCommitOffsetSize},
		{context.DeadlineExceeded, kerr.CoordinatorNotAvailable},
	} {
		h.store.setFail(tc.err)
		require.Equal(t, tc.want.Code, m.commit("t", 0, 2), "store error %v", tc.err)
	}
	h.store.setFail(nil)
	require.Equal(t, int64(1), committed(t, h.c, "g", "t", 0), "a failed commit is not applied")

	// A failed assignment write sends the group back to rebalance.
	m2 := newConsumer(h, "g", "t")
	done := make(chan error, 1)
	go func() { done <- m2.joinGroup(testCtx(t)) }()
	eventually(t, func() error {
		if n := len(describe(t, h.c, "g").Members); n != 2 {
			return fmt.Errorf("%d members", n)
		}
		return nil
	})
	require.NoError(t, m.joinGroup(testCtx(t)))
	require.NoError(t, <-done)
	h.store.setFail(kerr.NotLeaderForPartition)
	assign, err := rangeAssign(m.members, "t", 1)
	require.NoError(t, err)
	require.Equal(t, kerr.NotCoordinator.Code, m.sync(testCtx(t), assign).ErrorCode)
	require.Equal(t, kerr.RebalanceInProgress.Code, m2.sync(testCtx(t), nil).ErrorCode)
	h.store.setFail(nil)
	rejoinAll(t, "t", 1, m, m2)
}

func TestCommitTimesOutWithStore(t *testing.T) {
	cfg := testConfig()
	cfg.OffsetsCommitTimeout = 50 * time.Millisecond
	h := newHarness(t, cfg)
	h.store.setAppendGate(make(chan struct{})) // never opens
	require.Equal(t, kerr.CoordinatorNotAvailable.Code, commitOffset(h.c, "g", -1, "", nil, "t", 0, 1))
}

func TestLoadsOlderRecordVersionsAndSkipsBadOnes(t *testing.T) {
	h := newHarness(t, testConfig())
	p := h.c.PartitionFor("old")
	dead := "gone"
	for i := 0; h.c.PartitionFor(dead) != p; i++ {
		dead = fmt.Sprintf("gone-%d", i) // a group in the same partition
	}

	key0 := (&kmsg.OffsetCommitKey{Version: 0, Group: "old", Topic: "t", Partition: 0}).AppendTo(nil)
	val0 := (&kmsg.OffsetCommitValue{Version: 0, Offset: 11, Metadata: "zero", CommitTimestamp: 1}).AppendTo(nil)
	key1 := (&kmsg.OffsetCommitKey{Version: 1, Group: "old", Topic: "t", Partition: 1}).AppendTo(nil)
	val1 := (&kmsg.OffsetCommitValue{Version: 1, Offset: 12, CommitTimestamp: 1, ExpireTimestamp: 99}).AppendTo(nil)
	gv := kmsg.NewGroupMetadataValue()
	gv.Version = 1 // no state timestamp, no instance ids
	gv.ProtocolType, gv.Generation, gv.Protocol, gv.Leader = "consumer", 4, new("range"), new("m1")
	gm := kmsg.NewGroupMetadataValueMember()
	gm.MemberID, gm.ClientID, gm.SessionTimeoutMillis, gm.RebalanceTimeoutMillis = "m1", "c", 30_000, 30_000
	gm.Subscription, gm.Assignment = subscription("t"), assignment("t", 0, 1)
	gv.Members = []kmsg.GroupMetadataValueMember{gm}
	gkey := groupMetadataKey("old")
	require.NoError(t, h.store.Append(context.Background(), p, []Record{
		{Key: key0, Value: val0},
		{Key: key1, Value: val1},
		{Key: gkey, Value: gv.AppendTo(nil)},
		{Key: []byte{0}, Value: []byte("no version")},                  // unreadable key
		{Key: []byte{0, 9, 1, 2}, Value: []byte("future record type")}, // skipped quietly
		{Key: offsetCommitKey("old", "t", 2), Value: []byte{0, 3, 1}},  // unreadable value
		{Key: groupMetadataKey(dead), Value: gv.AppendTo(nil)},         // then tombstoned:
		{Key: groupMetadataKey(dead)},
	}))
	h.restart()

	require.Equal(t, int64(11), committed(t, h.c, "old", "t", 0))
	require.Equal(t, int64(12), committed(t, h.c, "old", "t", 1))
	require.Equal(t, int64(-1), committed(t, h.c, "old", "t", 2))
	d := describe(t, h.c, "old")
	require.Equal(t, "Stable", d.State)
	require.Len(t, d.Members, 1)
	require.Equal(t, assignment("t", 0, 1), d.Members[0].MemberAssignment)
	require.Equal(t, "Dead", groupState(t, h.c, dead))

	// The restored member carries on in generation 4.
	m := newConsumer(h, "old", "t")
	m.id, m.generation = "m1", 4
	require.NoError(t, code(m.heartbeat()))
	g := peek(h.c, "old")
	g.mu.Lock()
	require.Equal(t, int64(99), g.offsets[topicPartition{"t", 1}].expireMillis)
	g.mu.Unlock()
}
