package broker_test

// Deleting a topic deletes every group's committed offsets of it, as in
// Kafka (issue #14): a topic created again under the same name is read from
// its start by a group that read the old one, with each client, across a
// broker restart; a group keeps its offsets of the topics not deleted; and
// OffsetFetch answers offset -1 with no error for the deleted partitions at
// every version.

import (
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"syscall"
	"testing"

	"github.com/IBM/sarama"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kspring/kspring/broker"
	"github.com/kspring/kspring/broker/internal/cluster"
)

// produceKeyed produces n records keyed prefix0..prefix(n-1) to topic
// (spread over its partitions by key) and enters them in ledger.
func produceKeyed(t *testing.T, addr, topic, prefix string, n int, ledger *groupLedger) {
	t.Helper()
	recs := make([]*kgo.Record, n)
	for i := range recs {
		k := fmt.Sprintf("%s%d", prefix, i)
		recs[i] = &kgo.Record{Topic: topic, Key: []byte(k), Value: []byte(k)}
	}
	ledger.addProduced(produceSync(t, newKgo(t, addr), recs...))
}

// groupListed returns the groups ListGroups shows.
func groupListed(t *testing.T, adm *kadm.Client) []string {
	t.Helper()
	ls, err := adm.ListGroups(testCtx(t))
	require.NoError(t, err)
	return slices.Sorted(maps.Keys(ls))
}

// TestDeletedTopicIsReadFromItsStartWhenCreatedAgain is issue #14 as a
// user meets it: a group reads and commits a topic of 3 partitions; the
// topic is deleted, the broker restarts, the topic is created again with
// new records; the group, with auto.offset.reset=earliest, reads every new
// record from offset 0. With the old topic's offsets kept, it would resume
// at them and skip (or wait for) records.
func TestDeletedTopicIsReadFromItsStartWhenCreatedAgain(t *testing.T) {
	t.Parallel()
	const (
		topic      = "orders"
		group      = "billing"
		partitions = 3
		n          = 100
	)
	// consume starts the client's member of group on topic, processing
	// into ledger; stop makes it leave.
	type consume func(t *testing.T, addr string, ledger *groupLedger) (stop func())
	saramaAt := func(v sarama.KafkaVersion) consume {
		return func(t *testing.T, addr string, ledger *groupLedger) func() {
			m := startGroupSarama(t, groupSpec{addr: addr, group: group, topic: topic, name: "sarama", session: groupLongSession,
				ledger: ledger, owners: newGroupOwners()}, v, sarama.NewBalanceStrategyRange())
			return func() { m.leave(); groupNoErrors(t, m) }
		}
	}
	for _, tc := range []struct {
		name    string
		consume consume
		// deleteTopic deletes the topic with the client's own admin
		// API, if it has one.
		deleteTopic func(t *testing.T, b *broker.Broker, topic string)
	}{
		{"sarama-0.11.0.2", saramaAt(sarama.V0_11_0_2), saramaDelete(sarama.V0_11_0_2)},
		{"sarama-default", saramaAt(sarama.DefaultVersion), saramaDelete(sarama.DefaultVersion)},
		{"franz-go", func(t *testing.T, addr string, ledger *groupLedger) func() {
			m := startGroupKgo(t, groupSpec{addr: addr, group: group, topic: topic, name: "kgo", session: groupLongSession,
				ledger: ledger, owners: newGroupOwners()})
			return func() { m.leave(); groupNoErrors(t, m) }
		}, kadmDelete},
		{"kcat", func(t *testing.T, addr string, ledger *groupLedger) func() {
			k := startGroupKcat(t, addr, group, topic, "kcat", ledger) // auto.offset.reset=earliest
			return func() { k.stop(syscall.SIGTERM) }
		}, kadmDelete},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// read produces n records and has the client read them all
			// and commit them, then leave.
			read := func(addr, prefix string) {
				t.Helper()
				ledger := newGroupLedger()
				produceKeyed(t, addr, topic, prefix, n, ledger)
				stop := tc.consume(t, addr, ledger)
				ledger.awaitAll(t)
				groupAwaitCommittedToEnd(t, kadm.NewClient(newKgo(t, addr)), group, topic)
				stop()
				ledger.requireExactlyOnce(t)
			}

			b := groupStartBroker(t)
			createTopic(t, b.Addr(), topic, partitions, nil)
			read(b.Addr(), "old-")
			tc.deleteTopic(t, b, topic)

			b = restart(t, b)
			adm := kadm.NewClient(newKgo(t, b.Addr()))
			require.Empty(t, groupCommitted(t, adm, group, topic), "offsets of the deleted topic after a restart")
			require.NotContains(t, groupListed(t, adm), group, "an empty group left without offsets is removed")

			createTopic(t, b.Addr(), topic, partitions, nil)
			read(b.Addr(), "new-") // every new record, from offset 0
		})
	}
}

