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
// # Metrics
//
// With metrics.prometheus.listener set, the broker serves /metrics in
// Prometheus' format, under Kafka's metric names as the JMX exporter
// renders them; METRICS.md tables them. metrics.go serves them; the
// instrumentation is internal/metrics.
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
// # Security
//
// Listeners take Kafka's security protocols: PLAINTEXT, SSL, SASL_PLAINTEXT
// and SASL_SSL, by name (SSL://:9093) or through
// listener.security.protocol.map (CLIENT:SASL_SSL). TLS is read from PEM:
//
//	ssl.keystore.type=PEM
//	ssl.keystore.location=/etc/kafka/broker.pem      # private key + certificate chain
//	ssl.truststore.type=PEM
//	ssl.truststore.location=/etc/kafka/ca.pem        # CAs of client certificates
//	ssl.client.auth=required                         # none | requested | required
//
// (or the PEM text inline in ssl.keystore.certificate.chain,
// ssl.keystore.key and ssl.truststore.certificates; any of them per listener
// as listener.name.<listener>.ssl.*). Over mutual TLS a client's principal
// is its certificate's subject, "User:CN=alice,O=acme". SASL serves PLAIN
// (users from listener.name.<listener>.plain.sasl.jaas.config's user_<name>
// options, or kspring.sasl.plain.users.file of user=password lines) and
// SCRAM-SHA-256/512 (credentials in the metadata quorum, managed with
// AlterUserScramCredentials, e.g. kafka-configs --alter --add-config
// 'SCRAM-SHA-512=[password=...]', or created at start from kspring.add.scram
// in kafka-storage's --add-scram form:
// SCRAM-SHA-512=[name=alice,password=alice-secret]); sasl.enabled.mechanisms
// picks them (default: all three, where Kafka's is GSSAPI). As Kafka
// 3.8.1-3.9 does, SCRAM accepts the client-final nonce of librdkafka before
// 2.6.1 (kcat on Debian), clientNonce+serverNonce (librdkafka#4895), and
// logs it at info once per connection; any other nonce is refused.
//
// authorizer.class.name (any value, e.g. Kafka's
// org.apache.kafka.metadata.authorizer.StandardAuthorizer) turns ACLs on:
// requests are denied unless an ACL allows them (CreateAcls, DescribeAcls,
// DeleteAcls; kept in the metadata quorum), super.users are allowed
// everything, allow.everyone.if.no.acl.found allows what no ACL names.
// Refusals carry Kafka's codes: TOPIC_AUTHORIZATION_FAILED,
// GROUP_AUTHORIZATION_FAILED, CLUSTER_AUTHORIZATION_FAILED,
// TRANSACTIONAL_ID_AUTHORIZATION_FAILED; Metadata leaves out the topics a
// principal may not describe. Other brokers of a cluster reach this one on
// its inter-broker listener (inter.broker.listener.name, else the first of
// security.inter.broker.protocol, default PLAINTEXT) as User:ANONYMOUS:
// keep that listener PLAINTEXT and, with ACLs on, name User:ANONYMOUS in
// super.users, as a Kafka cluster with a plaintext inter-broker listener
// must.
//
// Internals live under broker/internal: wire (connections and one file per
// Kafka API), log (segments, indexes, recovery, retention, leader epochs),
// batch (RecordBatch v2 bytes), replica (partitions, leader/follower, ISR,
// high watermark, replica fetchers), cluster (the raft metadata quorum),
// peer (the client brokers use to talk to each other), group (the
// consumer group coordinator), txn (the transaction coordinator over
// __transaction_state) and sasl (PLAIN and SCRAM's server side). In this
// package: controller.go (the active
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
