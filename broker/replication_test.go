package broker_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"

	"github.com/kspring/kspring/broker"
	"github.com/kspring/kspring/broker/internal/batch"
)

// clusterConfig is the brokers' config in cluster tests: Kafka's, with the
// timeouts that decide failover shortened so that a test sees several
// failovers in seconds, yet long enough for a shared 2-core machine under
// -race not to fence a live broker.
func clusterConfig(opts ...func(*broker.Config)) broker.Config {
	cfg := broker.DefaultConfig()
	cfg.GroupInitialRebalanceDelayMs = time.Millisecond
	cfg.OffsetsTopicNumPartitions = 3
	cfg.OffsetsTopicReplicationFactor = 3
	cfg.ControllerQuorumElectionTimeoutMs = 500 * time.Millisecond
	cfg.ControllerQuorumFetchTimeoutMs = 500 * time.Millisecond
	cfg.BrokerHeartbeatIntervalMs = 100 * time.Millisecond
	cfg.BrokerSessionTimeoutMs = 1500 * time.Millisecond
	cfg.ReplicaLagTimeMaxMs = 2 * time.Second
	cfg.ReplicaFetchWaitMaxMs = 100 * time.Millisecond
	cfg.ReplicaFetchBackoffMs = 100 * time.Millisecond
	cfg.ControlledShutdownTimeout = 5 * time.Second
	for _, o := range opts {
		o(&cfg)
	}
	return cfg
}

// startCluster starts n brokers in process, closed when the test ends.
func startCluster(t testing.TB, n int, opts ...func(*broker.Config)) *broker.Cluster {
	t.Helper()
	c, err := broker.NewCluster(testCtx(t), n, clusterConfig(opts...), t.TempDir(),
		broker.WithLogger(zaptest.NewLogger(t, zaptest.Level(zapcore.InfoLevel))))
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

// createReplicated creates topic with n partitions of rf replicas.
func createReplicated(t testing.TB, c *broker.Cluster, topic string, n int32, rf int16, configs map[string]string) {
	t.Helper()
	adm := kadm.NewClient(newKgo(t, c.Bootstrap()))
	var cfg map[string]*string
	for k, v := range configs {
		if cfg == nil {
			cfg = map[string]*string{}
		}
		cfg[k] = &v
	}
	resp, err := adm.CreateTopic(testCtx(t), n, rf, cfg, topic)
	require.NoError(t, err)
	require.NoError(t, resp.Err, "create topic %s", topic)
	eventually(t, func() error {
		for p := range n {
			if _, ok := c.Leader(topic, p); !ok {
				return fmt.Errorf("%s-%d has no leader yet", topic, p)
			}
		}
		return nil
	})
	require.NoError(t, c.SyncMetadata(testCtx(t)))
}

// isr returns the ISR of a partition as the cluster's metadata reports it.
func isr(t testing.TB, c *broker.Cluster, topic string, p int32) []int32 {
	t.Helper()
	adm := kadm.NewClient(newKgo(t, c.Bootstrap()))
	md, err := adm.Metadata(testCtx(t), topic)
	require.NoError(t, err)
	pd, ok := md.Topics[topic].Partitions[p]
	require.True(t, ok, "partition %s-%d", topic, p)
	out := slices.Clone(pd.ISR)
	slices.Sort(out)
	return out
}

// reliableProducer is an idempotent acks=all franz-go producer that retries
// through leader changes.
func reliableProducer(t testing.TB, c *broker.Cluster, opts ...kgo.Opt) *kgo.Client {
	return newKgo(t, c.Bootstrap(), append([]kgo.Opt{
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.RecordRetries(1 << 20), // retry until the record timeout
		kgo.RecordDeliveryTimeout(waitFor),
		kgo.RetryBackoffFn(func(int) time.Duration { return 50 * time.Millisecond }),
		kgo.MetadataMinAge(50 * time.Millisecond),
	}, opts...)...)
}

// checkQueue reads every record of topic's partition p and checks it against
// the acknowledged ones as Jepsen's queue checker would: nothing
// acknowledged is lost, nothing is read twice, and offsets rise.
func checkQueue(t testing.TB, c *broker.Cluster, topic string, p int32, acked []string) {
	t.Helper()
	end := int64(len(acked))
	cl := newKgo(t, c.Bootstrap(), kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{
		topic: {p: kgo.NewOffset().AtStart()},
	}), kgo.FetchMaxWait(100*time.Millisecond))
	var got []*kgo.Record
	ctx := testCtx(t)
	for int64(len(got)) < end {
		fs := cl.PollFetches(ctx)
		require.NoError(t, ctx.Err(), "read %d of %d acknowledged records", len(got), end)
		fs.EachError(func(_ string, _ int32, err error) {
			if !kerr.IsRetriable(err) {
				t.Fatalf("fetch: %v", err)
			}
			t.Logf("fetch: %v", err)
		})
		got = append(got, fs.Records()...)
	}
	seen := map[string]int64{}
	last := int64(-1)
	for _, r := range got {
		require.Greater(t, r.Offset, last, "offsets must rise")
		last = r.Offset
		v := string(r.Value)
		if prev, dup := seen[v]; dup {
			t.Fatalf("record %q at offsets %d and %d", v, prev, r.Offset)
		}
		seen[v] = r.Offset
	}
	for _, v := range acked {
		_, ok := seen[v]
		require.True(t, ok, "acknowledged record %q was lost", v)
	}
}

