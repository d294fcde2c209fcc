// Package testkit runs kspring's bundled broker inside `go test`: the Go form
// of Spring's @EmbeddedKafka, with no Docker and no JVM.
//
// Start from [NewBroker]: it starts a real broker on a random loopback port
// with its data in t.TempDir() and closes it with t.Cleanup:
//
//	b := testkit.NewBroker(t, testkit.WithTopic("orders", 3, nil))
//	client := newClient(b.Addr())
//
// Settings are tuned for tests without changing Kafka semantics: no initial
// rebalance delay, few __consumer_offsets partitions, quick retention checks.
//
// Concurrency: a Broker is safe for concurrent use; tests that call
// t.Parallel each get their own broker.
package testkit
