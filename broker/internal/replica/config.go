package replica

import (
	"fmt"
	"strconv"
	"time"

	"github.com/kspring/kspring/broker/internal/log"
)

// Policy is the part of a topic's config that the produce path enforces
// outside the log.
type Policy struct {
	MaxMessageBytes   int32 // max.message.bytes: largest batch accepted
	LogAppendTime     bool  // message.timestamp.type=LogAppendTime
	MinInsyncReplicas int16 // min.insync.replicas, for acks=all
}

// Settings is a partition's effective configuration.
type Settings struct {
	Log    log.Config
	Policy Policy
}

// SettingsFromConfigs builds a partition's settings from a topic's effective
// config (every topic key present, as topicconf.Effective returns it).
func SettingsFromConfigs(eff map[string]string) (Settings, error) {
	var p parser
	p.eff = eff
	cfg := log.DefaultConfig()
	cfg.SegmentBytes = p.int("segment.bytes")
	cfg.SegmentMs = p.ms("segment.ms")
	cfg.RetentionMs = p.ms("retention.ms")
	cfg.RetentionBytes = p.int("retention.bytes")
	cfg.FlushIntervalMessages = p.int("flush.messages")
	cfg.FlushIntervalMs = p.ms("flush.ms")
	cfg.IndexIntervalBytes = int32(p.int("index.interval.bytes"))
	cfg.SegmentIndexBytes = int32(p.int("segment.index.bytes"))
	cfg.FileDeleteDelay = p.ms("file.delete.delay.ms")
	cfg.CleanupPolicy = eff["cleanup.policy"]
	cfg.DeleteRetentionMs = p.ms("delete.retention.ms")
	cfg.MinCompactionLagMs = p.ms("min.compaction.lag.ms")
	cfg.MaxCompactionLagMs = p.ms("max.compaction.lag.ms")
	cfg.MinCleanableDirtyRatio = p.float("min.cleanable.dirty.ratio")
	pol := Policy{
		MaxMessageBytes:   int32(p.int("max.message.bytes")),
		LogAppendTime:     eff["message.timestamp.type"] == "LogAppendTime",
		MinInsyncReplicas: int16(p.int("min.insync.replicas")),
	}
	if p.err != nil {
		return Settings{}, p.err
	}
	return Settings{Log: cfg, Policy: pol}, nil
}

type parser struct {
	eff map[string]string
	err error
}

func (p *parser) int(key string) int64 {
	v, ok := p.eff[key]
	if !ok {
		if p.err == nil {
			p.err = fmt.Errorf("topic config %s is missing", key)
		}
		return 0
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil && p.err == nil {
		p.err = fmt.Errorf("topic config %s=%q: %w", key, v, err)
	}
	return n
}

func (p *parser) float(key string) float64 {
	v, ok := p.eff[key]
	if !ok {
		if p.err == nil {
			p.err = fmt.Errorf("topic config %s is missing", key)
		}
		return 0
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil && p.err == nil {
		p.err = fmt.Errorf("topic config %s=%q: %w", key, v, err)
	}
	return f
}

// ms reads a millisecond setting; negative means "never" and maps to -1, and
// values too large for a Duration saturate.
func (p *parser) ms(key string) time.Duration {
	n := p.int(key)
	switch {
	case n < 0:
		return -1
	case n > int64(1<<63-1)/int64(time.Millisecond):
		return 1<<63 - 1
	}
	return time.Duration(n) * time.Millisecond
}