func TestClusterReplicatesToFollowers(t *testing.T) {
	t.Parallel()
	c := startCluster(t, 3)
	createReplicated(t, c, "orders", 3, 3, map[string]string{"min.insync.replicas": "2"})
	cl := reliableProducer(t, c, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	var acked []string
	for i := range 30 {
		v := "order-" + strconv.Itoa(i)
		produceSync(t, cl, &kgo.Record{Topic: "orders", Partition: 0, Value: []byte(v)})
		acked = append(acked, v)
	}
	for p := range int32(3) {
		require.Equal(t, []int32{1, 2, 3}, isr(t, c, "orders", p))
	}
	checkQueue(t, c, "orders", 0, acked)
	// Every replica holds the records: each broker's own log end.
	for _, id := range c.IDs() {
		eventually(t, func() error {
			end, err := c.Broker(id).LogEndOffset("orders", 0)
			if err != nil || end != 30 {
				return fmt.Errorf("broker %d: log end %d (%v), want 30", id, end, err)
			}
			return nil
		})
	}
}

// TestClusterLeaderFailover: acks=all records survive the kill of their
// partition's leader, many times over, with an idempotent producer
// retrying through each election.
func TestClusterLeaderFailover(t *testing.T) {
	t.Parallel()
	c := startCluster(t, 3)
	createReplicated(t, c, "payments", 1, 3, map[string]string{"min.insync.replicas": "2"})
	cl := reliableProducer(t, c, kgo.DefaultProduceTopic("payments"), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	var acked []string
	produce := func(n int) {
		t.Helper()
		for range n {
			v := "payment-" + strconv.Itoa(len(acked))
			produceSync(t, cl, &kgo.Record{Value: []byte(v)})
			acked = append(acked, v)
		}
	}
	produce(20)
	const cycles = 3
	for range cycles {
		leader, ok := c.Leader("payments", 0)
		require.True(t, ok)
		require.NoError(t, c.Kill(leader))
		produce(20) // through the election
		require.NoError(t, c.Restart(testCtx(t), leader))
		eventually(t, func() error {
			if got := isr(t, c, "payments", 0); len(got) != 3 {
				return fmt.Errorf("ISR %v, want all three back", got)
			}
			return nil
		})
	}
	checkQueue(t, c, "payments", 0, acked)
}

// TestClusterNotEnoughReplicas: with two of a partition's three replicas
// down, acks=all writes fail with NOT_ENOUGH_REPLICAS and reads of
// committed records go on; once the brokers are back, the ISR recovers and
// writes resume. Five brokers, so that the metadata quorum outlives the two
// (in combined mode, two of three nodes down is a quorum lost too, and the
// leader could not shrink its ISR: writes would time out instead).
func TestClusterNotEnoughReplicas(t *testing.T) {
	t.Parallel()
	c := startCluster(t, 5)
	createReplicated(t, c, "ledger", 1, 3, map[string]string{"min.insync.replicas": "2"})
	cl := reliableProducer(t, c)
	produceSync(t, cl, &kgo.Record{Topic: "ledger", Value: []byte("before")})
	leader, _ := c.Leader("ledger", 0)
	var down []int32
	for _, id := range isr(t, c, "ledger", 0) {
		if id != leader {
			down = append(down, id)
			require.NoError(t, c.Kill(id))
		}
	}
	// The leader drops them from the ISR once they lag, then refuses.
	raw := newKgo(t, c.Addr(leader), kgo.RequiredAcks(kgo.AllISRAcks()), kgo.RecordRetries(0),
		kgo.DisableIdempotentWrite(), kgo.RecordDeliveryTimeout(5*time.Second))
	eventually(t, func() error {
		err := raw.ProduceSync(testCtx(t), &kgo.Record{Topic: "ledger", Value: []byte("refused")}).FirstErr()
		if errors.Is(err, kerr.NotEnoughReplicas) {
			return nil
		}
		return fmt.Errorf("produce: got %v, want NOT_ENOUGH_REPLICAS", err)
	})
	r := consumeAll(t, c.Addr(leader), "ledger", 1)
	require.Equal(t, "before", string(r[0].Value))

	for _, id := range down {
		require.NoError(t, c.Restart(testCtx(t), id))
	}
	eventually(t, func() error {
		if got := isr(t, c, "ledger", 0); len(got) != 3 {
			return fmt.Errorf("ISR %v, want all three back", got)
		}
		return nil
	})
	produceSync(t, cl, &kgo.Record{Topic: "ledger", Value: []byte("after")})
	recs := consumeAll(t, c.Bootstrap(), "ledger", 2)
	require.Equal(t, "before", string(recs[0].Value))
	require.Equal(t, "after", string(recs[len(recs)-1].Value))
}

// TestClusterControllerFailover: the quorum loses its leader; another
// takes over and metadata changes go on.
func TestClusterControllerFailover(t *testing.T) {
	t.Parallel()
	c := startCluster(t, 3)
	createReplicated(t, c, "before", 1, 3, nil)
	ctrl, ok := c.Controller()
	require.True(t, ok)
	require.NoError(t, c.Kill(ctrl))
	eventually(t, func() error {
		if now, ok := c.Controller(); !ok || now == ctrl {
			return fmt.Errorf("controller %d, %v", now, ok)
		}
		return nil
	})
	createReplicated(t, c, "after", 2, 2, nil)
	// Metadata reaches every broker shortly after the controller commits
	// it, as in Kafka: the broker a client asks may lag for a moment.
	adm := kadm.NewClient(newKgo(t, c.Bootstrap()))
	eventually(t, func() error {
		topics, err := adm.ListTopics(testCtx(t))
		if err != nil || !topics.Has("before") || !topics.Has("after") {
			return fmt.Errorf("topics %v (%v), want before and after", topics.Names(), err)
		}
		return nil
	})
	require.NoError(t, c.Restart(testCtx(t), ctrl))
	eventually(t, func() error {
		if got := isr(t, c, "before", 0); len(got) != 3 {
			return fmt.Errorf("ISR %v, want all three back", got)
		}
		return nil
	})
}

// TestClusterDivergedFollowerTruncates: a leader cut off from its
// followers appends records nobody else has (acks=1), then dies; the new
// leader writes on; the old leader comes back, truncates what diverged
// (DivergingEpoch) and ends with exactly the new leader's log.
func TestClusterDivergedFollowerTruncates(t *testing.T) {
	t.Parallel()
	c := startCluster(t, 3)
	createReplicated(t, c, "events", 1, 3, nil)
	cl := reliableProducer(t, c, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	for i := range 10 {
		produceSync(t, cl, &kgo.Record{Topic: "events", Value: []byte("replicated-" + strconv.Itoa(i))})
	}
	old, _ := c.Leader("events", 0)
	c.Network().Isolate(old, c.IDs()...)
	local := newKgo(t, c.Addr(old), kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite(),
		kgo.RecordPartitioner(kgo.ManualPartitioner()))
	for i := range 5 {
		produceSync(t, local, &kgo.Record{Topic: "events", Value: []byte("local-only-" + strconv.Itoa(i))})
	}
	oldEnd, err := c.Broker(old).LogEndOffset("events", 0)
	require.NoError(t, err)
	require.Equal(t, int64(15), oldEnd, "the local-only records are in the old leader's log")
	require.NoError(t, c.Kill(old))
	c.Network().Heal()
	for i := range 3 {
		produceSync(t, cl, &kgo.Record{Topic: "events", Value: []byte("new-leader-" + strconv.Itoa(i))})
	}
	require.NoError(t, c.Restart(testCtx(t), old))
	eventually(t, func() error {
		for _, id := range c.IDs() {
			end, err := c.Broker(id).LogEndOffset("events", 0)
			if err != nil || end != 13 {
				return fmt.Errorf("broker %d: log end %d (%v), want 13", id, end, err)
			}
		}
		if got := isr(t, c, "events", 0); len(got) != 3 {
			return fmt.Errorf("ISR %v, want all three", got)
		}
		return nil
	})
	var want []string
	for i := range 10 {
		want = append(want, "replicated-"+strconv.Itoa(i))
	}
	for i := range 3 {
		want = append(want, "new-leader-"+strconv.Itoa(i))
	}
	checkQueue(t, c, "events", 0, want)
}

// TestClusterGroupOffsetsSurviveCoordinatorLoss: a group's committed
// offsets live in the replicated __consumer_offsets, so the broker that
// takes over its partition serves them when the coordinator dies.
func TestClusterGroupOffsetsSurviveCoordinatorLoss(t *testing.T) {
	t.Parallel()
	c := startCluster(t, 3)
	createReplicated(t, c, "invoices", 2, 3, nil)
	adm := kadm.NewClient(newKgo(t, c.Bootstrap()))
	offsets := kadm.Offsets{}
	offsets.Add(kadm.Offset{Topic: "invoices", Partition: 0, At: 42, LeaderEpoch: -1})
	offsets.Add(kadm.Offset{Topic: "invoices", Partition: 1, At: 7, LeaderEpoch: -1})
	resp, err := adm.CommitOffsets(testCtx(t), "billing", offsets)
	require.NoError(t, err)
	require.NoError(t, resp.Error())

	coord := adm.FindGroupCoordinators(testCtx(t), "billing")["billing"]
	require.NoError(t, coord.Err)
	id := coord.NodeID
	require.NoError(t, c.Kill(id))
	eventually(t, func() error {
		// A fresh client each time: a client keeps its coordinator until
		// told NOT_COORDINATOR, which a dead broker cannot say.
		cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(c.Bootstrap(), ",")...))
		if err != nil {
			return err
		}
		defer cl.Close()
		adm := kadm.NewClient(cl)
		got, err := adm.FetchOffsets(testCtx(t), "billing")
		if err != nil {
			return err
		}
		if err := got.Error(); err != nil {
			return err
		}
		o0, _ := got.Lookup("invoices", 0)
		o1, _ := got.Lookup("invoices", 1)
		if o0.At != 42 || o1.At != 7 {
			return fmt.Errorf("offsets %d and %d, want 42 and 7", o0.At, o1.At)
		}
		return nil
	})
	now := adm.FindGroupCoordinators(testCtx(t), "billing")["billing"]
	require.NoError(t, now.Err)
	require.NotEqual(t, id, now.NodeID, "another broker coordinates the group")
}

// TestClusterPartitionedLeader: a leader cut off from the rest of the
// cluster cannot reach the ISR or the controller, so it stops
// acknowledging acks=all writes; a new leader takes over on the majority
// side, and after healing nothing acknowledged is lost.
func TestClusterPartitionedLeader(t *testing.T) {
	t.Parallel()
	c := startCluster(t, 3)
	createReplicated(t, c, "audit", 1, 3, map[string]string{"min.insync.replicas": "2"})
	cl := reliableProducer(t, c, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	var acked []string
	produce := func(n int) {
		t.Helper()
		for range n {
			v := "audit-" + strconv.Itoa(len(acked))
			produceSync(t, cl, &kgo.Record{Topic: "audit", Value: []byte(v)})
			acked = append(acked, v)
		}
	}
	produce(10)
	old, _ := c.Leader("audit", 0)
	c.Network().Isolate(old, c.IDs()...)

	// Straight to the isolated leader: no acknowledgement.
	direct := newKgo(t, c.Addr(old), kgo.RequiredAcks(kgo.AllISRAcks()), kgo.DisableIdempotentWrite(),
		kgo.RecordRetries(0), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ProduceRequestTimeout(2*time.Second), kgo.RecordDeliveryTimeout(3*time.Second))
	err := direct.ProduceSync(testCtx(t), &kgo.Record{Topic: "audit", Value: []byte("unacknowledged")}).FirstErr()
	require.Error(t, err, "an isolated leader must not acknowledge acks=all")

	// The majority elects a new leader; the producer follows it.
	eventually(t, func() error {
		if now, ok := c.Leader("audit", 0); !ok || now == old {
			return fmt.Errorf("leader %d", now)
		}
		return nil
	})
	produce(10)
	c.Network().Heal()
	produce(5)
	eventually(t, func() error {
		if got := isr(t, c, "audit", 0); len(got) != 3 {
			return fmt.Errorf("ISR %v, want all three back", got)
		}
		return nil
	})
	checkQueue(t, c, "audit", 0, acked)
}

// TestClusterRefusesDuplicateNodeID: a registration for a node id that a
// live broker holds, from another process (another incarnation), is
// refused with DUPLICATE_BROKER_REGISTRATION; one from another cluster with
// INCONSISTENT_CLUSTER_ID.
func TestClusterRefusesDuplicateNodeID(t *testing.T) {
	t.Parallel()
	c := startCluster(t, 3)
	ctrl, ok := c.Controller()
	require.True(t, ok)
	conn := dialWire(t, c.Addr(ctrl))
	register := func(clusterID string) int16 {
		req := kmsg.NewPtrBrokerRegistrationRequest()
		req.BrokerID = 2
		req.ClusterID = clusterID
		req.IncarnationID = [16]byte{1, 2, 3}
		l := kmsg.NewBrokerRegistrationRequestListener()
		l.Name, l.Host, l.Port = "PLAINTEXT", "127.0.0.1", 1
		req.Listeners = append(req.Listeners, l)
		return conn.do(req).(*kmsg.BrokerRegistrationResponse).ErrorCode
	}
	requireCode(t, kerr.DuplicateBrokerRegistration, register(c.Broker(ctrl).ClusterID()))
	requireCode(t, kerr.InconsistentClusterID, register("another-cluster"))
	// The cluster goes on with its broker 2.
	createReplicated(t, c, "still-works", 1, 3, nil)
}

// TestClusterReassignAndElectPreferred: AlterPartitionReassignments moves a
// partition to other brokers once the new replicas caught up, with its
// records; ElectLeaders gives leadership back to the preferred replica.
func TestClusterReassignAndElectPreferred(t *testing.T) {
	t.Parallel()
	c := startCluster(t, 3)
	adm := kadm.NewClient(newKgo(t, c.Bootstrap()))
	resp, err := adm.CreateTopic(testCtx(t), -1, -1, nil, "moving")
	require.NoError(t, err)
	require.NoError(t, resp.Err)
	createReplicated(t, c, "placed", 1, 2, nil)
	md, err := adm.Metadata(testCtx(t), "placed")
	require.NoError(t, err)
	from := md.Topics["placed"].Partitions[0].Replicas
	var to []int32
	for _, id := range c.IDs() {
		if !slices.Contains(from, id) {
			to = append(to, id)
		}
	}
	to = append(to, from[0]) // one new broker, one kept
	cl := reliableProducer(t, c, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	var acked []string
	for i := range 20 {
		v := "rec-" + strconv.Itoa(i)
		produceSync(t, cl, &kgo.Record{Topic: "placed", Value: []byte(v)})
		acked = append(acked, v)
	}

	req := kadm.AlterPartitionAssignmentsReq{}
	req.Assign("placed", 0, to)
	ar, err := adm.AlterPartitionAssignments(testCtx(t), req)
	require.NoError(t, err)
	require.NoError(t, ar.Error())
	eventually(t, func() error {
		list, err := adm.ListPartitionReassignments(testCtx(t), kadm.TopicsSet{"placed": {0: {}}})
		if err != nil {
			return err
		}
		if len(list) > 0 {
			return fmt.Errorf("reassignment under way: %v", list)
		}
		md, err := adm.Metadata(testCtx(t), "placed")
		if err != nil {
			return err
		}
		if got := md.Topics["placed"].Partitions[0].Replicas; !slices.Equal(got, to) {
			return fmt.Errorf("replicas %v, want %v", got, to)
		}
		return nil
	})
	require.NoError(t, c.SyncMetadata(testCtx(t)))
	end, err := c.Broker(to[0]).LogEndOffset("placed", 0)
	require.NoError(t, err)
	require.Equal(t, int64(20), end, "the new replica has every record")
	for _, id := range from[1:] {
		eventually(t, func() error {
			if _, err := c.Broker(id).LogEndOffset("placed", 0); err == nil {
				return fmt.Errorf("broker %d still holds a replica", id)
			}
			return nil
		})
	}
	checkQueue(t, c, "placed", 0, acked)

	// Preferred leader election: the first replica takes the lead back.
	leader, _ := c.Leader("placed", 0)
	require.NoError(t, c.Kill(leader))
	eventually(t, func() error {
		if now, ok := c.Leader("placed", 0); !ok || now == leader {
			return fmt.Errorf("leader %d", now)
		}
		return nil
	})
	require.NoError(t, c.Restart(testCtx(t), leader))
	eventually(t, func() error {
		if got := isr(t, c, "placed", 0); len(got) != 2 {
			return fmt.Errorf("ISR %v", got)
		}
		return nil
	})
	pref := to[0]
	eventually(t, func() error {
		res, err := adm.ElectLeaders(testCtx(t), kadm.ElectPreferredReplica, kadm.TopicsSet{"placed": {0: {}}})
		if err != nil {
			return err
		}
		if r := res["placed"][0]; r.Err != nil && !errors.Is(r.Err, kerr.ElectionNotNeeded) {
			return r.Err
		}
		if now, _ := c.Leader("placed", 0); now != pref {
			return fmt.Errorf("leader %d, want the preferred %d", now, pref)
		}
		return nil
	})
	res, err := adm.ElectLeaders(testCtx(t), kadm.ElectLiveReplica, kadm.TopicsSet{"placed": {0: {}}})
	require.NoError(t, err)
	require.ErrorIs(t, res["placed"][0].Err, kerr.InvalidRequest, "unclean elections are refused")
}

// TestClusterControlledShutdownMovesLeadershipFirst: a broker closed
// cleanly hands its leaderships to in-sync replicas before it stops, so
// there is no wait for its session to expire: the partition has another
// leader the moment Close returns.
func TestClusterControlledShutdownMovesLeadershipFirst(t *testing.T) {
	t.Parallel()
	c := startCluster(t, 3, func(cfg *broker.Config) { cfg.BrokerSessionTimeoutMs = time.Minute })
	createReplicated(t, c, "orders", 3, 3, nil)
	leader, _ := c.Leader("orders", 0)
	require.NoError(t, c.Stop(testCtx(t), leader))
	now, ok := c.Leader("orders", 0)
	require.True(t, ok)
	require.NotEqual(t, leader, now, "led by the stopped broker")
	for p := range int32(3) {
		l, ok := c.Leader("orders", p)
		require.True(t, ok, "partition %d has no leader", p)
		require.NotEqual(t, leader, l, "partition %d", p)
	}
	cl := reliableProducer(t, c, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	ctx, cancel := context.WithTimeout(testCtx(t), 10*time.Second) // far below the 1 min session
	defer cancel()
	require.NoError(t, cl.ProduceSync(ctx, &kgo.Record{Topic: "orders", Value: []byte("after")}).FirstErr())
}

// TestClusterRefusesWrongBroker: a broker that does not lead a partition
// answers produce, fetch and list offsets for it with NOT_LEADER_OR_FOLLOWER
// and never data; a replica fetch from a broker that holds no replica is
// refused the same way.
func TestClusterRefusesWrongBroker(t *testing.T) {
	t.Parallel()
	c := startCluster(t, 3)
	createReplicated(t, c, "placed", 1, 2, nil)
	cl := reliableProducer(t, c, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	produceSync(t, cl, &kgo.Record{Topic: "placed", Value: []byte("v")})
	md, err := kadm.NewClient(newKgo(t, c.Bootstrap())).Metadata(testCtx(t), "placed")
	require.NoError(t, err)
	p := md.Topics["placed"].Partitions[0]
	var follower, outsider int32 = -1, -1
	for _, id := range c.IDs() {
		switch {
		case id == p.Leader:
		case slices.Contains(p.Replicas, id):
			follower = id
		default:
			outsider = id
		}
	}
	require.NotEqual(t, int32(-1), follower)
	require.NotEqual(t, int32(-1), outsider)

	for _, id := range []int32{follower, outsider} {
		conn := dialWire(t, c.Addr(id))
		pr := produceRaw(t, conn, "placed", 0, batch.Build(nil, 0, 0, values("x")))
		requireCode(t, kerr.NotLeaderForPartition, pr.ErrorCode, fmt.Sprintf("produce to broker %d", id))
		fr := fetchRaw(t, conn, "placed", 0, 0)
		requireCode(t, kerr.NotLeaderForPartition, fr.ErrorCode, fmt.Sprintf("fetch from broker %d", id))
		require.Empty(t, fr.RecordBatches, "no data from broker %d", id)
		lo := listOffset(t, conn, "placed", 0, -1)
		requireCode(t, kerr.NotLeaderForPartition, lo.ErrorCode, fmt.Sprintf("list offsets at broker %d", id))
	}

	// The outsider poses as a follower: refused, no data.
	conn := dialWire(t, c.Addr(p.Leader))
	req := fetchReq("placed", 1<<20, fetchPart{Partition: 0, Offset: 0})
	req.Version = 12
	req.ReplicaID = outsider
	req.Topics[0].Partitions[0].CurrentLeaderEpoch = p.LeaderEpoch
	resp := conn.do(req).(*kmsg.FetchResponse)
	rp := resp.Topics[0].Partitions[0]
	requireCode(t, kerr.NotLeaderForPartition, rp.ErrorCode, fmt.Sprintf("replica fetch from broker %d", outsider))
	require.Empty(t, rp.RecordBatches)
}

// TestClusterDescribeConfigsReportsQuorum: a broker's quorum and
// replication settings are reported as DescribeConfigs reports Kafka's.
func TestClusterDescribeConfigsReportsQuorum(t *testing.T) {
	t.Parallel()
	c := startCluster(t, 3)
	adm := kadm.NewClient(newKgo(t, c.Bootstrap()))
	rcs, err := adm.DescribeBrokerConfigs(testCtx(t), 2)
	require.NoError(t, err)
	got := map[string]string{}
	for _, rc := range rcs {
		require.NoError(t, rc.Err)
		for _, cfg := range rc.Configs {
			got[cfg.Key] = cfg.MaybeValue()
		}
	}
	require.Equal(t, "broker,controller", got["process.roles"])
	require.Len(t, strings.Split(got["controller.quorum.voters"], ","), 3)
	require.Equal(t, "1500", got["broker.session.timeout.ms"])
	require.Equal(t, "2000", got["replica.lag.time.max.ms"])
	require.Equal(t, "false", got["unclean.leader.election.enable"])
}
