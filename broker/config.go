package broker

import (
	"fmt"
	"math"
	"time"
)

// Config holds a broker's settings. Field names follow Kafka's server.properties
// keys (see [Config.Set] for the mapping). Start from [DefaultConfig]; a zero
// Config is usable too: zero numeric fields take Kafka's defaults in [New], but a
// zero Config has auto topic creation off.
type Config struct {
	// NodeID is node.id (broker.id).
	NodeID int32
	// ClusterID names the cluster in Metadata and DescribeCluster. Empty: one is
	// generated on first start and kept in meta.properties.
	ClusterID string

	// Listeners is listeners, e.g. "PLAINTEXT://127.0.0.1:9092". Port 0 picks a
	// free port. Empty: PLAINTEXT://127.0.0.1:9092.
	Listeners []string
	// AdvertisedListeners is advertised.listeners: the addresses handed to clients
	// in Metadata. Empty: the bound listener addresses.
	AdvertisedListeners []string

	// Rack is broker.rack, reported to rack-aware clients. Empty: none.
	Rack string

	// LogDirs is log.dirs. New partitions go to the directory holding the fewest.
	LogDirs []string

	NumPartitions            int32 // num.partitions
	DefaultReplicationFactor int16 // default.replication.factor
	AutoCreateTopicsEnable   bool  // auto.create.topics.enable
	DeleteTopicEnable        bool  // delete.topic.enable

	LogSegmentBytes             int64         // log.segment.bytes
	LogRollMs                   time.Duration // log.roll.ms
	LogRetentionMs              time.Duration // log.retention.ms (< 0: forever)
	LogRetentionBytes           int64         // log.retention.bytes (< 0: unlimited)
	LogRetentionCheckIntervalMs time.Duration // log.retention.check.interval.ms
	LogFlushIntervalMessages    int64         // log.flush.interval.messages
	LogFlushIntervalMs          time.Duration // log.flush.interval.ms (0: by count/OS only)
	LogIndexIntervalBytes       int32         // log.index.interval.bytes
	LogSegmentDeleteDelayMs     time.Duration // log.segment.delete.delay.ms
	LogCleanupPolicy            string        // log.cleanup.policy
	LogCleanerBackoffMs         time.Duration // log.cleaner.backoff.ms: how often the cleaner looks for logs to compact
	LogMessageTimestampType     string        // log.message.timestamp.type
	MessageMaxBytes             int32         // message.max.bytes
	MinInsyncReplicas           int16         // min.insync.replicas

	SocketRequestMaxBytes    int32 // socket.request.max.bytes
	SocketSendBufferBytes    int32 // socket.send.buffer.bytes: SO_SNDBUF of client connections (-1: the OS's default)
	SocketReceiveBufferBytes int32 // socket.receive.buffer.bytes: SO_RCVBUF of client connections (-1: the OS's default)

	OffsetsTopicNumPartitions       int32         // offsets.topic.num.partitions
	OffsetsTopicReplicationFactor   int16         // offsets.topic.replication.factor
	OffsetsRetentionMinutes         int32         // offsets.retention.minutes
	GroupInitialRebalanceDelayMs    time.Duration // group.initial.rebalance.delay.ms
	GroupMinSessionTimeoutMs        time.Duration // group.min.session.timeout.ms
	GroupMaxSessionTimeoutMs        time.Duration // group.max.session.timeout.ms
	ConnectionsMaxIdleMs            time.Duration // connections.max.idle.ms
	ProducerIDExpirationMs          time.Duration // producer.id.expiration.ms (< 0: never)
	ControlledShutdownTimeout       time.Duration // how long Close waits for in-flight requests
	OffsetsRetentionCheckIntervalMs time.Duration // offsets.retention.check.interval.ms

	// ProcessRoles is process.roles. kspring runs every node as
	// "broker,controller" (KRaft's combined mode); other values are refused.
	ProcessRoles []string
	// ControllerQuorumVoters is controller.quorum.voters: "id@host:port,...",
	// the nodes of the metadata quorum and their controller listeners. Empty:
	// this broker alone is the quorum (a one-node cluster, no controller
	// listener needed).
	ControllerQuorumVoters []string
	// ControllerListenerNames is controller.listener.names: the listener(s)
	// among Listeners that carry the quorum's traffic (default CONTROLLER).
	ControllerListenerNames           []string
	ControllerQuorumElectionTimeoutMs time.Duration // controller.quorum.election.timeout.ms
	ControllerQuorumFetchTimeoutMs    time.Duration // controller.quorum.fetch.timeout.ms
	BrokerHeartbeatIntervalMs         time.Duration // broker.heartbeat.interval.ms
	BrokerSessionTimeoutMs            time.Duration // broker.session.timeout.ms: a broker silent this long is fenced
	ReplicaLagTimeMaxMs               time.Duration // replica.lag.time.max.ms
	ReplicaFetchWaitMaxMs             time.Duration // replica.fetch.wait.max.ms
	ReplicaFetchBackoffMs             time.Duration // replica.fetch.backoff.ms
	ReplicaHighWatermarkCheckpointMs  time.Duration // replica.high.watermark.checkpoint.interval.ms
	// UncleanLeaderElectionEnable is unclean.leader.election.enable; only
	// false (Kafka's default) is supported: no acknowledged record is ever lost
	// to an election.
	UncleanLeaderElectionEnable bool

	// The transaction coordinator's settings (package txn), under Kafka's
	// names. __transaction_state is created on first need with
	// TransactionStateLogReplicationFactor replicas and
	// TransactionStateLogMinISR as its min.insync.replicas, both capped at
	// the brokers alive then, as Kafka's first creation does.
	TransactionStateLogNumPartitions     int32         // transaction.state.log.num.partitions
	TransactionStateLogReplicationFactor int16         // transaction.state.log.replication.factor
	TransactionStateLogMinISR            int16         // transaction.state.log.min.isr
	TransactionStateLogSegmentBytes      int32         // transaction.state.log.segment.bytes
	TransactionMaxTimeoutMs              time.Duration // transaction.max.timeout.ms
	TransactionalIDExpirationMs          time.Duration // transactional.id.expiration.ms
	// TransactionAbortTimedOutCleanupIntervalMs is
	// transaction.abort.timed.out.transaction.cleanup.interval.ms: how often
	// transactions past their transaction.timeout.ms are aborted.
	TransactionAbortTimedOutCleanupIntervalMs time.Duration
	// TransactionRemoveExpiredCleanupIntervalMs is
	// transaction.remove.expired.transaction.cleanup.interval.ms.
	TransactionRemoveExpiredCleanupIntervalMs time.Duration
}

