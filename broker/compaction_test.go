package broker_test

// Log compaction end to end: a topic created with cleanup.policy=compact,
// keyed records produced with franz-go, the broker's background cleaner,
// and a consumer reading from the beginning.

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kspring/kspring/broker"
)

func TestCompactionKeepsLatestValuePerKey(t *testing.T) {
	b := startBroker(t, func(c *broker.Config) {
		c.LogRetentionCheckIntervalMs = 20 * time.Millisecond
		c.LogCleanerBackoffMs = 20 * time.Millisecond
	})
	addr := b.Addr()
	const topic = "compaction-latest"
	createTopic(t, addr, topic, 1, map[string]string{
		"cleanup.policy":      "compact",
		"segment.bytes":       "1024", // a segment per round or so
		"segment.ms":          "200",  // and the last one rolled soon, so that all of it is cleanable
		"delete.retention.ms": "0",    // tombstones go at the first clean
		// The tombstone alone is dirty enough for a clean.
		"min.cleanable.dirty.ratio": "0.01",
	})

	const keys, rounds = 20, 12
	cl := newKgo(t, addr, kgo.DefaultProduceTopic(topic), kgo.ProducerLinger(0))
	for round := range rounds {
		recs := make([]*kgo.Record, keys)
		for k := range recs {
			recs[k] = compactionRecord(k, round)
		}
		produceSync(t, cl, recs...)
	}
	// k0 is deleted: a tombstone, gone with its values after the clean.
	produceSync(t, cl, &kgo.Record{Key: []byte("k0")})

	// Wait for the cleaner: the partition read from the start holds one
	// record per live key.
	c := dialWire(t, addr)
	eventually(t, func() error {
		if n := len(compactionReadAll(t, c, topic)); n != keys-1 {
			return fmt.Errorf("%d records in the partition, want %d", n, keys-1)
		}
		return nil
	})

	cons := newKgo(t, addr, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	got := pollN(t, cons, keys-1)
	require.Len(t, got, keys-1)
	last := int64(-1)
	for i, r := range got {
		want := compactionRecord(i+1, rounds-1)
		require.Equal(t, string(want.Key), string(r.Key))
		require.Equal(t, string(want.Value), string(r.Value))
		require.Greater(t, r.Offset, last)
		last = r.Offset
	}
	// Offsets never moved: the last value of the last key kept the offset it
	// was written at, one before the tombstone.
	require.Equal(t, int64(keys*rounds-1), last)

	// The cleaned log survives a restart.
	b = restart(t, b)
	require.Len(t, compactionReadAll(t, dialWire(t, b.Addr()), topic), keys-1)
}

// compactionReadAll reads partition 0 of topic from the start to the high
// watermark with raw fetches. A compacted log has gaps and may hold empty
// batches (an idempotent producer's last), so it moves on by each batch's
// last offset rather than by the records it finds.
func compactionReadAll(t *testing.T, c *wireConn, topic string) []fetchedRecord {
	t.Helper()
	var out []fetchedRecord
	for next := int64(0); ; {
		sp := fetchRaw(t, c, topic, 0, next)
		requireCode(t, nil, sp.ErrorCode)
		hs, recs := decodeBatches(t, sp.RecordBatches)
		for _, r := range recs {
			if r.Offset >= next {
				out = append(out, r)
			}
		}
		if len(hs) == 0 {
			require.Equal(t, sp.HighWatermark, next, "fetch at %d returned nothing below the high watermark", next)
			return out
		}
		next = hs[len(hs)-1].LastOffset() + 1
	}
}

// compactionRecord is key k's value in round.
func compactionRecord(k, round int) *kgo.Record {
	return &kgo.Record{Key: fmt.Appendf(nil, "k%d", k), Value: fmt.Appendf(nil, "k%d-round%d", k, round)}
}

func TestCompactedTopicRejectsRecordsWithoutKey(t *testing.T) {
	b := startBroker(t)
	createTopic(t, b.Addr(), "keyed", 1, map[string]string{"cleanup.policy": "compact"})
	cl := newKgo(t, b.Addr(), kgo.DisableIdempotentWrite(), kgo.RecordRetries(1))
	res := cl.ProduceSync(testCtx(t), &kgo.Record{Topic: "keyed", Value: []byte("no key")})
	require.ErrorIs(t, res.FirstErr(), kerr.InvalidRecord)
	// Keyed records still go in, and nothing of the rejected one was stored.
	produceSync(t, cl, &kgo.Record{Topic: "keyed", Key: []byte("k"), Value: []byte("v")})
	end, err := kadm.NewClient(cl).ListEndOffsets(testCtx(t), "keyed")
	require.NoError(t, err)
	o, _ := end.Lookup("keyed", 0)
	require.Equal(t, int64(1), o.Offset)
}
