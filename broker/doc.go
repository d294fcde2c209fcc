// Package broker is kspring's Kafka-compatible broker: it speaks the Kafka
// protocol over TCP to any Kafka client (sarama, franz-go, librdkafka, Java)
// and keeps its data in Kafka-style segmented logs on disk.
//
// Start from [Config] (Kafka's server.properties keys; [DefaultConfig] holds
// Kafka's defaults) and [New]:
//
//	cfg := broker.DefaultConfig()
//	cfg.Listeners = []string{"PLAINTEXT://127.0.0.1:0"}
//	cfg.LogDirs = []string{dir}
//	b, err := broker.New(cfg)
//	if err != nil { ... }
//	if err := b.Start(ctx); err != nil { ... }
//	defer b.Close(context.Background())
//	fmt.Println(b.Addr()) // bootstrap address for clients
//
// New opens and recovers the logs; Start binds the listeners and serves;
// Close answers in-flight requests, stops the background work and flushes
// every log. A Broker is safe for concurrent use.
//
// Internals live under broker/internal: wire (connections and one file per
// Kafka API), log (segments, indexes, recovery, retention), batch (RecordBatch
// v2 bytes), replica (partitions, high watermark, fetch wake-ups), cluster
// (metadata) and group (the consumer group coordinator).
//
// Lock order, top down: Broker.mu -> wire.Server.mu -> topics.mu ->
// cluster.Store -> group coordinator -> replica.Manager ->
// replica.Partition -> log.Log.
package broker
