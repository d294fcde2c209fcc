package testkit

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Produce writes records to topic through the bootstrap list addr and returns
// them as written: with topic, partition, offset and timestamp. It returns
// once all in-sync replicas acknowledged every record, within WaitTimeout,
// and fails the test naming the record that failed.
//
// Records go where Kafka's default partitioner puts them: a keyed record to
// the murmur2 hash of its key (the partition Java clients and the template
// choose), unkeyed records round-robin from partition 0 on each call;
// [Record.ToPartition] pins one. The topic is auto-created if the broker
// allows it.
func Produce(t testing.TB, addr, topic string, records ...Record) []Record {
	t.Helper()
	if len(records) == 0 {
		return nil
	}
	cl := newClient(t, addr, kgo.RecordPartitioner(newPartitioner()), kgo.AllowAutoTopicCreation(), kgo.ProducerLinger(0))
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), WaitTimeout)
	defer cancel()
	krs := make([]*kgo.Record, len(records))
	index := make(map[*kgo.Record]int, len(records))
	for i, r := range records {
		krs[i] = r.toKgo(topic)
		if r.pinned {
			krs[i].Context = context.WithValue(ctx, pinnedKey{}, true)
		}
		index[krs[i]] = i
	}
	out := make([]Record, len(records))
	failed := map[int]error{}
	for _, res := range cl.ProduceSync(ctx, krs...) {
		i := index[res.Record]
		if res.Err != nil {
			failed[i] = res.Err
		}
		out[i] = fromKgo(res.Record)
	}
	if len(failed) > 0 {
		var b strings.Builder
		for _, i := range slices.Sorted(maps.Keys(failed)) {
			fmt.Fprintf(&b, "\n\trecord %d (%s): %v", i+1, records[i], failed[i])
		}
		t.Fatalf("testkit: produce to %q at %s: %d of %d records failed:%s", topic, addr, len(failed), len(records), b.String())
	}
	return out
}

type pinnedKey struct{}

// newPartitioner honours ToPartition, hashes keys as Kafka does and spreads
// unkeyed records round-robin.
func newPartitioner() kgo.Partitioner {
	keys := kgo.StickyKeyPartitioner(nil)
	var next atomic.Uint32
	return kgo.BasicConsistentPartitioner(func(topic string) func(*kgo.Record, int) int {
		byKey := keys.ForTopic(topic)
		return func(r *kgo.Record, n int) int {
			switch {
			case r.Context != nil && r.Context.Value(pinnedKey{}) != nil:
				return int(r.Partition)
			case r.Key != nil:
				return byKey.Partition(r, n)
			default:
				return int(next.Add(1)-1) % n
			}
		}
	})
}
