package log

import (
	"math"
	"time"
)

// Config holds a partition log's settings, named after Kafka's topic and
// broker configuration keys. A zero field means "use the default", so the
// zero Config is usable and safe; the exceptions are FlushIntervalMs (0:
// never flush by time) and FileDeleteDelay (0: delete at once), whose zero
// values mean what they say. DefaultConfig returns the defaults spelled out.
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
		CleanupPolicy:         "delete",
		MessageTimestampType:  "CreateTime",
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
	if c.CleanupPolicy == "" {
		c.CleanupPolicy = "delete"
	}
	if c.MessageTimestampType == "" {
		c.MessageTimestampType = "CreateTime"
	}
	return c
}

// deletes reports whether retention deletes old segments (cleanup.policy
// contains "delete").
func (c Config) deletes() bool {
	switch c.CleanupPolicy {
	case "compact":
		return false
	}
	return true
}

func (c Config) logAppendTime() bool { return c.MessageTimestampType == "LogAppendTime" }
