package broker_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"

	"github.com/kspring/kspring/broker"
)

// TestClusterFollowerRefusedByStranger: two clusters on one machine both
// have "orders" on brokers 1 and 2, led by 1 at the same leader epoch. When
// cluster A's leader dies and its address reaches cluster B's leader (a
// reused port), A's follower fetches there by topic id (Fetch v13): B
// answers UNKNOWN_TOPIC_ID, and the follower's log keeps A's records,
// neither extended with B's nor truncated by them.
func TestClusterFollowerRefusedByStranger(t *testing.T) {
	t.Parallel()
	core, logs := observer.New(zapcore.InfoLevel)
	a := startClusterObserved(t, 2, core)
	b := startCluster(t, 2)
	for _, c := range []*broker.Cluster{a, b} {
		createAssigned(t, c, "orders", []int32{1, 2})
	}
	require.Equal(t, leaderEpoch(t, a, "orders"), leaderEpoch(t, b, "orders"), "the same leader epoch in both clusters")
	ours := produceValues(t, a, "ours", 3)
	produceValues(t, b, "theirs", 10)
	eventually(t, func() error {
		if end, err := a.Broker(2).LogEndOffset("orders", 0); err != nil || end != 3 {
			return fmt.Errorf("follower's log end %d (%v), want 3", end, err)
		}
		return nil
	})

	// Broker 1's address now reaches the stranger; killing it closes the
	// follower's connection, so its fetcher dials again. Cluster A keeps
	// its metadata: two voters, one dead, elect nobody. A refusal logged
	// before (a follower may fetch a new topic before its leader knows its
	// id) does not count.
	logs.TakeAll()
	a.Network().Redirect(a.Addr(1), b.Addr(1))
	require.NoError(t, a.Kill(1))
	eventually(t, func() error {
		end, err := a.Broker(2).LogEndOffset("orders", 0)
		require.NoError(t, err)
		require.Equal(t, int64(3), end, "the stranger's log must not reach the follower")
		for _, e := range logs.FilterMessageSnippet("replica fetch refused").All() {
			if err, _ := e.ContextMap()["error"].(string); strings.Contains(err, kerr.UnknownTopicID.Message) &&
				e.ContextMap()["address"] == a.Addr(1) {
				return nil
			}
		}
		return fmt.Errorf("broker 2 was not yet refused by the stranger")
	})
	end, err := a.Broker(2).LogEndOffset("orders", 0)
	require.NoError(t, err)
	require.Equal(t, int64(3), end, "the stranger's log must not reach the follower")

	// Back in its own cluster, the follower still has exactly A's records.
	a.Network().Redirect(a.Addr(1), "")
	require.NoError(t, a.Restart(testCtx(t), 1))
	checkQueue(t, a, "orders", 0, ours)
	end, err = a.Broker(2).LogEndOffset("orders", 0)
	require.NoError(t, err)
	require.Equal(t, int64(3), end)
}

// startClusterObserved is startCluster with the brokers' logs also going
// to core.
func startClusterObserved(t testing.TB, n int, core zapcore.Core) *broker.Cluster {
	t.Helper()
	logger := zaptest.NewLogger(t, zaptest.Level(zapcore.InfoLevel)).
		WithOptions(zap.WrapCore(func(c zapcore.Core) zapcore.Core { return zapcore.NewTee(c, core) }))
	c, err := broker.NewCluster(testCtx(t), n, clusterConfig(), t.TempDir(), broker.WithLogger(logger))
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		if err := c.Close(ctx); err != nil {
			t.Errorf("close cluster: %v", err)
		}
	})
	return c
}

// createAssigned creates a one-partition topic on the given replicas, the
// first its leader.
func createAssigned(t testing.TB, c *broker.Cluster, topic string, replicas []int32) {
	t.Helper()
	req := kmsg.NewPtrCreateTopicsRequest()
	req.TimeoutMillis = int32(waitFor.Milliseconds())
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = topic, -1, -1
	rt.ReplicaAssignment = []kmsg.CreateTopicsRequestTopicReplicaAssignment{{Partition: 0, Replicas: replicas}}
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(testCtx(t), newKgo(t, c.Bootstrap()))
	require.NoError(t, err)
	require.NoError(t, kerr.ErrorForCode(resp.Topics[0].ErrorCode), "create topic %s", topic)
	eventually(t, func() error {
		if l, ok := c.Leader(topic, 0); !ok || l != replicas[0] {
			return fmt.Errorf("%s-0 led by %d, want %d", topic, l, replicas[0])
		}
		return nil
	})
	require.NoError(t, c.SyncMetadata(testCtx(t)))
}

// leaderEpoch returns partition 0's leader epoch as the metadata reports it.
func leaderEpoch(t testing.TB, c *broker.Cluster, topic string) int32 {
	t.Helper()
	md, err := kadm.NewClient(newKgo(t, c.Bootstrap())).Metadata(testCtx(t), topic)
	require.NoError(t, err)
	p, ok := md.Topics[topic].Partitions[0]
	require.True(t, ok, "partition %s-0", topic)
	return p.LeaderEpoch
}

// produceValues produces n records prefix-0... to orders-0 with
// acks=all and returns their values.
func produceValues(t testing.TB, c *broker.Cluster, prefix string, n int) []string {
	t.Helper()
	cl := reliableProducer(t, c, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	var out []string
	for i := range n {
		v := prefix + "-" + strconv.Itoa(i)
		produceSync(t, cl, &kgo.Record{Topic: "orders", Value: []byte(v)})
		out = append(out, v)
	}
	return out
}
