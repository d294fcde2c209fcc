package listener

import (
	"slices"
	"strings"
	"sync/atomic"
)

// PartitionLag is how far a consumer of a container is behind on one
// partition it holds: the partition's high watermark (as of the consumer's
// last fetch) less its position (the next offset to process). It is the
// records-lag Kafka's Java consumer reports, and what
// kafka_consumergroup_lag shows for a group that commits what it processed.
type PartitionLag struct {
	ListenerID string
	GroupID    string
	ClientID   string // the consumer's client.id
	Topic      string
	Partition  int32
	// Position is the next offset to process; -1 while unknown (explicit
	// partitions before their first record).
	Position int64
	// HighWatermark is the partition's high watermark at the last fetch.
	HighWatermark int64
	// Lag is HighWatermark less Position, never negative; 0 while the
	// position is unknown.
	Lag int64
}

// partitionLag is what a worker keeps for the lag of its partition.
type partitionLag struct {
	hw   func() int64 // sarama's claim or partition consumer
	next atomic.Int64 // the next offset to process; -1: unknown
}

// trackLag starts tracking the lag of tp, held by a worker from now on.
func (m *member) trackLag(tp TopicPartition, hw func() int64, start int64) *partitionLag {
	pl := &partitionLag{hw: hw}
	pl.next.Store(start)
	m.lags.Store(tp, pl)
	return pl
}

// untrackLag stops tracking pl, unless another worker took tp over.
func (m *member) untrackLag(tp TopicPartition, pl *partitionLag) { m.lags.CompareAndDelete(tp, pl) }

// appendLag appends the lag of every partition the member holds.
func (m *member) appendLag(out []PartitionLag) []PartitionLag {
	m.lags.Range(func(k, v any) bool {
		tp, pl := k.(TopicPartition), v.(*partitionLag)
		l := PartitionLag{ListenerID: m.c.id, GroupID: m.c.groupID, ClientID: m.clientID, Topic: tp.Topic, Partition: tp.Partition,
			Position: pl.next.Load(), HighWatermark: pl.hw()}
		if l.Position >= 0 {
			l.Lag = max(l.HighWatermark-l.Position, 0)
		}
		out = append(out, l)
		return true
	})
	return out
}

// Lag returns the lag of every partition the container's consumers hold
// now, sorted by topic and partition; empty while stopped. It asks no
// broker: the high watermarks are those of the consumers' last fetches.
func (c *Container) Lag() []PartitionLag {
	c.mu.Lock()
	r := c.run
	c.mu.Unlock()
	if r == nil {
		return nil
	}
	var out []PartitionLag
	for _, m := range r.members {
		out = m.appendLag(out)
	}
	slices.SortFunc(out, func(a, b PartitionLag) int {
		if c := strings.Compare(a.Topic, b.Topic); c != 0 {
			return c
		}
		return int(a.Partition - b.Partition)
	})
	return out
}

// Lag returns the lag of every container, in registration order (see
// [Container.Lag]).
func (r *Registry) Lag() []PartitionLag {
	var out []PartitionLag
	for _, c := range r.Containers() {
		out = append(out, c.Lag()...)
	}
	return out
}
