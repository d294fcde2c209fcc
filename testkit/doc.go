// Package testkit runs Kafka inside `go test`: kspring's bundled broker in
// the test process, the Go form of Spring's @EmbeddedKafka, with no Docker
// and no JVM; fx test apps wired to it; and helpers in the spirit of
// Spring's KafkaTestUtils.
//
// Start from [NewBroker]: a real broker on a random loopback port with its
// data in t.TempDir(), closed by t.Cleanup, with topics created by
// [WithTopic]:
//
//	b := testkit.NewBroker(t, testkit.WithTopic("orders", 3, nil))
//	testkit.Produce(t, b.Addr(), b.Topic("orders"), testkit.KeyValue("order-1", "42 EUR"))
//	r := testkit.SingleRecord(t, b.Addr(), b.Topic("orders"))
//
// For an application, [NewApp] starts an fx test app with the framework
// module wired to a test broker; [App.WaitForAssignment] waits for a listener
// container's partitions before the test produces.
//
// The helpers talk to the broker with franz-go over the Kafka protocol, not
// through kspring's own template or listener, so they cannot hide a framework
// bug: [Produce], [ConsumeN], [SingleRecord], [Records], [EndOffsets],
// [CommittedOffsets], [WaitForAssignment], [Eventually] and [Receive]. Each
// takes the test, fails it with what was expected and what came, and bounds
// every wait ([WaitTimeout] where no timeout is given).
//
// Settings are tuned for tests without changing Kafka semantics: no initial
// rebalance delay, one __consumer_offsets partition, quick retention checks.
// [WithProperty] sets any broker property.
//
// [NewCluster] starts a replicated cluster ([Brokers](3)) whose brokers a
// test stops, kills (a crash: no clean shutdown) and restarts by id, and
// between which it cuts the network ([Cluster.Isolate], [Cluster.Partition],
// [Cluster.Heal]); a client bootstrapped from [Cluster.Bootstrap] follows
// leaders as they move.
//
// Secured brokers: [WithTLS] (SSL, with a CA made for the test: [Broker.CA],
// [CA.Issue] for client certificates, [WithMutualTLS]) and
// [WithSASL](mechanism, users...) (PLAIN, SCRAM-SHA-256/512; with WithTLS,
// SASL_SSL). [Broker.ClientOpts] and [Broker.ClientTLS] give clients what
// they need; the helpers and [Broker.StartApp] connect as [Admin], a super
// user. A [NewCluster] takes WithSASL (its brokers log in to each other).
//
// With $KSPRING_TEST_BOOTSTRAP set ([BootstrapEnv]), NewBroker starts nothing
// and hands out that external cluster instead, so a suite runs unchanged
// against Apache Kafka: topics made by the testkit get unique names
// ([Broker.Topic]) and are deleted when the test ends. Tests that run in
// parallel against one cluster keep their topics and groups apart with
// [UniqueName].
//
// Concurrency: Broker, Cluster and App are safe for concurrent use. A
// function or method that takes a testing.TB, and Cluster's Stop, Kill and
// Restart, fail the test and must be called from its goroutine, as t.Fatal
// must.
package testkit
