package testkit

import (
	"slices"
	"testing"

	"github.com/kspring/kspring/broker"
)

// Cluster is a set of embedded brokers for one test whose brokers the test
// can stop, kill and restart by id. Create it with [NewCluster]. Its methods
// are safe for concurrent use, but those that fail the test (Stop, Kill,
// Restart, CreateTopic) must run on the test's goroutine.
//
// Replication is not implemented yet, so a Cluster has one broker today:
// N brokers that do not replicate would be N unrelated brokers, not a
// cluster. The API is the one a replicated cluster will have.
type Cluster struct {
	t      testing.TB
	nodes  []*node // nodes[i] has id i+1
	addrs  []string
	topics *topicSet
}

// NewCluster starts the brokers of [Brokers] (default 1) for the test, with
// ids 1..n, each on its own random loopback port and t.TempDir(), creates the
// topics of [WithTopic], and closes the brokers still running when the test
// ends. Options are those of [NewBroker].
//
// More than one broker fails the test with "replication is not implemented
// yet: NewCluster supports 1 broker". NewCluster needs embedded brokers: with
// $KSPRING_TEST_BOOTSTRAP set it skips the test.
func NewCluster(t testing.TB, opts ...Option) *Cluster {
	t.Helper()
	o := newOptions(opts)
	switch {
	case External():
		t.Skipf("testkit: NewCluster stops and restarts embedded brokers; %s is set, so the test is skipped", BootstrapEnv)
	case o.brokers < 1:
		t.Fatalf("testkit: NewCluster: Brokers(%d): a cluster needs at least 1 broker", o.brokers)
	case o.brokers > 1:
		t.Fatalf("testkit: replication is not implemented yet: NewCluster supports 1 broker (asked for Brokers(%d))", o.brokers)
	}
	c := &Cluster{t: t}
	for i := range o.brokers {
		n := newNode(t, int32(i+1), o)
		if err := n.start(); err != nil {
			t.Fatalf("testkit: %v", err)
		}
		c.nodes = append(c.nodes, n)
		c.addrs = append(c.addrs, n.addr)
	}
	c.topics = newTopicSet(t, joinAddrs(c.addrs), false)
	for _, s := range o.topics {
		c.topics.create(t, s.name, s.partitions, s.configs)
	}
	return c
}

// Addr returns the address of the first broker, host:port.
func (c *Cluster) Addr() string { return c.addrs[0] }

// Addrs returns every broker's address, running or not; a broker keeps its
// address across restarts.
func (c *Cluster) Addrs() []string { return slices.Clone(c.addrs) }

// Bootstrap returns the bootstrap list of all brokers, "host:port,...".
func (c *Cluster) Bootstrap() string { return joinAddrs(c.addrs) }

// IDs returns the brokers' node ids, 1..n.
func (c *Cluster) IDs() []int32 {
	ids := make([]int32, len(c.nodes))
	for i, n := range c.nodes {
		ids[i] = n.id
	}
	return ids
}

// Topic returns the topic's name on the cluster; see [Broker.Topic].
func (c *Cluster) Topic(name string) string { return c.topics.name(name) }

// CreateTopic creates a topic; see [Broker.CreateTopic].
func (c *Cluster) CreateTopic(t testing.TB, name string, partitions int32, configs map[string]string) string {
	t.Helper()
	return c.topics.create(t, name, partitions, configs)
}

// Broker returns the running broker with node id id, or nil while it is
// stopped or killed.
func (c *Cluster) Broker(id int32) *broker.Broker { return c.node(id).server() }

// Stop shuts broker id down cleanly, as a controlled shutdown would: in-flight
// requests are answered and the logs are flushed and marked clean. Stopping
// a stopped broker does nothing.
func (c *Cluster) Stop(id int32) {
	c.t.Helper()
	if err := c.node(id).stop(); err != nil {
		c.t.Fatalf("testkit: stop: %v", err)
	}
}

// Kill stops broker id the way a crash would: connections and listeners are
// cut at once and the logs are abandoned without the clean-shutdown marker,
// so Restart runs crash recovery. Bytes the broker wrote stay in the page
// cache (a process crash, not a power cut). Killing a stopped broker does
// nothing.
func (c *Cluster) Kill(id int32) {
	c.t.Helper()
	c.node(id).kill()
}

// Restart starts broker id again on the same log directory and port; a
// running broker is stopped cleanly first. It returns once the broker serves.
func (c *Cluster) Restart(id int32) {
	c.t.Helper()
	n := c.node(id)
	if err := n.stop(); err != nil {
		c.t.Fatalf("testkit: restart: %v", err)
	}
	if err := n.start(); err != nil {
		c.t.Fatalf("testkit: restart: %v", err)
	}
}

func (c *Cluster) node(id int32) *node {
	c.t.Helper()
	if id < 1 || int(id) > len(c.nodes) {
		c.t.Fatalf("testkit: the cluster has no broker %d (ids %v)", id, c.IDs())
	}
	return c.nodes[id-1]
}
