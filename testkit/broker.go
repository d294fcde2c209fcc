package testkit

import (
	"maps"
	"slices"
	"testing"

	"github.com/kspring/kspring/broker"
)

// Broker is a Kafka broker for one test: the embedded kspring broker, or
// the external cluster named by $KSPRING_TEST_BOOTSTRAP. Create it with
// [NewBroker]. Its methods are safe for concurrent use; those taking a
// testing.TB fail that test and must run on its goroutine.
type Broker struct {
	node   *node // nil against an external cluster
	addrs  []string
	topics *topicSet
	sec    *secured // nil: PLAINTEXT
}

// NewBroker starts a broker for the test on a random loopback port, with its
// data in t.TempDir(), creates the topics asked for with [WithTopic] and
// returns once clients can use it. The broker closes when the test ends
// (t.Cleanup). Failures fail the test.
//
// The settings are Kafka's defaults tuned for tests without changing
// semantics: no initial rebalance delay, one __consumer_offsets partition,
// quick retention checks. [WithProperty] overrides any broker property.
//
// With $KSPRING_TEST_BOOTSTRAP set ([External]) NewBroker starts nothing: it
// returns that cluster, creates the topics under unique names ([Broker.Topic])
// and deletes them when the test ends; broker properties are not applied.
func NewBroker(t testing.TB, opts ...Option) *Broker {
	t.Helper()
	o := newOptions(opts)
	if o.brokers != 1 {
		t.Fatalf("testkit: NewBroker starts one broker, not Brokers(%d); use NewCluster", o.brokers)
	}
	if ext := externalAddrs(); len(ext) > 0 {
		if o.security.on() {
			t.Skipf("testkit: %s is set: WithTLS and WithSASL need the embedded broker", BootstrapEnv)
		}
		for _, k := range slices.Sorted(maps.Keys(o.props)) {
			t.Logf("testkit: %s is set: broker property %s=%s is not applied to the external cluster", BootstrapEnv, k, o.props[k])
		}
		b := &Broker{addrs: ext, topics: newTopicSet(t, joinAddrs(ext), true)}
		b.createTopics(t, o.topics)
		return b
	}
	sec := secure(t, &o)
	n := newNode(t, 1, o)
	if err := n.start(); err != nil {
		t.Fatalf("testkit: %v", err)
	}
	register(t, n.addr, sec)
	b := &Broker{node: n, addrs: []string{n.addr}, topics: newTopicSet(t, n.addr, false), sec: sec}
	b.createTopics(t, o.topics)
	return b
}

func (b *Broker) createTopics(t testing.TB, specs []topicSpec) {
	t.Helper()
	for _, s := range specs {
		b.topics.create(t, s.name, s.partitions, s.configs)
	}
}

// Addr returns the first bootstrap address, host:port.
func (b *Broker) Addr() string { return b.addrs[0] }

// Addrs returns the bootstrap addresses, host:port each.
func (b *Broker) Addrs() []string { return slices.Clone(b.addrs) }

// Bootstrap returns the bootstrap list as clients and
// spring.kafka.bootstrap-servers take it: "host:port[,host:port]".
func (b *Broker) Bootstrap() string { return joinAddrs(b.addrs) }

// Topic returns the name the topic the test calls name has on the broker:
// name itself on the embedded broker, a unique name (fixed on first use)
// against an external cluster. Use it for topics made with [WithTopic] or
// [Broker.CreateTopic], and for topics the test lets the broker auto-create.
func (b *Broker) Topic(name string) string { return b.topics.name(name) }

// CreateTopic creates a topic through the Kafka protocol, with partitions
// partitions (0: the broker's default) and the given configs, and returns its
// name on the broker (see [Broker.Topic]). It fails the test if that fails.
func (b *Broker) CreateTopic(t testing.TB, name string, partitions int32, configs map[string]string) string {
	t.Helper()
	return b.topics.create(t, name, partitions, configs)
}

// External reports whether b is the external cluster of
// $KSPRING_TEST_BOOTSTRAP rather than an embedded broker.
func (b *Broker) External() bool { return b.node == nil }

// Server returns the embedded broker, for tests that need its Go API
// (Config, ClusterID). It is nil against an external cluster.
func (b *Broker) Server() *broker.Broker {
	if b.node == nil {
		return nil
	}
	return b.node.server()
}

// Kill stops the embedded broker the way a crash (kill -9) would:
// connections and listeners are cut at once and the logs are abandoned
// without the clean-shutdown marker, so Restart runs crash recovery. Killing
// a broker that is down does nothing. Against an external cluster it fails
// the test.
func (b *Broker) Kill(t testing.TB) {
	t.Helper()
	if b.node == nil {
		t.Fatalf("testkit: Kill: %s is set: the external cluster cannot be killed", BootstrapEnv)
	}
	b.node.kill()
}

// Restart starts the embedded broker again on the same log directory and
// port, after stopping it cleanly if it runs (use Kill first for a crash).
// It returns once clients can use it. Against an external cluster it fails
// the test.
func (b *Broker) Restart(t testing.TB) {
	t.Helper()
	if b.node == nil {
		t.Fatalf("testkit: Restart: %s is set: the external cluster cannot be restarted", BootstrapEnv)
	}
	if err := b.node.stop(); err != nil {
		t.Fatalf("testkit: Restart: %v", err)
	}
	if err := b.node.start(); err != nil {
		t.Fatalf("testkit: Restart: %v", err)
	}
}
