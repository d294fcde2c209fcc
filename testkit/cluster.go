package testkit

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/kspring/kspring/broker"
)

// Cluster is a replicated cluster of embedded brokers for one test, whose
// brokers the test can stop, kill and restart by id, and between which it
// can cut the network. Create it with [NewCluster]. Its methods are safe for
// concurrent use, but those that fail the test (Stop, Kill, Restart,
// CreateTopic) must run on the test's goroutine.
type Cluster struct {
	t      testing.TB
	c      *broker.Cluster
	topics *topicSet
	sec    *secured // nil: PLAINTEXT
}

// clusterConfig is the brokers' config in a test cluster: testConfig's,
// with what decides failover shortened (the quorum elects a leader within
// 200-400 ms, a dead broker is fenced after 1.5 s, a lagging follower
// leaves the ISR after 2 s) and, with three or
// more brokers, topics and __consumer_offsets replicated three times
// (fewer brokers: as many as there are).
func clusterConfig(t testing.TB, n int, o options) broker.Config {
	cfg := testConfig("")
	cfg.LogDirs = nil
	cfg.ControllerQuorumElectionTimeoutMs = 200 * time.Millisecond
	cfg.ControllerQuorumFetchTimeoutMs = 200 * time.Millisecond
	cfg.BrokerHeartbeatIntervalMs = 100 * time.Millisecond
	cfg.BrokerSessionTimeoutMs = 1500 * time.Millisecond
	cfg.ReplicaLagTimeMaxMs = 2 * time.Second
	cfg.ReplicaFetchWaitMaxMs = 100 * time.Millisecond
	cfg.ReplicaFetchBackoffMs = 100 * time.Millisecond
	cfg.ControlledShutdownTimeout = 5 * time.Second
	rf := int16(min(n, 3))
	cfg.DefaultReplicationFactor = rf
	cfg.OffsetsTopicReplicationFactor = rf
	for k, v := range o.props {
		if err := cfg.Set(k, v); err != nil {
			t.Fatalf("testkit: broker property %s=%s: %v", k, v, err)
		}
	}
	return cfg
}

// NewCluster starts the brokers of [Brokers] (default 1) for the test, with
// node ids 1..n, each on its own random loopback port and data directory
// under t.TempDir(), all voters of the metadata quorum; creates the topics
// of [WithTopic]; and closes the brokers still running when the test ends.
// Options are those of [NewBroker]. Three brokers start in well under a
// second.
//
// Topics are replicated min(n, 3) times unless a test sets
// default.replication.factor; min.insync.replicas stays Kafka's 1. A
// client bootstrapped from [Cluster.Bootstrap] follows leaders as they
// move. NewCluster needs embedded brokers: with $KSPRING_TEST_BOOTSTRAP set
// it skips the test.
func NewCluster(t testing.TB, opts ...Option) *Cluster {
	t.Helper()
	o := newOptions(opts)
	if o.security.tls {
		t.Fatalf("testkit: WithTLS starts one broker (NewBroker): the brokers of a NewCluster share one listener, which they also use between themselves, in the clear")
	}
	switch {
	case External():
		t.Skipf("testkit: NewCluster stops and restarts embedded brokers; %s is set, so the test is skipped", BootstrapEnv)
	case o.brokers < 1:
		t.Fatalf("testkit: NewCluster: Brokers(%d): a cluster needs at least 1 broker", o.brokers)
	}
	logger := zap.NewNop()
	if o.logs {
		logger = zaptest.NewLogger(t)
	}
	sec := secure(t, &o)
	if sec != nil {
		// One SASL_PLAINTEXT listener for clients and brokers alike.
		o.props["inter.broker.listener.name"] = sec.protocol
		o.props["sasl.mechanism.inter.broker.protocol"] = o.security.mechanism
	}
	ctx, cancel := context.WithTimeout(context.Background(), WaitTimeout)
	defer cancel()
	bc, err := broker.NewCluster(ctx, o.brokers, clusterConfig(t, o.brokers, o), t.TempDir(), broker.WithLogger(logger))
	if err != nil {
		t.Fatalf("testkit: NewCluster: %v", err)
	}
	for _, id := range bc.IDs() {
		register(t, bc.Addr(id), sec)
	}
	c := &Cluster{t: t, c: bc, sec: sec}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), WaitTimeout)
		defer cancel()
		if err := bc.Close(ctx); err != nil {
			t.Errorf("testkit: close cluster: %v", err)
		}
	})
	c.topics = newTopicSet(t, bc.Bootstrap(), false)
	for _, s := range o.topics {
		c.CreateTopic(t, s.name, s.partitions, s.configs)
	}
	return c
}

