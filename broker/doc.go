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
// New checks the config; Start binds the listeners, joins the metadata
// quorum, registers with the active controller and opens (recovering) the
// partitions the metadata gives this broker; Close moves its leaderships
// away (controlled shutdown), answers in-flight requests, stops the
// background work and flushes every log. A Broker is safe for concurrent
// use.
//
// # Clusters
//
// Brokers form a cluster as Kafka's do in KRaft combined mode: every node
// is a voter of the metadata quorum (node.id, controller.quorum.voters,
// a CONTROLLER listener named by controller.listener.names), and the
// quorum's leader is the active controller. A broker registers with it and
// heartbeats every broker.heartbeat.interval.ms; one silent for
// broker.session.timeout.ms is fenced and its partitions get new leaders
// from their ISRs (unclean election is off). Topics have a replication
// factor; followers fetch from leaders; acks=all waits for the ISR. With no
// voters configured a broker is a one-node cluster. [Cluster] runs N
// brokers in one process, with a [Network] whose links tests can cut.
//
// Internals live under broker/internal: wire (connections and one file per
// Kafka API), log (segments, indexes, recovery, retention, leader epochs),
// batch (RecordBatch v2 bytes), replica (partitions, leader/follower, ISR,
// high watermark, replica fetchers), cluster (the raft metadata quorum),
// peer (the client brokers use to talk to each other), group (the
// consumer group coordinator) and txn (the transaction coordinator over
// __transaction_state). In this package: controller.go (the active
// controller's work), member.go (this broker's registration and heartbeats,
// requests to the controller), reconcile.go (partitions and the group and
// transaction coordinators following the metadata), topics.go and
// forward.go (topic changes, forwarded to the controller from other
// brokers), txn_store.go and txn_markers.go (the transaction coordinator's
// __transaction_state and the WriteTxnMarkers it sends to partition
// leaders).
//
// Lock order, top down: Broker.mu -> wire.Server.mu -> reconciler ->
// group coordinator -> replica.Manager -> replica.Partition -> log.Log.
// The transaction coordinator (package txn, its own order in its doc) holds
// none of its locks while it writes to __transaction_state or sends
// markers, so it sits beside the group coordinator, above the partitions.
// Metadata reads (cluster.Node.State) take no lock; a metadata write waits
// for the quorum and is never made while one of these is held.
package broker
