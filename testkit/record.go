package testkit

import (
	"fmt"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Record is a Kafka record as the helpers produce and return it. Build one
// with [KeyValue] or [Value], or as a literal.
type Record struct {
	Topic     string
	Partition int32
	Offset    int64
	Key       []byte // nil: no key
	Value     []byte // nil: a null value (a tombstone)
	Headers   []Header
	Timestamp time.Time

	// pinned makes Produce write the record to Partition; otherwise Kafka's
	// default partitioner chooses.
	pinned bool
}

// Header is a record header. Kafka keeps headers in order and allows a key
// more than once.
type Header struct {
	Key   string
	Value []byte
}

// KeyValue returns a record with a key and a value.
func KeyValue(key, value string) Record {
	return Record{Key: []byte(key), Value: []byte(value)}
}

// Value returns a record with a value and no key.
func Value(value string) Record { return Record{Value: []byte(value)} }

// WithHeader returns r with a header appended.
func (r Record) WithHeader(key, value string) Record {
	r.Headers = append(r.Headers[:len(r.Headers):len(r.Headers)], Header{key, []byte(value)})
	return r
}

// ToPartition returns r set to be produced to partition p. Without it,
// [Produce] leaves the choice to Kafka's default partitioner: the murmur2
// hash of the key, as Java clients and the template choose.
func (r Record) ToPartition(p int32) Record {
	r.Partition, r.pinned = p, true
	return r
}

// Header returns the value of the last header named key, as Spring's
// lastHeader does, and whether there is one.
func (r Record) Header(key string) (string, bool) {
	for i := len(r.Headers) - 1; i >= 0; i-- {
		if r.Headers[i].Key == key {
			return string(r.Headers[i].Value), true
		}
	}
	return "", false
}

// String formats r for failure messages: topic/partition@offset (for a
// record that has been written), key, value and headers.
func (r Record) String() string {
	var parts []string
	if r.Topic != "" {
		parts = append(parts, fmt.Sprintf("%s/%d@%d", r.Topic, r.Partition, r.Offset))
	}
	if r.Key != nil {
		parts = append(parts, fmt.Sprintf("key=%q", truncate(r.Key)))
	}
	if r.Value == nil {
		parts = append(parts, "value=null")
	} else {
		parts = append(parts, fmt.Sprintf("value=%q", truncate(r.Value)))
	}
	for _, h := range r.Headers {
		parts = append(parts, fmt.Sprintf("%s=%q", h.Key, truncate(h.Value)))
	}
	return strings.Join(parts, " ")
}

func truncate(b []byte) string {
	const limit = 200
	if len(b) > limit {
		return string(b[:limit]) + "..."
	}
	return string(b)
}

func fromKgo(kr *kgo.Record) Record {
	r := Record{
		Topic:     kr.Topic,
		Partition: kr.Partition,
		Offset:    kr.Offset,
		Key:       kr.Key,
		Value:     kr.Value,
		Timestamp: kr.Timestamp,
	}
	for _, h := range kr.Headers {
		r.Headers = append(r.Headers, Header{h.Key, h.Value})
	}
	return r
}

func (r Record) toKgo(topic string) *kgo.Record {
	kr := &kgo.Record{Topic: topic, Key: r.Key, Value: r.Value, Partition: r.Partition}
	if !r.Timestamp.IsZero() {
		kr.Timestamp = r.Timestamp
	}
	for _, h := range r.Headers {
		kr.Headers = append(kr.Headers, kgo.RecordHeader{Key: h.Key, Value: h.Value})
	}
	return kr
}

// listRecords formats records for a failure message, one per line.
func listRecords(rs []Record) string {
	if len(rs) == 0 {
		return " (none)"
	}
	var b strings.Builder
	for _, r := range rs {
		b.WriteString("\n\t")
		b.WriteString(r.String())
	}
	return b.String()
}
