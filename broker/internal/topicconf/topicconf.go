// Package topicconf is the schema of Kafka's topic-level configs: their names,
// types, the broker setting each one defaults to, and validation.
//
// A topic's effective config is its overrides (set with CreateTopics or
// IncrementalAlterConfigs) over the broker's values. [Resolve] computes it;
// [Validate] checks one override before it is stored. The package holds no
// state and is safe for concurrent use.
package topicconf

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Def describes one topic config.
type Def struct {
	Name      string          // topic-level key, e.g. "retention.ms"
	BrokerKey string          // the broker-level key it defaults to, e.g. "log.retention.ms"
	Type      kmsg.ConfigType // type reported by DescribeConfigs
	Default   string          // Kafka's default when the broker does not set it
	check     func(string) error
}

func long(min int64) func(string) error {
	return func(v string) error {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return fmt.Errorf("%q is not a number", v)
		}
		if n < min {
			return fmt.Errorf("%d is below the minimum %d", n, min)
		}
		return nil
	}
}

func oneOf(allowed ...string) func(string) error {
	return func(v string) error {
		if !slices.Contains(allowed, v) {
			return fmt.Errorf("%q is not one of %s", v, strings.Join(allowed, ", "))
		}
		return nil
	}
}

func policy(v string) error {
	parts := strings.Split(strings.ReplaceAll(v, " ", ""), ",")
	for _, p := range parts {
		if p != "delete" && p != "compact" {
			return fmt.Errorf("%q is not a list of delete and compact", v)
		}
	}
	return nil
}

func ratio(v string) error {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 || f > 1 {
		return fmt.Errorf("%q is not a ratio between 0 and 1", v)
	}
	return nil
}

var maxLong = strconv.FormatInt(math.MaxInt64, 10)

var defs = []Def{
	{"cleanup.policy", "log.cleanup.policy", kmsg.ConfigTypeList, "delete", policy},
	{"compression.type", "compression.type", kmsg.ConfigTypeString, "producer",
		oneOf("producer", "uncompressed", "gzip", "snappy", "lz4", "zstd")},
	{"delete.retention.ms", "log.cleaner.delete.retention.ms", kmsg.ConfigTypeLong, "86400000", long(0)},
	{"file.delete.delay.ms", "log.segment.delete.delay.ms", kmsg.ConfigTypeLong, "60000", long(0)},
	{"flush.messages", "log.flush.interval.messages", kmsg.ConfigTypeLong, maxLong, long(1)},
	{"flush.ms", "log.flush.interval.ms", kmsg.ConfigTypeLong, maxLong, long(0)},
	{"index.interval.bytes", "log.index.interval.bytes", kmsg.ConfigTypeInt, "4096", long(0)},
	{"max.compaction.lag.ms", "log.cleaner.max.compaction.lag.ms", kmsg.ConfigTypeLong, maxLong, long(1)},
	{"max.message.bytes", "message.max.bytes", kmsg.ConfigTypeInt, "1048588", long(0)},
	{"message.timestamp.type", "log.message.timestamp.type", kmsg.ConfigTypeString, "CreateTime",
		oneOf("CreateTime", "LogAppendTime")},
	{"min.cleanable.dirty.ratio", "log.cleaner.min.cleanable.ratio", kmsg.ConfigTypeDouble, "0.5", ratio},
	{"min.compaction.lag.ms", "log.cleaner.min.compaction.lag.ms", kmsg.ConfigTypeLong, "0", long(0)},
	{"min.insync.replicas", "min.insync.replicas", kmsg.ConfigTypeInt, "1", long(1)},
	{"retention.bytes", "log.retention.bytes", kmsg.ConfigTypeLong, "-1", long(-1)},
	{"retention.ms", "log.retention.ms", kmsg.ConfigTypeLong, "604800000", long(-1)},
	{"segment.bytes", "log.segment.bytes", kmsg.ConfigTypeInt, "1073741824", long(14)},
	{"segment.index.bytes", "log.index.size.max.bytes", kmsg.ConfigTypeInt, "10485760", long(8)},
	{"segment.ms", "log.roll.ms", kmsg.ConfigTypeLong, "604800000", long(1)},
	{"unclean.leader.election.enable", "unclean.leader.election.enable", kmsg.ConfigTypeBoolean, "false",
		oneOf("true", "false")},
}

// Defs returns every topic config, sorted by name. The slice is a copy.
func Defs() []Def { return slices.Clone(defs) }

// Lookup returns the definition of a topic config key.
func Lookup(name string) (Def, bool) {
	i := slices.IndexFunc(defs, func(d Def) bool { return d.Name == name })
	if i < 0 {
		return Def{}, false
	}
	return defs[i], true
}

// Validate checks a topic config override. Unknown keys and bad values return
// an error that says which and why; callers answer with INVALID_CONFIG.
func Validate(name, value string) error {
	d, ok := Lookup(name)
	if !ok {
		return fmt.Errorf("unknown topic config %q", name)
	}
	if err := d.check(value); err != nil {
		return fmt.Errorf("invalid value for %s: %w", name, err)
	}
	return nil
}

// Source says where an effective value comes from.
type Source int8

// Sources, numbered as DescribeConfigs reports them.
const (
	SourceTopic        Source = 1 // DYNAMIC_TOPIC_CONFIG
	SourceStaticBroker Source = 4 // STATIC_BROKER_CONFIG
	SourceDefault      Source = 5 // DEFAULT_CONFIG
)

// Value is one effective topic config.
type Value struct {
	Def
	Value  string
	Source Source
}

// Resolve returns the effective value of every topic config, sorted by name:
// the topic's override, else the broker's value for the matching broker key,
// else Kafka's default. Neither map is modified or kept.
func Resolve(overrides, broker map[string]string) []Value {
	out := make([]Value, 0, len(defs))
	for _, d := range defs {
		v := Value{Def: d, Value: d.Default, Source: SourceDefault}
		if b, ok := broker[d.BrokerKey]; ok {
			v.Value, v.Source = b, SourceStaticBroker
		}
		if o, ok := overrides[d.Name]; ok {
			v.Value, v.Source = o, SourceTopic
		}
		out = append(out, v)
	}
	return out
}

// Effective is Resolve as a map from topic key to value.
func Effective(overrides, broker map[string]string) map[string]string {
	m := make(map[string]string, len(defs))
	for _, v := range Resolve(overrides, broker) {
		m[v.Name] = v.Value
	}
	return m
}

// Merge returns a copy of overrides with set applied and the keys of del removed.
func Merge(overrides, set map[string]string, del []string) map[string]string {
	m := maps.Clone(overrides)
	if m == nil {
		m = map[string]string{}
	}
	maps.Copy(m, set)
	for _, k := range del {
		delete(m, k)
	}
	return m
}
