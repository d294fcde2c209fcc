package group

import "time"

// Config holds the coordinator's settings under Kafka's broker property names.
//
// A zero field takes Kafka's default, except InitialRebalanceDelay and
// MaxGroupSize whose zero values are meaningful: no initial delay (what tests
// want) and no size limit. DefaultConfig returns Kafka's defaults for every
// field, including the 3s initial rebalance delay.
type Config struct {
	// OffsetsTopicPartitions is offsets.topic.num.partitions (default 50):
	// the partition count of __consumer_offsets, which decides
	// PartitionFor. It must not change once groups have been stored.
	OffsetsTopicPartitions int32
	// InitialRebalanceDelay is group.initial.rebalance.delay.ms (Kafka: 3s):
	// how long the first rebalance of an empty group waits for more members,
	// extended by the same delay while members keep arriving, up to the
	// group's rebalance timeout. Zero completes the first join at once.
	InitialRebalanceDelay time.Duration
	// MinSessionTimeout and MaxSessionTimeout are
	// group.min.session.timeout.ms (6s) and group.max.session.timeout.ms
	// (30m): JoinGroup with a session timeout outside them gets
	// INVALID_SESSION_TIMEOUT.
	MinSessionTimeout, MaxSessionTimeout time.Duration
	// OffsetsRetention is offsets.retention.minutes (7 days): committed
	// offsets of a group that has been empty this long are deleted.
	OffsetsRetention time.Duration
	// OffsetsRetentionCheckInterval is offsets.retention.check.interval.ms
	// (10 min): how often expired offsets are looked for.
	OffsetsRetentionCheckInterval time.Duration
	// MaxGroupSize is group.max.size: JoinGroup beyond it gets
	// GROUP_MAX_SIZE_REACHED. Zero means no limit (Kafka: Int.MaxValue).
	MaxGroupSize int
	// OffsetMetadataMaxBytes is offset.metadata.max.bytes (4096): a commit
	// whose metadata string is longer gets OFFSET_METADATA_TOO_LARGE.
	OffsetMetadataMaxBytes int
	// OffsetsCommitTimeout is offsets.commit.timeout.ms (5s): how long an
	// append to __consumer_offsets may take before the request fails.
	OffsetsCommitTimeout time.Duration
}

// Kafka's defaults.
const (
	DefaultOffsetsTopicPartitions        = 50
	DefaultInitialRebalanceDelay         = 3 * time.Second
	DefaultMinSessionTimeout             = 6 * time.Second
	DefaultMaxSessionTimeout             = 30 * time.Minute
	DefaultOffsetsRetention              = 7 * 24 * time.Hour
	DefaultOffsetsRetentionCheckInterval = 10 * time.Minute
	DefaultOffsetMetadataMaxBytes        = 4096
	DefaultOffsetsCommitTimeout          = 5 * time.Second
)

// DefaultConfig returns Kafka's defaults, including the 3s initial rebalance
// delay.
func DefaultConfig() Config {
	return Config{
		OffsetsTopicPartitions:        DefaultOffsetsTopicPartitions,
		InitialRebalanceDelay:         DefaultInitialRebalanceDelay,
		MinSessionTimeout:             DefaultMinSessionTimeout,
		MaxSessionTimeout:             DefaultMaxSessionTimeout,
		OffsetsRetention:              DefaultOffsetsRetention,
		OffsetsRetentionCheckInterval: DefaultOffsetsRetentionCheckInterval,
		OffsetMetadataMaxBytes:        DefaultOffsetMetadataMaxBytes,
		OffsetsCommitTimeout:          DefaultOffsetsCommitTimeout,
	}
}

// withDefaults fills zero fields with Kafka's defaults (see Config).
func (cfg Config) withDefaults() Config {
	d := DefaultConfig()
	if cfg.OffsetsTopicPartitions <= 0 {
		cfg.OffsetsTopicPartitions = d.OffsetsTopicPartitions
	}
	if cfg.InitialRebalanceDelay < 0 {
		cfg.InitialRebalanceDelay = 0
	}
	if cfg.MinSessionTimeout <= 0 {
		cfg.MinSessionTimeout = d.MinSessionTimeout
	}
	if cfg.MaxSessionTimeout <= 0 {
		cfg.MaxSessionTimeout = d.MaxSessionTimeout
	}
	if cfg.OffsetsRetention <= 0 {
		cfg.OffsetsRetention = d.OffsetsRetention
	}
	if cfg.OffsetsRetentionCheckInterval <= 0 {
		cfg.OffsetsRetentionCheckInterval = d.OffsetsRetentionCheckInterval
	}
	if cfg.MaxGroupSize < 0 {
		cfg.MaxGroupSize = 0
	}
	if cfg.OffsetMetadataMaxBytes <= 0 {
		cfg.OffsetMetadataMaxBytes = d.OffsetMetadataMaxBytes
	}
	if cfg.OffsetsCommitTimeout <= 0 {
		cfg.OffsetsCommitTimeout = d.OffsetsCommitTimeout
	}
	return cfg
}