// saramaDelete deletes a topic with sarama's ClusterAdmin at version v.
func saramaDelete(v sarama.KafkaVersion) func(t *testing.T, b *broker.Broker, topic string) {
	return func(t *testing.T, b *broker.Broker, topic string) {
		t.Helper()
		require.NoError(t, adminSarama(t, b, v).DeleteTopic(topic))
	}
}

// kadmDelete deletes a topic with franz-go's admin client.
func kadmDelete(t *testing.T, b *broker.Broker, topic string) {
	t.Helper()
	kadmDeleteTopic(t, kadm.NewClient(newKgo(t, b.Addr())), topic)
}

// TestDeleteTopicKeepsOtherTopicsOffsets: a group with offsets on two
// topics keeps those of the one not deleted; a group with offsets only on
// the deleted one is removed; OffsetFetch of a deleted partition answers
// offset -1 and no error at every version, before and after a restart and
// once the topic exists again.
func TestDeleteTopicKeepsOtherTopicsOffsets(t *testing.T) {
	t.Parallel()
	const gone, kept = "gone", "kept"
	b := groupStartBroker(t)
	createTopic(t, b.Addr(), gone, 2, nil)
	createTopic(t, b.Addr(), kept, 1, nil)
	adm := kadm.NewClient(newKgo(t, b.Addr()))
	groupCommit(t, adm, "mixed",
		kadm.Offset{Topic: gone, Partition: 0, At: 5},
		kadm.Offset{Topic: gone, Partition: 1, At: 6},
		kadm.Offset{Topic: kept, Partition: 0, At: 7, Metadata: "m"})
	groupCommit(t, adm, "only-gone", kadm.Offset{Topic: gone, Partition: 0, At: 8})
	require.Equal(t, []string{"mixed", "only-gone"}, groupListed(t, adm))
	kadmDeleteTopic(t, adm, gone)

	check := func(t *testing.T, addr string) {
		adm := kadm.NewClient(newKgo(t, addr))
		require.Empty(t, groupCommitted(t, adm, "mixed", gone))
		require.Equal(t, map[int32]int64{0: 7}, groupCommitted(t, adm, "mixed", kept))
		require.Equal(t, []string{"mixed"}, groupListed(t, adm))
		c := dialWire(t, addr)
		for v := int16(0); v <= 8; v++ {
			for _, tc := range []struct {
				group, topic string
				partition    int32
				want         int64
			}{
				{"mixed", gone, 0, -1},
				{"mixed", gone, 1, -1},
				{"mixed", kept, 0, 7},
				{"only-gone", gone, 0, -1},
			} {
				got := offsetFetchRaw(t, c, v, tc.group, tc.topic, tc.partition)
				requireCode(t, nil, got.ErrorCode, "OffsetFetch v", v, " ", tc.group, " ", tc.topic, "-", tc.partition)
				require.Equal(t, tc.want, got.Offset, "OffsetFetch v%d %s %s-%d", v, tc.group, tc.topic, tc.partition)
			}
		}
	}
	t.Run("deleted", func(t *testing.T) { check(t, b.Addr()) })
	b = restart(t, b)
	t.Run("after a restart", func(t *testing.T) { check(t, b.Addr()) })
	createTopic(t, b.Addr(), gone, 2, nil)
	t.Run("created again", func(t *testing.T) { check(t, b.Addr()) })
}

// kadmDeleteTopic deletes topic with adm.
func kadmDeleteTopic(t *testing.T, adm *kadm.Client, topic string) {
	t.Helper()
	resp, err := adm.DeleteTopic(testCtx(t), topic)
	require.NoError(t, err)
	require.NoError(t, resp.Err)
}