// DefaultConfig returns Kafka's defaults (but for socket.receive.buffer.bytes,
// left to the OS), listening on 127.0.0.1:9092, with the log directory left
// empty for the caller to choose.
func DefaultConfig() Config {
	return Config{
		NodeID:                      1,
		Listeners:                   []string{"PLAINTEXT://127.0.0.1:9092"},
		NumPartitions:               1,
		DefaultReplicationFactor:    1,
		AutoCreateTopicsEnable:      true,
		DeleteTopicEnable:           true,
		LogSegmentBytes:             1 << 30,
		LogRollMs:                   7 * 24 * time.Hour,
		LogRetentionMs:              7 * 24 * time.Hour,
		LogRetentionBytes:           -1,
		LogRetentionCheckIntervalMs: 5 * time.Minute,
		LogFlushIntervalMessages:    math.MaxInt64,
		LogIndexIntervalBytes:       4096,
		LogSegmentDeleteDelayMs:     time.Minute,
		LogCleanupPolicy:            "delete",
		LogCleanerBackoffMs:         15 * time.Second,
		LogMessageTimestampType:     "CreateTime",
		MessageMaxBytes:             1048588,
		MinInsyncReplicas:           1,
		SocketRequestMaxBytes:       104857600,
		// Kafka's default send buffer; its receive buffer default (also
		// 102400) made producers ~11% slower in bench/ than the OS's
		// autotuning (5 interleaved runs, 2026-11-25), so kspring leaves
		// that one to the OS. The fixed send buffer made raw fetches 26%
		// faster (6 runs, p < 0.03) with producers unchanged.
		SocketSendBufferBytes:           102400,
		SocketReceiveBufferBytes:        -1,
		OffsetsTopicNumPartitions:       50,
		OffsetsTopicReplicationFactor:   1,
		OffsetsRetentionMinutes:         7 * 24 * 60,
		GroupInitialRebalanceDelayMs:    3 * time.Second,
		GroupMinSessionTimeoutMs:        6 * time.Second,
		GroupMaxSessionTimeoutMs:        30 * time.Minute,
		ConnectionsMaxIdleMs:            10 * time.Minute,
		ProducerIDExpirationMs:          24 * time.Hour,
		ControlledShutdownTimeout:       30 * time.Second,
		OffsetsRetentionCheckIntervalMs: 10 * time.Minute,

		ProcessRoles:                      []string{"broker", "controller"},
		ControllerListenerNames:           []string{"CONTROLLER"},
		ControllerQuorumElectionTimeoutMs: time.Second,
		ControllerQuorumFetchTimeoutMs:    2 * time.Second,
		BrokerHeartbeatIntervalMs:         2 * time.Second,
		BrokerSessionTimeoutMs:            9 * time.Second,
		ReplicaLagTimeMaxMs:               30 * time.Second,
		ReplicaFetchWaitMaxMs:             500 * time.Millisecond,
		ReplicaFetchBackoffMs:             time.Second,
		ReplicaHighWatermarkCheckpointMs:  5 * time.Second,

		TransactionStateLogNumPartitions:          50,
		TransactionStateLogReplicationFactor:      3,
		TransactionStateLogMinISR:                 2,
		TransactionStateLogSegmentBytes:           100 << 20,
		TransactionMaxTimeoutMs:                   15 * time.Minute,
		TransactionalIDExpirationMs:               7 * 24 * time.Hour,
		TransactionAbortTimedOutCleanupIntervalMs: 10 * time.Second,
		TransactionRemoveExpiredCleanupIntervalMs: time.Hour,
	}
}