// Addr returns the address of broker 1, host:port.
func (c *Cluster) Addr() string { return c.c.Addr(1) }

// Addrs returns every broker's address, running or not; a broker keeps its
// address across restarts.
func (c *Cluster) Addrs() []string {
	var out []string
	for _, id := range c.c.IDs() {
		out = append(out, c.c.Addr(id))
	}
	return out
}

// Bootstrap returns the bootstrap list of all brokers, "host:port,...".
func (c *Cluster) Bootstrap() string { return c.c.Bootstrap() }

// IDs returns the brokers' node ids, 1..n.
func (c *Cluster) IDs() []int32 { return c.c.IDs() }

// Topic returns the topic's name on the cluster; see [Broker.Topic].
func (c *Cluster) Topic(name string) string { return c.topics.name(name) }

// CreateTopic creates a topic, with the cluster's default replication
// factor, and waits until every running broker knows its leaders; see
// [Broker.CreateTopic].
func (c *Cluster) CreateTopic(t testing.TB, name string, partitions int32, configs map[string]string) string {
	t.Helper()
	created := c.topics.create(t, name, partitions, configs)
	c.sync(t)
	return created
}

// sync waits until every running broker has the freshest metadata.
func (c *Cluster) sync(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), WaitTimeout)
	defer cancel()
	if err := c.c.SyncMetadata(ctx); err != nil {
		t.Fatalf("testkit: %v", err)
	}
}

// Broker returns the running broker with node id id, or nil while it is
// stopped or killed.
func (c *Cluster) Broker(id int32) *broker.Broker {
	c.t.Helper()
	c.check(id)
	return c.c.Broker(id)
}

// Leader returns the id of the broker leading a partition, waiting (up to
// WaitTimeout) while it has none.
func (c *Cluster) Leader(t testing.TB, topic string, partition int32) int32 {
	t.Helper()
	var id int32
	Eventually(t, WaitTimeout, func() error {
		var ok bool
		if id, ok = c.c.Leader(c.Topic(topic), partition); !ok {
			return fmt.Errorf("%s-%d has no leader", topic, partition)
		}
		return nil
	})
	return id
}

// Stop shuts broker id down cleanly, as a controlled shutdown would: its
// partition leaderships move to other in-sync replicas first, in-flight
// requests are answered and the logs are flushed and marked clean.
// Stopping a stopped broker does nothing.
func (c *Cluster) Stop(id int32) {
	c.t.Helper()
	c.check(id)
	ctx, cancel := context.WithTimeout(context.Background(), WaitTimeout)
	defer cancel()
	if err := c.c.Stop(ctx, id); err != nil {
		c.t.Fatalf("testkit: stop: %v", err)
	}
}

// Kill stops broker id the way a crash would: connections and listeners are
// cut at once and the logs are abandoned without the clean-shutdown marker,
// so Restart runs crash recovery; the cluster fences it once its session
// expires and elects new leaders from the ISR. Bytes the broker wrote stay
// in the page cache (a process crash, not a power cut). Killing a stopped
// broker does nothing.
func (c *Cluster) Kill(id int32) {
	c.t.Helper()
	c.check(id)
	if err := c.c.Kill(id); err != nil {
		c.t.Fatalf("testkit: kill: %v", err)
	}
}

// Restart starts broker id again on the same log directory and port; a
// running broker is stopped cleanly first. It returns once the broker has
// rejoined the cluster.
func (c *Cluster) Restart(id int32) {
	c.t.Helper()
	c.Stop(id)
	ctx, cancel := context.WithTimeout(context.Background(), WaitTimeout)
	defer cancel()
	if err := c.c.Restart(ctx, id); err != nil {
		c.t.Fatalf("testkit: restart: %v", err)
	}
}

// Partition cuts the network between brokers a and b (both ways): the
// quorum's traffic, replica fetches and requests to the controller.
// Clients still reach both.
func (c *Cluster) Partition(a, b int32) {
	c.t.Helper()
	c.check(a)
	c.check(b)
	c.c.Network().Partition(a, b)
}

// Isolate cuts broker id off from every other broker.
func (c *Cluster) Isolate(id int32) {
	c.t.Helper()
	c.check(id)
	c.c.Network().Isolate(id, c.c.IDs()...)
}

// Heal restores every link between brokers.
func (c *Cluster) Heal() { c.c.Network().Heal() }

func (c *Cluster) check(id int32) {
	c.t.Helper()
	if !slices.Contains(c.c.IDs(), id) {
		c.t.Fatalf("testkit: the cluster has no broker %d (ids %v)", id, c.c.IDs())
	}
}