// offsetFetchRaw fetches one committed offset with OffsetFetch at version
// v (v8+ in the multi-group form) and returns the partition's answer, with
// a group-level error (v2+) in its ErrorCode.
func offsetFetchRaw(t *testing.T, c *wireConn, v int16, group, topic string, partition int32) kmsg.OffsetFetchResponseTopicPartition {
	t.Helper()
	req := kmsg.NewPtrOffsetFetchRequest()
	req.SetVersion(v)
	if v >= 8 {
		rg := kmsg.NewOffsetFetchRequestGroup()
		rg.Group = group
		rg.Topics = []kmsg.OffsetFetchRequestGroupTopic{{Topic: topic, Partitions: []int32{partition}}}
		req.Groups = []kmsg.OffsetFetchRequestGroup{rg}
		resp := c.do(req).(*kmsg.OffsetFetchResponse)
		require.Len(t, resp.Groups, 1)
		g := resp.Groups[0]
		if g.ErrorCode != 0 {
			return kmsg.OffsetFetchResponseTopicPartition{ErrorCode: g.ErrorCode}
		}
		require.Len(t, g.Topics, 1)
		require.Len(t, g.Topics[0].Partitions, 1)
		p := g.Topics[0].Partitions[0]
		return kmsg.OffsetFetchResponseTopicPartition{Partition: p.Partition, Offset: p.Offset, LeaderEpoch: p.LeaderEpoch, Metadata: p.Metadata, ErrorCode: p.ErrorCode}
	}
	req.Group = group
	req.Topics = []kmsg.OffsetFetchRequestTopic{{Topic: topic, Partitions: []int32{partition}}}
	resp := c.do(req).(*kmsg.OffsetFetchResponse)
	if resp.ErrorCode != 0 {
		return kmsg.OffsetFetchResponseTopicPartition{ErrorCode: resp.ErrorCode}
	}
	require.Len(t, resp.Topics, 1)
	require.Len(t, resp.Topics[0].Partitions, 1)
	return resp.Topics[0].Partitions[0]
}

// TestTopicDeletedWhileDownLosesOffsets: partitions removed other than by
// DeleteTopics, here a topic gone from the metadata while the broker was
// down, lose their committed offsets when the broker starts, with
// tombstones, so that they stay gone.
func TestTopicDeletedWhileDownLosesOffsets(t *testing.T) {
	t.Parallel()
	const gone, kept = "gone", "kept"
	b := groupStartBroker(t)
	createTopic(t, b.Addr(), gone, 2, nil)
	createTopic(t, b.Addr(), kept, 1, nil)
	adm := kadm.NewClient(newKgo(t, b.Addr()))
	groupCommit(t, adm, "mixed",
		kadm.Offset{Topic: gone, Partition: 1, At: 5},
		kadm.Offset{Topic: kept, Partition: 0, At: 7})
	groupCommit(t, adm, "only-gone", kadm.Offset{Topic: gone, Partition: 0, At: 8})
	cfg := b.Config()
	closeBroker(t, b)

	// Delete the topic behind the broker's back, through its metadata log.
	meta, err := cluster.OpenNode(cluster.NodeConfig{NodeID: cfg.NodeID, Dir: filepath.Join(cfg.LogDirs[0], "__cluster_metadata-0")})
	require.NoError(t, err)
	require.NoError(t, meta.WaitController(testCtx(t)))
	require.NoError(t, meta.Barrier(testCtx(t)))
	_, err = meta.DeleteTopic(testCtx(t), gone)
	require.NoError(t, err)
	require.NoError(t, meta.Close())

	for _, when := range []string{"first start", "second start"} {
		t.Run(when, func(t *testing.T) {
			b = startWith(t, cfg)
			adm := kadm.NewClient(newKgo(t, b.Addr()))
			require.Empty(t, groupCommitted(t, adm, "mixed", gone))
			require.Equal(t, map[int32]int64{0: 7}, groupCommitted(t, adm, "mixed", kept))
			require.Equal(t, []string{"mixed"}, groupListed(t, adm))
			closeBroker(t, b)
		})
	}
}