// withDefaults fills zero fields with Kafka's defaults and checks the rest.
func (c Config) withDefaults() (Config, error) {
	d := DefaultConfig()
	if len(c.Listeners) == 0 {
		c.Listeners = d.Listeners
	}
	if len(c.LogDirs) == 0 {
		return c, fmt.Errorf("broker: config: log.dirs is empty")
	}
	setIfZero(&c.NumPartitions, d.NumPartitions)
	setIfZero(&c.DefaultReplicationFactor, d.DefaultReplicationFactor)
	setIfZero(&c.LogSegmentBytes, d.LogSegmentBytes)
	setIfZero(&c.LogRollMs, d.LogRollMs)
	setIfZero(&c.LogRetentionMs, d.LogRetentionMs)
	setIfZero(&c.ProducerIDExpirationMs, d.ProducerIDExpirationMs)
	setIfZero(&c.LogCleanerBackoffMs, d.LogCleanerBackoffMs)
	setIfZero(&c.LogRetentionBytes, d.LogRetentionBytes)
	setIfZero(&c.LogRetentionCheckIntervalMs, d.LogRetentionCheckIntervalMs)
	setIfZero(&c.LogFlushIntervalMessages, d.LogFlushIntervalMessages)
	setIfZero(&c.LogIndexIntervalBytes, d.LogIndexIntervalBytes)
	setIfZero(&c.LogCleanupPolicy, d.LogCleanupPolicy)
	setIfZero(&c.LogMessageTimestampType, d.LogMessageTimestampType)
	setIfZero(&c.MessageMaxBytes, d.MessageMaxBytes)
	setIfZero(&c.MinInsyncReplicas, d.MinInsyncReplicas)
	setIfZero(&c.SocketRequestMaxBytes, d.SocketRequestMaxBytes)
	setIfZero(&c.SocketSendBufferBytes, d.SocketSendBufferBytes)
	setIfZero(&c.SocketReceiveBufferBytes, d.SocketReceiveBufferBytes)
	setIfZero(&c.OffsetsTopicNumPartitions, d.OffsetsTopicNumPartitions)
	setIfZero(&c.OffsetsTopicReplicationFactor, d.OffsetsTopicReplicationFactor)
	setIfZero(&c.OffsetsRetentionMinutes, d.OffsetsRetentionMinutes)
	setIfZero(&c.GroupMinSessionTimeoutMs, d.GroupMinSessionTimeoutMs)
	setIfZero(&c.GroupMaxSessionTimeoutMs, d.GroupMaxSessionTimeoutMs)
	setIfZero(&c.ConnectionsMaxIdleMs, d.ConnectionsMaxIdleMs)
	setIfZero(&c.ControlledShutdownTimeout, d.ControlledShutdownTimeout)
	setIfZero(&c.OffsetsRetentionCheckIntervalMs, d.OffsetsRetentionCheckIntervalMs)
	if len(c.ProcessRoles) == 0 {
		c.ProcessRoles = d.ProcessRoles
	}
	if len(c.ControllerListenerNames) == 0 {
		c.ControllerListenerNames = d.ControllerListenerNames
	}
	setIfZero(&c.ControllerQuorumElectionTimeoutMs, d.ControllerQuorumElectionTimeoutMs)
	setIfZero(&c.ControllerQuorumFetchTimeoutMs, d.ControllerQuorumFetchTimeoutMs)
	setIfZero(&c.BrokerHeartbeatIntervalMs, d.BrokerHeartbeatIntervalMs)
	setIfZero(&c.BrokerSessionTimeoutMs, d.BrokerSessionTimeoutMs)
	setIfZero(&c.ReplicaLagTimeMaxMs, d.ReplicaLagTimeMaxMs)
	setIfZero(&c.ReplicaFetchWaitMaxMs, d.ReplicaFetchWaitMaxMs)
	setIfZero(&c.ReplicaFetchBackoffMs, d.ReplicaFetchBackoffMs)
	setIfZero(&c.ReplicaHighWatermarkCheckpointMs, d.ReplicaHighWatermarkCheckpointMs)
	setIfZero(&c.TransactionStateLogNumPartitions, d.TransactionStateLogNumPartitions)
	setIfZero(&c.TransactionStateLogReplicationFactor, d.TransactionStateLogReplicationFactor)
	setIfZero(&c.TransactionStateLogMinISR, d.TransactionStateLogMinISR)
	setIfZero(&c.TransactionStateLogSegmentBytes, d.TransactionStateLogSegmentBytes)
	setIfZero(&c.TransactionMaxTimeoutMs, d.TransactionMaxTimeoutMs)
	setIfZero(&c.TransactionalIDExpirationMs, d.TransactionalIDExpirationMs)
	setIfZero(&c.TransactionAbortTimedOutCleanupIntervalMs, d.TransactionAbortTimedOutCleanupIntervalMs)
	setIfZero(&c.TransactionRemoveExpiredCleanupIntervalMs, d.TransactionRemoveExpiredCleanupIntervalMs)
	if err := c.checkQuorum(); err != nil {
		return c, err
	}
	switch {
	case c.NumPartitions < 1:
		return c, fmt.Errorf("broker: config: num.partitions %d must be at least 1", c.NumPartitions)
	case c.SocketRequestMaxBytes < 1024:
		return c, fmt.Errorf("broker: config: socket.request.max.bytes %d is too small", c.SocketRequestMaxBytes)
	case c.SocketSendBufferBytes < -1:
		return c, fmt.Errorf("broker: config: socket.send.buffer.bytes %d: want -1 (the OS's default) or a size", c.SocketSendBufferBytes)
	case c.SocketReceiveBufferBytes < -1:
		return c, fmt.Errorf("broker: config: socket.receive.buffer.bytes %d: want -1 (the OS's default) or a size", c.SocketReceiveBufferBytes)
	case c.LogSegmentBytes < 1024:
		return c, fmt.Errorf("broker: config: log.segment.bytes %d must be at least 1024", c.LogSegmentBytes)
	case c.TransactionStateLogNumPartitions < 1:
		return c, fmt.Errorf("broker: config: transaction.state.log.num.partitions %d must be at least 1", c.TransactionStateLogNumPartitions)
	case c.TransactionStateLogReplicationFactor < 1 || c.TransactionStateLogMinISR < 1:
		return c, fmt.Errorf("broker: config: transaction.state.log.replication.factor %d and transaction.state.log.min.isr %d must be at least 1",
			c.TransactionStateLogReplicationFactor, c.TransactionStateLogMinISR)
	case c.OffsetsTopicNumPartitions < 1:
		return c, fmt.Errorf("broker: config: offsets.topic.num.partitions %d must be at least 1", c.OffsetsTopicNumPartitions)
	}
	if c.LogMessageTimestampType != "CreateTime" && c.LogMessageTimestampType != "LogAppendTime" {
		return c, fmt.Errorf("broker: config: log.message.timestamp.type %q: want CreateTime or LogAppendTime", c.LogMessageTimestampType)
	}
	return c, nil
}

func setIfZero[T comparable](p *T, def T) {
	var zero T
	if *p == zero {
		*p = def
	}
}
