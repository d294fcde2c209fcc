package log

import (
	"math"
	"strings"
	"time"
)

// Config holds a partition log's settings, named after Kafka's topic and
// broker configuration keys. A zero field means "use the default", so the
// zero Config is usable and safe; the exceptions are FlushIntervalMs (0:
// never flush by time), FileDeleteDelay (0: delete at once) and the
// compaction settings DeleteRetentionMs, MinCompactionLagMs and
// MinCleanableDirtyRatio, whose zero values mean what they say (Kafka
// accepts 0 for each). DefaultConfig returns the defaults spelled out.
type Config struct {
	SegmentBytes          int64         // segment.bytes, default 1 GiB (at most 2 GiB - 1)
	SegmentMs             time.Duration // segment.ms, default 7 days
	RetentionMs           time.Duration // retention.ms; < 0 = forever; default (and 0) 7 days
	RetentionBytes        int64         // retention.bytes; < 0 = unlimited; default (and 0) -1
	FlushIntervalMessages int64         // log.flush.interval.messages; default math.MaxInt64 (never by count)
	FlushIntervalMs       time.Duration // log.flush.interval.ms; <= 0 = never by time
	IndexIntervalBytes    int32         // index.interval.bytes, default 4096
	SegmentIndexBytes     int32         // segment.index.bytes, default 10 MiB (roll when an index is full)
	FileDeleteDelay       time.Duration // file.delete.delay.ms, default 60s (0 here is taken as given: delete at once)
	CleanupPolicy         string        // cleanup.policy: "delete" (default), "compact" or "compact,delete"

	// Compaction (cleanup.policy includes "compact"), see Log.Compact.
	DeleteRetentionMs      time.Duration // delete.retention.ms: how long tombstones outlive their segment; default 1 day
	MinCompactionLagMs     time.Duration // min.compaction.lag.ms: records younger than this are not compacted; default 0
	MaxCompactionLagMs     time.Duration // max.compaction.lag.ms: dirty records older than this are compacted whatever the ratio; <= 0 = never (default)
	MinCleanableDirtyRatio float64       // min.cleanable.dirty.ratio: dirty share of the log that triggers a clean; default 0.5

	// ProducerIDExpiration is the broker's producer.id.expiration.ms: an
	// idempotent producer's state (epoch, recent sequences) is forgotten
	// once it has not written for this long; default 1 day, < 0 never. A
	// producer that comes back after that is taken as new, as in Kafka.
	ProducerIDExpiration time.Duration

	// MessageTimestampType is message.timestamp.type: "CreateTime" (default)
	// or "LogAppendTime", in which case Append stamps every batch with the
	// append time.
	MessageTimestampType string
}

// Defaults, as in Kafka.
const (
	DefaultSegmentBytes       = 1 << 30
	DefaultSegmentMs          = 7 * 24 * time.Hour
	DefaultRetentionMs        = 7 * 24 * time.Hour
	DefaultIndexIntervalBytes = 4096
	DefaultSegmentIndexBytes  = 10 << 20
	DefaultFileDeleteDelay    = time.Minute
	DefaultDeleteRetentionMs  = 24 * time.Hour
	DefaultMinCleanableRatio  = 0.5

	DefaultProducerIDExpiration = 24 * time.Hour
)

// DefaultConfig returns Kafka's defaults.
func DefaultConfig() Config {
	return Config{
		SegmentBytes:          DefaultSegmentBytes,
		SegmentMs:             DefaultSegmentMs,
		RetentionMs:           DefaultRetentionMs,
		RetentionBytes:        -1,
		FlushIntervalMessages: math.MaxInt64,
		FlushIntervalMs:       0,
		IndexIntervalBytes:    DefaultIndexIntervalBytes,
		SegmentIndexBytes:     DefaultSegmentIndexBytes,
		FileDeleteDelay:       DefaultFileDeleteDelay,
		ProducerIDExpiration:  DefaultProducerIDExpiration,
		CleanupPolicy:         "delete",
		MessageTimestampType:  "CreateTime",

		DeleteRetentionMs:      DefaultDeleteRetentionMs,
		MinCompactionLagMs:     0,
		MaxCompactionLagMs:     math.MaxInt64,
		MinCleanableDirtyRatio: DefaultMinCleanableRatio,
	}
}

// normalized fills zero fields with defaults and clamps sizes to what the
// file formats can address.
func (c Config) normalized() Config {
	if c.RetentionMs == 0 {
		c.RetentionMs = DefaultRetentionMs
	}
	if c.RetentionBytes == 0 {
		c.RetentionBytes = -1
	}
	if c.SegmentBytes <= 0 {
		c.SegmentBytes = DefaultSegmentBytes
	}
	c.SegmentBytes = min(c.SegmentBytes, math.MaxInt32)
	if c.SegmentMs <= 0 {
		c.SegmentMs = DefaultSegmentMs
	}
	if c.FlushIntervalMessages <= 0 {
		c.FlushIntervalMessages = math.MaxInt64
	}
	if c.IndexIntervalBytes <= 0 {
		c.IndexIntervalBytes = DefaultIndexIntervalBytes
	}
	if c.SegmentIndexBytes <= 0 {
		c.SegmentIndexBytes = DefaultSegmentIndexBytes
	}
	c.SegmentIndexBytes = max(c.SegmentIndexBytes, 4*timeEntrySize)
	if c.FileDeleteDelay < 0 {
		c.FileDeleteDelay = 0
	}
	if c.ProducerIDExpiration == 0 {
		c.ProducerIDExpiration = DefaultProducerIDExpiration
	}
	if c.CleanupPolicy == "" {
		c.CleanupPolicy = "delete"
	}
	if c.MessageTimestampType == "" {
		c.MessageTimestampType = "CreateTime"
	}
	c.DeleteRetentionMs = max(c.DeleteRetentionMs, 0)
	c.MinCompactionLagMs = max(c.MinCompactionLagMs, 0)
	if c.MaxCompactionLagMs <= 0 {
		c.MaxCompactionLagMs = math.MaxInt64
	}
	switch r := c.MinCleanableDirtyRatio; {
	case math.IsNaN(r):
		c.MinCleanableDirtyRatio = DefaultMinCleanableRatio
	case r < 0:
		c.MinCleanableDirtyRatio = 0
	case r > 1:
		c.MinCleanableDirtyRatio = 1
	}
	return c
}

// policyHas reports whether the comma-separated cleanup.policy lists p.
func (c Config) policyHas(p string) bool {
	for _, v := range strings.Split(c.CleanupPolicy, ",") {
		if strings.TrimSpace(v) == p {
			return true
		}
	}
	return false
}

// deletes reports whether retention deletes old segments (cleanup.policy
// contains "delete", or is empty).
func (c Config) deletes() bool { return c.CleanupPolicy == "" || c.policyHas("delete") }

// Compacts reports whether cleanup.policy includes "compact": the log keeps
// the latest record per key, and producers must send keys.
func (c Config) Compacts() bool { return c.policyHas("compact") }

// rollMs is how old the active segment may grow: segment.ms, or for a
// compacted log max.compaction.lag.ms if smaller, so that no record waits
// in the active segment, which is never cleaned, past its maximum lag.
func (c Config) rollMs() time.Duration {
	if c.Compacts() {
		return min(c.SegmentMs, c.MaxCompactionLagMs)
	}
	return c.SegmentMs
}

func (c Config) logAppendTime() bool { return c.MessageTimestampType == "LogAppendTime" }
