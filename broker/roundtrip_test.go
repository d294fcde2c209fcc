package broker_test

// Round trips through the broker with real clients: sarama at several
// protocol versions, and franz-go. Records go in with keys, headers,
// timestamps and every compression codec, and must come out unchanged.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kspring/kspring/broker"
	"github.com/kspring/kspring/broker/internal/batch"
)

// saramaVersions are the protocol versions every sarama round trip runs at:
// the oldest with record batches, the first with zstd, sarama's default, and
// the newest sarama knows.
var saramaVersions = []sarama.KafkaVersion{sarama.V0_11_0_0, sarama.V2_1_0_0, sarama.DefaultVersion, sarama.MaxVersion}

var saramaCodecs = []struct {
	codec  sarama.CompressionCodec
	stored batch.Codec
	since  sarama.KafkaVersion
}{
	{sarama.CompressionNone, batch.None, sarama.V0_11_0_0},
	{sarama.CompressionGZIP, batch.Gzip, sarama.V0_11_0_0},
	{sarama.CompressionSnappy, batch.Snappy, sarama.V0_11_0_0},
	{sarama.CompressionLZ4, batch.LZ4, sarama.V0_11_0_0},
	{sarama.CompressionZSTD, batch.Zstd, sarama.V2_1_0_0},
}

func saramaConfig(v sarama.KafkaVersion) *sarama.Config {
	cfg := sarama.NewConfig()
	cfg.Version = v
	cfg.ClientID = "kspring-e2e"
	cfg.Producer.Return.Successes = true
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Consumer.Return.Errors = true
	cfg.Metadata.Retry.Backoff = 10 * time.Millisecond
	return cfg
}

func newSaramaClient(t *testing.T, addr string, cfg *sarama.Config) sarama.Client {
	t.Helper()
	cl, err := sarama.NewClient([]string{addr}, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = cl.Close() })
	return cl
}

func newSyncProducer(t *testing.T, addr string, cfg *sarama.Config) sarama.SyncProducer {
	t.Helper()
	p, err := sarama.NewSyncProducer([]string{addr}, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// saramaConsume reads n messages of one partition from offset with a sarama
// consumer at cfg's version.
func saramaConsume(t *testing.T, addr string, cfg *sarama.Config, topic string, partition int32, offset int64, n int) []*sarama.ConsumerMessage {
	t.Helper()
	cons, err := sarama.NewConsumer([]string{addr}, cfg)
	require.NoError(t, err)
	defer func() { require.NoError(t, cons.Close()) }()
	pc, err := cons.ConsumePartition(topic, partition, offset)
	require.NoError(t, err)
	defer pc.AsyncClose()
	return saramaRead(t, pc, n)
}

// saramaRead reads n messages from pc within waitFor.
func saramaRead(t *testing.T, pc sarama.PartitionConsumer, n int) []*sarama.ConsumerMessage {
	t.Helper()
	timeout := time.NewTimer(waitFor)
	defer timeout.Stop()
	var out []*sarama.ConsumerMessage
	for len(out) < n {
		select {
		case m := <-pc.Messages():
			out = append(out, m)
		case err := <-pc.Errors():
			t.Fatalf("consume: %v", err)
		case <-timeout.C:
			t.Fatalf("got %d of %d messages within %v", len(out), n, waitFor)
		}
	}
	return out
}

func TestSaramaRoundTrip(t *testing.T) {
	t.Parallel()
	addr := startBroker(t).Addr()
	for _, v := range saramaVersions {
		t.Run(v.String(), func(t *testing.T) {
			t.Parallel()
			for _, c := range saramaCodecs {
				if !v.IsAtLeast(c.since) {
					continue
				}
				t.Run("sync/"+c.codec.String(), func(t *testing.T) { testSaramaSync(t, addr, v, c.codec, c.stored) })
			}
			t.Run("async", func(t *testing.T) { testSaramaAsync(t, addr, v) })
			t.Run("offsets", func(t *testing.T) { testSaramaOffsets(t, addr, v) })
			t.Run("idempotent", func(t *testing.T) { testSaramaIdempotent(t, addr, v) })
		})
	}
}

// testSaramaSync produces keyed messages with headers and timestamps in one
// batch, checks the broker stored them with the codec sent, and reads them
// back from the oldest offset.
func testSaramaSync(t *testing.T, addr string, v sarama.KafkaVersion, codec sarama.CompressionCodec, stored batch.Codec) {
	topic := fmt.Sprintf("sarama-sync-%s-%s", v, codec)
	cfg := saramaConfig(v)
	cfg.Producer.Compression = codec
	p := newSyncProducer(t, addr, cfg)

	const n = 20
	t0 := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	msgs := make([]*sarama.ProducerMessage, n)
	for i := range msgs {
		msgs[i] = &sarama.ProducerMessage{
			Topic:     topic,
			Key:       sarama.StringEncoder(fmt.Sprintf("k%d", i)),
			Value:     sarama.StringEncoder(strings.Repeat(fmt.Sprintf("value %d ", i), 10)),
			Headers:   []sarama.RecordHeader{{Key: []byte("h"), Value: []byte(fmt.Sprintf("hv%d", i))}},
			Timestamp: t0.Add(time.Duration(i) * time.Second),
		}
	}
	require.NoError(t, p.SendMessages(msgs))
	for i, m := range msgs {
		require.Equal(t, int32(0), m.Partition)
		require.Equal(t, int64(i), m.Offset, "offset of message %d", i)
	}

	// Stored as sent: the batch keeps the producer's codec.
	c := dialWire(t, addr)
	hs, recs := decodeBatches(t, fetchRaw(t, c, topic, 0, 0).RecordBatches)
	require.NotEmpty(t, hs)
	for _, h := range hs {
		require.Equal(t, stored, h.Compression(), "stored batch codec")
	}
	require.Len(t, recs, n)

	got := saramaConsume(t, addr, cfg, topic, 0, sarama.OffsetOldest, n)
	for i, m := range got {
		require.Equal(t, int64(i), m.Offset)
		require.Equal(t, fmt.Sprintf("k%d", i), string(m.Key))
		require.Equal(t, strings.Repeat(fmt.Sprintf("value %d ", i), 10), string(m.Value))
		require.Len(t, m.Headers, 1)
		require.Equal(t, "h", string(m.Headers[0].Key))
		require.Equal(t, fmt.Sprintf("hv%d", i), string(m.Headers[0].Value))
		require.True(t, t0.Add(time.Duration(i)*time.Second).Equal(m.Timestamp), "timestamp of %d: %v", i, m.Timestamp)
	}
}

// testSaramaAsync sends through an AsyncProducer and collects every success.
func testSaramaAsync(t *testing.T, addr string, v sarama.KafkaVersion) {
	topic := fmt.Sprintf("sarama-async-%s", v)
	cfg := saramaConfig(v)
	cfg.Producer.Return.Errors = true
	p, err := sarama.NewAsyncProducer([]string{addr}, cfg)
	require.NoError(t, err)

	const n = 50
	var wg sync.WaitGroup
	offsets := make(chan int64, n)
	errs := make(chan error, n)
	wg.Go(func() {
		for m := range p.Successes() {
			offsets <- m.Offset
		}
	})
	wg.Go(func() {
		for e := range p.Errors() {
			errs <- e
		}
	})
	for i := range n {
		p.Input() <- &sarama.ProducerMessage{Topic: topic, Value: sarama.StringEncoder(fmt.Sprintf("v%d", i))}
	}
	seen := map[int64]bool{}
	timeout := time.NewTimer(waitFor)
	defer timeout.Stop()
	for len(seen) < n {
		select {
		case off := <-offsets:
			require.False(t, seen[off], "offset %d acknowledged twice", off)
			seen[off] = true
		case err := <-errs:
			t.Fatalf("async produce: %v", err)
		case <-timeout.C:
			t.Fatalf("%d of %d acknowledgements within %v", len(seen), n, waitFor)
		}
	}
	p.AsyncClose()
	wg.Wait()
	for i := range int64(n) {
		require.True(t, seen[i], "offset %d not acknowledged", i)
	}

	got := saramaConsume(t, addr, cfg, topic, 0, sarama.OffsetOldest, n)
	for i, m := range got {
		require.Equal(t, int64(i), m.Offset)
		require.Equal(t, fmt.Sprintf("v%d", i), string(m.Value)) // one partition keeps send order
	}
}

// testSaramaOffsets consumes from an offset found by timestamp and from the
// newest offset.
func testSaramaOffsets(t *testing.T, addr string, v sarama.KafkaVersion) {
	topic := fmt.Sprintf("sarama-offsets-%s", v)
	cfg := saramaConfig(v)
	p := newSyncProducer(t, addr, cfg)
	t0 := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	for i := range 10 {
		_, off, err := p.SendMessage(&sarama.ProducerMessage{
			Topic: topic, Value: sarama.StringEncoder(fmt.Sprintf("v%d", i)),
			Timestamp: t0.Add(time.Duration(i) * time.Second),
		})
		require.NoError(t, err)
		require.Equal(t, int64(i), off)
	}

	cl := newSaramaClient(t, addr, cfg)
	off, err := cl.GetOffset(topic, 0, t0.Add(4500*time.Millisecond).UnixMilli())
	require.NoError(t, err)
	require.Equal(t, int64(5), off, "first offset at or after t0+4.5s")
	off, err = cl.GetOffset(topic, 0, sarama.OffsetOldest)
	require.NoError(t, err)
	require.Equal(t, int64(0), off)
	off, err = cl.GetOffset(topic, 0, sarama.OffsetNewest)
	require.NoError(t, err)
	require.Equal(t, int64(10), off)

	got := saramaConsume(t, addr, cfg, topic, 0, 5, 5)
	for i, m := range got {
		require.Equal(t, fmt.Sprintf("v%d", i+5), string(m.Value))
	}

	// From the newest offset: only what is produced afterwards. sarama
	// resolves OffsetNewest inside ConsumePartition.
	cons, err := sarama.NewConsumerFromClient(cl)
	require.NoError(t, err)
	defer func() { require.NoError(t, cons.Close()) }()
	pc, err := cons.ConsumePartition(topic, 0, sarama.OffsetNewest)
	require.NoError(t, err)
	defer pc.AsyncClose()
	for i := 10; i < 13; i++ {
		_, _, err := p.SendMessage(&sarama.ProducerMessage{Topic: topic, Value: sarama.StringEncoder(fmt.Sprintf("v%d", i))})
		require.NoError(t, err)
	}
	for i, m := range saramaRead(t, pc, 3) {
		require.Equal(t, int64(10+i), m.Offset)
		require.Equal(t, fmt.Sprintf("v%d", 10+i), string(m.Value))
	}
}

// testSaramaIdempotent produces with sarama's idempotent producer and checks
// that the stored batches carry its producer id and contiguous sequences.
func testSaramaIdempotent(t *testing.T, addr string, v sarama.KafkaVersion) {
	topic := fmt.Sprintf("sarama-idempotent-%s", v)
	cfg := saramaConfig(v)
	cfg.Producer.Idempotent = true
	cfg.Net.MaxOpenRequests = 1
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Producer.Retry.Max = 5
	p := newSyncProducer(t, addr, cfg)
	const n = 30
	for i := range n {
		_, off, err := p.SendMessage(&sarama.ProducerMessage{Topic: topic, Value: sarama.StringEncoder(fmt.Sprintf("v%d", i))})
		require.NoError(t, err)
		require.Equal(t, int64(i), off)
	}

	c := dialWire(t, addr)
	recs := fetchAll(t, c, topic, 0, 0)
	require.Equal(t, seq("v", n), valuesOf(recs))
	pid := recs[0].Batch.ProducerID
	require.GreaterOrEqual(t, pid, int64(0), "stored batches carry the producer id")
	next := int32(0)
	for _, r := range recs {
		h := r.Batch
		require.Equal(t, pid, h.ProducerID)
		if r.Offset == h.BaseOffset {
			require.Equal(t, next, h.BaseSequence, "batch at offset %d", h.BaseOffset)
			next = h.BaseSequence + h.NumRecords
		}
	}
	got := saramaConsume(t, addr, cfg, topic, 0, sarama.OffsetOldest, n)
	require.Len(t, got, n)
}

// ---- franz-go ----

func TestKgoRoundTrip(t *testing.T) {
	t.Parallel()
	addr := startBroker(t).Addr()
	const topic, partitions, n = "kgo-many", 6, 1200
	createTopic(t, addr, topic, partitions, nil)

	// franz-go's producer is idempotent by default.
	prod := newKgo(t, addr, kgo.DefaultProduceTopic(topic))
	recs := make([]*kgo.Record, n)
	for i := range recs {
		recs[i] = &kgo.Record{
			Key:     fmt.Appendf(nil, "k%d", i),
			Value:   fmt.Appendf(nil, "value-%d", i),
			Headers: []kgo.RecordHeader{{Key: "i", Value: fmt.Appendf(nil, "%d", i)}, {Key: "empty"}},
		}
	}
	produceSync(t, prod, recs...)
	pid, _, err := prod.ProducerID(testCtx(t))
	require.NoError(t, err)
	require.GreaterOrEqual(t, pid, int64(0), "franz-go got a producer id")

	// Offsets are dense per partition, and every partition got records.
	byPart := map[int32][]int64{}
	want := map[string]*kgo.Record{}
	for _, r := range recs {
		byPart[r.Partition] = append(byPart[r.Partition], r.Offset)
		want[string(r.Key)] = r
	}
	require.Len(t, byPart, partitions)
	for p, offs := range byPart {
		slices.Sort(offs)
		for i, off := range offs {
			require.Equal(t, int64(i), off, "partition %d", p)
		}
	}

	check := func(t *testing.T, got []*kgo.Record) {
		t.Helper()
		require.Len(t, got, n)
		seen := map[string]bool{}
		for _, r := range got {
			w, ok := want[string(r.Key)]
			require.True(t, ok, "unexpected key %q", r.Key)
			require.False(t, seen[string(r.Key)], "key %q read twice", r.Key)
			seen[string(r.Key)] = true
			require.Equal(t, w.Partition, r.Partition)
			require.Equal(t, w.Offset, r.Offset)
			require.Equal(t, string(w.Value), string(r.Value))
			require.Len(t, r.Headers, 2)
			require.Equal(t, "i", r.Headers[0].Key)
			require.Equal(t, string(w.Headers[0].Value), string(r.Headers[0].Value))
			require.Equal(t, "empty", r.Headers[1].Key)
			require.Empty(t, r.Headers[1].Value)
			require.Equal(t, w.Timestamp.UnixMilli(), r.Timestamp.UnixMilli())
		}
	}

	t.Run("from start", func(t *testing.T) {
		t.Run("ConsumePartitions", func(t *testing.T) {
			t.Parallel()
			offsets := map[int32]kgo.Offset{}
			for p := range int32(partitions) {
				offsets[p] = kgo.NewOffset().AtStart()
			}
			cl := newKgo(t, addr, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: offsets}))
			check(t, pollN(t, cl, n))
		})
		t.Run("ConsumeTopics", func(t *testing.T) {
			t.Parallel()
			check(t, consumeAll(t, addr, topic, n))
		})
	})
	// Consumers from the end get topics of their own: they produce to them.
	t.Run("from end", func(t *testing.T) {
		t.Run("ConsumePartitions", func(t *testing.T) {
			t.Parallel()
			topic := "kgo-end-partitions"
			createTopic(t, addr, topic, partitions, nil)
			produceSync(t, prod, oldRecords(topic, 60)...)
			offsets := map[int32]kgo.Offset{}
			for p := range int32(partitions) {
				offsets[p] = kgo.NewOffset().AtEnd()
			}
			cl := newKgo(t, addr, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: offsets}))
			requireOnlyNew(t, cl, prod, topic)
		})
		t.Run("ConsumeTopics", func(t *testing.T) {
			t.Parallel()
			topic := "kgo-end-topics"
			createTopic(t, addr, topic, partitions, nil)
			produceSync(t, prod, oldRecords(topic, 60)...)
			cl := newKgo(t, addr, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtEnd()))
			requireOnlyNew(t, cl, prod, topic)
		})
	})
}

// oldRecords returns n keyed records for topic with keys "old-<i>".
func oldRecords(topic string, n int) []*kgo.Record {
	recs := make([]*kgo.Record, n)
	for i := range recs {
		recs[i] = &kgo.Record{Topic: topic, Key: fmt.Appendf(nil, "old-%d", i), Value: []byte("old")}
	}
	return recs
}

// requireOnlyNew checks that a consumer started at the end of topic sees
// records produced after it started and none of those before. The consumer
// resolves "end" asynchronously, so new records are produced until one
// arrives; every record it returns must be one of the new ones.
func requireOnlyNew(t *testing.T, cons, prod *kgo.Client, topic string) {
	t.Helper()
	ctx := testCtx(t)
	for i := 0; ; i++ {
		produceSync(t, prod, &kgo.Record{Topic: topic, Key: fmt.Appendf(nil, "new-%d", i), Value: []byte("new")})
		pollCtx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		fs := cons.PollFetches(pollCtx)
		cancel()
		require.NoError(t, ctx.Err(), "no new record consumed within %v", waitFor)
		fs.EachError(func(topic string, p int32, err error) {
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("fetch %s[%d]: %v", topic, p, err)
			}
		})
		got := fs.Records()
		for _, r := range got {
			require.True(t, strings.HasPrefix(string(r.Key), "new-"), "consumer at end read old record %q at %d/%d", r.Key, r.Partition, r.Offset)
		}
		if len(got) > 0 {
			return
		}
	}
}

func TestKgoListOffsetsByTimestamp(t *testing.T) {
	t.Parallel()
	addr := startBroker(t).Addr()
	const topic = "kgo-times"
	createTopic(t, addr, topic, 1, nil)
	cl := newKgo(t, addr, kgo.DefaultProduceTopic(topic))
	t0 := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	for i := range 10 { // one record per batch: the time index sees each
		produceSync(t, cl, &kgo.Record{Value: fmt.Appendf(nil, "v%d", i), Timestamp: t0.Add(time.Duration(i) * time.Second)})
	}

	adm := kadm.NewClient(cl)
	ctx := testCtx(t)
	for _, tc := range []struct {
		name     string
		at       time.Time
		offset   int64
		recordTS time.Time
	}{
		{"before all", t0.Add(-time.Minute), 0, t0},
		{"exact", t0.Add(3 * time.Second), 3, t0.Add(3 * time.Second)},
		{"between", t0.Add(4500 * time.Millisecond), 5, t0.Add(5 * time.Second)},
		{"last", t0.Add(9 * time.Second), 9, t0.Add(9 * time.Second)},
	} {
		listed, err := adm.ListOffsetsAfterMilli(ctx, tc.at.UnixMilli(), topic)
		require.NoError(t, err, tc.name)
		lo, ok := listed.Lookup(topic, 0)
		require.True(t, ok, tc.name)
		require.NoError(t, lo.Err, tc.name)
		require.Equal(t, tc.offset, lo.Offset, tc.name)
		require.Equal(t, tc.recordTS.UnixMilli(), lo.Timestamp, tc.name)
	}

	// After every record: no offset (-1 on the wire; kadm reports the end).
	c := dialWire(t, addr)
	after := listOffset(t, c, topic, 0, t0.Add(time.Minute).UnixMilli())
	requireCode(t, nil, after.ErrorCode)
	require.Equal(t, int64(-1), after.Offset)
	listed, err := adm.ListOffsetsAfterMilli(ctx, t0.Add(time.Minute).UnixMilli(), topic)
	require.NoError(t, err)
	lo, _ := listed.Lookup(topic, 0)
	require.Equal(t, int64(10), lo.Offset)

	// Earliest, latest and max timestamp (KIP-734).
	require.Equal(t, int64(0), listOffset(t, c, topic, 0, -2).Offset)
	require.Equal(t, int64(10), listOffset(t, c, topic, 0, -1).Offset)
	requireCode(t, kerr.UnknownTopicOrPartition, listOffset(t, c, topic, 3, -1).ErrorCode)
	requireCode(t, kerr.UnknownTopicOrPartition, listOffset(t, c, "no-such-topic", 0, -1).ErrorCode)

	// v0 answers with a list of offsets.
	for _, tc := range []struct{ ts, want int64 }{{-1, 10}, {-2, 0}} {
		req := kmsg.NewPtrListOffsetsRequest()
		req.SetVersion(0)
		req.ReplicaID = -1
		rt := kmsg.NewListOffsetsRequestTopic()
		rt.Topic = topic
		rt.Partitions = []kmsg.ListOffsetsRequestTopicPartition{{Partition: 0, Timestamp: tc.ts, MaxNumOffsets: 1}}
		req.Topics = append(req.Topics, rt)
		resp := c.do(req).(*kmsg.ListOffsetsResponse)
		sp := resp.Topics[0].Partitions[0]
		requireCode(t, nil, sp.ErrorCode)
		require.Equal(t, []int64{tc.want}, sp.OldStyleOffsets, "v0 timestamp %d", tc.ts)
	}
	maxTS := listOffset(t, c, topic, 0, -3)
	require.Equal(t, int64(9), maxTS.Offset)
	require.Equal(t, t0.Add(9*time.Second).UnixMilli(), maxTS.Timestamp)

	// Consume from the offset found by time.
	listed, err = adm.ListOffsetsAfterMilli(ctx, t0.Add(4500*time.Millisecond).UnixMilli(), topic)
	require.NoError(t, err)
	cons := newKgo(t, addr, kgo.ConsumePartitions(listed.KOffsets()))
	got := pollN(t, cons, 5)
	for i, r := range got {
		require.Equal(t, fmt.Sprintf("v%d", i+5), string(r.Value))
	}
}

func TestKgoCompression(t *testing.T) {
	t.Parallel()
	addr := startBroker(t).Addr()
	for _, tc := range []struct {
		name   string
		codec  kgo.CompressionCodec
		stored batch.Codec
	}{
		{"none", kgo.NoCompression(), batch.None},
		{"gzip", kgo.GzipCompression(), batch.Gzip},
		{"snappy", kgo.SnappyCompression(), batch.Snappy},
		{"lz4", kgo.Lz4Compression(), batch.LZ4},
		{"zstd", kgo.ZstdCompression(), batch.Zstd},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			topic := "kgo-codec-" + tc.name
			prod := newKgo(t, addr, kgo.DefaultProduceTopic(topic), kgo.AllowAutoTopicCreation(),
				kgo.ProducerBatchCompression(tc.codec))
			const n = 100
			recs := make([]*kgo.Record, n)
			for i := range recs {
				// Compressible, so franz-go keeps the compressed form.
				recs[i] = &kgo.Record{
					Key:     fmt.Appendf(nil, "k%d", i),
					Value:   []byte(strings.Repeat(fmt.Sprintf("record %d ", i), 20)),
					Headers: []kgo.RecordHeader{{Key: "codec", Value: []byte(tc.name)}},
				}
			}
			produceSync(t, prod, recs...)

			c := dialWire(t, addr)
			stored := fetchAll(t, c, topic, 0, 0)
			require.Len(t, stored, n)
			for _, r := range stored {
				require.Equal(t, tc.stored, r.Batch.Compression(), "batch at %d", r.Batch.BaseOffset)
			}
			got := consumeAll(t, addr, topic, n)
			for i, r := range got {
				require.Equal(t, int64(i), r.Offset)
				require.Equal(t, string(recs[i].Key), string(r.Key))
				require.Equal(t, string(recs[i].Value), string(r.Value))
				require.Equal(t, []kgo.RecordHeader{{Key: "codec", Value: []byte(tc.name)}}, r.Headers)
			}
		})
	}
}

// TestIdempotentProduce drives the idempotent producer protocol with raw
// requests: a resent batch is answered with its original offset and stored
// once, a sequence gap is refused, and an older epoch is fenced.
func TestIdempotentProduce(t *testing.T) {
	t.Parallel()
	addr := startBroker(t).Addr()
	const topic = "idempotent"
	createTopic(t, addr, topic, 1, nil)
	c := dialWire(t, addr)
	pid, epoch := initProducerID(t, c)
	now := time.Now().UnixMilli()
	build := func(epoch int16, seq int32, vs ...string) []byte {
		return batch.Build(nil, 0, now, values(vs...), batch.WithProducer(pid, epoch, seq))
	}
	produceOK := func(records []byte, wantBase int64, msg string) {
		t.Helper()
		sp := produceRaw(t, c, topic, 0, records)
		requireCode(t, nil, sp.ErrorCode, msg)
		require.Equal(t, wantBase, sp.BaseOffset, msg)
	}

	first := build(epoch, 0, "a", "b", "c")
	produceOK(first, 0, "first batch")
	produceOK(first, 0, "the same batch again (a retry)")
	second := build(epoch, 3, "d", "e")
	produceOK(second, 3, "next batch")
	produceOK(first, 0, "an older batch again, still remembered")
	produceOK(second, 3, "the last batch again")
	require.Equal(t, []string{"a", "b", "c", "d", "e"}, valuesOf(fetchAll(t, c, topic, 0, 0)), "each batch stored once")

	gap := produceRaw(t, c, topic, 0, build(epoch, 10, "gap"))
	requireCode(t, kerr.OutOfOrderSequenceNumber, gap.ErrorCode, "sequence 10 after 4")
	require.Equal(t, int64(5), listOffset(t, c, topic, 0, -1).Offset, "nothing appended after a sequence gap")

	// Bump the epoch (KIP-360); the new epoch starts at sequence 0.
	bump := kmsg.NewPtrInitProducerIDRequest()
	bump.SetVersion(4)
	bump.TransactionTimeoutMillis = -1
	bump.ProducerID, bump.ProducerEpoch = pid, epoch
	br := c.do(bump).(*kmsg.InitProducerIDResponse)
	requireCode(t, nil, br.ErrorCode)
	require.Equal(t, pid, br.ProducerID)
	require.Equal(t, epoch+1, br.ProducerEpoch)
	produceOK(build(epoch+1, 0, "f"), 5, "new epoch from sequence 0")

	fenced := produceRaw(t, c, topic, 0, build(epoch, 5, "zombie"))
	requireCode(t, kerr.InvalidProducerEpoch, fenced.ErrorCode, "old epoch after a newer one")
	require.Equal(t, []string{"a", "b", "c", "d", "e", "f"}, valuesOf(fetchAll(t, c, topic, 0, 0)))
}

// ---- protocol details, with raw requests at exact versions ----

func TestApiVersions(t *testing.T) {
	t.Parallel()
	addr := startBroker(t).Addr()
	rangeOf := func(keys []kmsg.ApiVersionsResponseApiKey, key int16) (kmsg.ApiVersionsResponseApiKey, bool) {
		i := slices.IndexFunc(keys, func(k kmsg.ApiVersionsResponseApiKey) bool { return k.ApiKey == key })
		if i < 0 {
			return kmsg.ApiVersionsResponseApiKey{}, false
		}
		return keys[i], true
	}
	for _, v := range []int16{0, 1, 2, 3} {
		t.Run(fmt.Sprintf("v%d", v), func(t *testing.T) {
			c := dialWire(t, addr)
			req := kmsg.NewPtrApiVersionsRequest()
			req.SetVersion(v)
			req.ClientSoftwareName, req.ClientSoftwareVersion = "kspring-e2e", "1.0"
			resp := c.do(req).(*kmsg.ApiVersionsResponse)
			requireCode(t, nil, resp.ErrorCode)
			av, ok := rangeOf(resp.ApiKeys, 18)
			require.True(t, ok, "ApiVersions advertised")
			require.Equal(t, int16(0), av.MinVersion)
			require.Equal(t, int16(3), av.MaxVersion)
			md, ok := rangeOf(resp.ApiKeys, 3)
			require.True(t, ok, "Metadata advertised")
			require.Equal(t, int16(0), md.MinVersion, "Metadata v0 is kept for old clients")
			require.GreaterOrEqual(t, md.MaxVersion, int16(12))
			for _, key := range []int16{0, 1, 2, 19, 22} { // Produce, Fetch, ListOffsets, CreateTopics, InitProducerId
				r, ok := rangeOf(resp.ApiKeys, key)
				require.True(t, ok, "%s advertised", kmsg.NameForKey(key))
				require.LessOrEqual(t, r.MinVersion, r.MaxVersion)
			}
		})
	}

	t.Run("v99 gets v0 UNSUPPORTED_VERSION with the range (KIP-511)", func(t *testing.T) {
		c := dialWire(t, addr)
		req := kmsg.NewPtrApiVersionsRequest()
		req.SetVersion(99) // encoded like v3: flexible, with client software fields
		req.ClientSoftwareName, req.ClientSoftwareVersion = "from-the-future", "9.9"
		corr := c.send(req)
		v0 := kmsg.NewPtrApiVersionsRequest()
		v0.SetVersion(0)
		resp := c.recv(v0, corr).(*kmsg.ApiVersionsResponse)
		requireCode(t, kerr.UnsupportedVersion, resp.ErrorCode)
		av, ok := rangeOf(resp.ApiKeys, 18)
		require.True(t, ok, "the answer carries the ApiVersions range")
		require.Equal(t, int16(0), av.MinVersion)
		require.Equal(t, int16(3), av.MaxVersion)

		// The client falls back on the same connection.
		req.SetVersion(3)
		resp = c.do(req).(*kmsg.ApiVersionsResponse)
		requireCode(t, nil, resp.ErrorCode)
		require.Greater(t, len(resp.ApiKeys), 5)
	})
}

// metadata sends a Metadata request at version v for topics (nil: all).
func metadata(t *testing.T, c *wireConn, v int16, allowAuto bool, topics ...string) *kmsg.MetadataResponse {
	t.Helper()
	req := kmsg.NewPtrMetadataRequest()
	req.SetVersion(v)
	req.AllowAutoTopicCreation = allowAuto
	if topics != nil {
		req.Topics = []kmsg.MetadataRequestTopic{}
	}
	for _, tp := range topics {
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = kmsg.StringPtr(tp)
		req.Topics = append(req.Topics, rt)
	}
	return c.do(req).(*kmsg.MetadataResponse)
}

func topicNames(resp *kmsg.MetadataResponse) []string {
	var out []string
	for _, tp := range resp.Topics {
		if tp.Topic != nil && tp.ErrorCode == 0 {
			out = append(out, *tp.Topic)
		}
	}
	slices.Sort(out)
	return out
}

func TestMetadata(t *testing.T) {
	t.Parallel()
	b := startBroker(t, func(c *broker.Config) { c.NumPartitions = 3 })
	addr := b.Addr()
	createTopic(t, addr, "md-one", 2, nil)
	c := dialWire(t, addr)
	host, port, err := net.SplitHostPort(addr)
	require.NoError(t, err)

	t.Run("v12 named topic", func(t *testing.T) {
		resp := metadata(t, c, 12, false, "md-one")
		require.Len(t, resp.Brokers, 1)
		require.Equal(t, int32(1), resp.Brokers[0].NodeID)
		require.Equal(t, host, resp.Brokers[0].Host)
		require.Equal(t, port, fmt.Sprint(resp.Brokers[0].Port))
		require.Equal(t, int32(1), resp.ControllerID)
		require.NotNil(t, resp.ClusterID)
		require.Equal(t, b.ClusterID(), *resp.ClusterID)
		require.Len(t, resp.Topics, 1)
		tp := resp.Topics[0]
		requireCode(t, nil, tp.ErrorCode)
		require.NotEqual(t, [16]byte{}, tp.TopicID, "v10+ carries topic ids")
		require.Len(t, tp.Partitions, 2)
		for i, p := range tp.Partitions {
			requireCode(t, nil, p.ErrorCode)
			require.Equal(t, int32(i), p.Partition)
			require.Equal(t, int32(1), p.Leader)
			require.Equal(t, []int32{1}, p.Replicas)
			require.Equal(t, []int32{1}, p.ISR)
		}
	})
	t.Run("v12 auto creation allowed", func(t *testing.T) {
		resp := metadata(t, c, 12, true, "md-auto12")
		require.Len(t, resp.Topics, 1)
		requireCode(t, nil, resp.Topics[0].ErrorCode)
		require.Len(t, resp.Topics[0].Partitions, 3, "num.partitions")
	})
	t.Run("v12 auto creation not allowed by the request", func(t *testing.T) {
		resp := metadata(t, c, 12, false, "md-noauto")
		require.Len(t, resp.Topics, 1)
		requireCode(t, kerr.UnknownTopicOrPartition, resp.Topics[0].ErrorCode)
		require.NotContains(t, topicNames(metadata(t, c, 12, false)), "md-noauto")
	})
	t.Run("v12 invalid topic name", func(t *testing.T) {
		for _, name := range []string{"bad/name", "..", strings.Repeat("x", 250)} {
			resp := metadata(t, c, 12, true, name)
			require.Len(t, resp.Topics, 1)
			requireCode(t, kerr.InvalidTopicException, resp.Topics[0].ErrorCode, name)
		}
	})
	t.Run("v0 named topic auto-creates", func(t *testing.T) {
		resp := metadata(t, c, 0, false, "md-auto0") // before v4 every request allows it
		require.Len(t, resp.Topics, 1)
		requireCode(t, nil, resp.Topics[0].ErrorCode)
		require.Len(t, resp.Topics[0].Partitions, 3)
		require.Equal(t, int32(1), resp.Topics[0].Partitions[0].Leader)
	})
	t.Run("v0 empty list is every topic", func(t *testing.T) {
		resp := metadata(t, c, 0, false, []string{}...)
		names := topicNames(resp)
		for _, want := range []string{"md-one", "md-auto0", "md-auto12"} {
			require.Contains(t, names, want)
		}
	})
	t.Run("v12 null list is every topic", func(t *testing.T) {
		names := topicNames(metadata(t, c, 12, false))
		for _, want := range []string{"md-one", "md-auto0", "md-auto12"} {
			require.Contains(t, names, want)
		}
	})

	t.Run("auto creation off", func(t *testing.T) {
		t.Parallel()
		off := startBroker(t, func(c *broker.Config) { c.AutoCreateTopicsEnable = false })
		c := dialWire(t, off.Addr())
		for _, v := range []int16{0, 4, 12} {
			resp := metadata(t, c, v, true, fmt.Sprintf("md-off-v%d", v))
			require.Len(t, resp.Topics, 1)
			requireCode(t, kerr.UnknownTopicOrPartition, resp.Topics[0].ErrorCode, "v", v)
		}
		require.Empty(t, topicNames(metadata(t, c, 12, false)))
	})
}

func TestProduceAcks(t *testing.T) {
	t.Parallel()
	addr := startBroker(t).Addr()
	const topic = "acks"
	createTopic(t, addr, topic, 1, nil)
	c := dialWire(t, addr)
	now := time.Now().UnixMilli()

	// acks=0: no response at all; the next request's answer is the next
	// frame on the connection.
	c.send(produceReq(9, 0, topic, 0, batch.Build(nil, 0, now, values("zero"))))
	md := metadata(t, c, 12, false, topic)
	requireCode(t, nil, md.Topics[0].ErrorCode)

	one := producePartition(t, c, produceReq(9, 1, topic, 0, batch.Build(nil, 0, now, values("one"))))
	requireCode(t, nil, one.ErrorCode)
	require.Equal(t, int64(1), one.BaseOffset, "the acks=0 record was stored first")
	all := producePartition(t, c, produceReq(9, -1, topic, 0, batch.Build(nil, 0, now, values("all"))))
	requireCode(t, nil, all.ErrorCode)
	require.Equal(t, int64(2), all.BaseOffset)
	require.Equal(t, int64(-1), all.LogAppendTime, "CreateTime topic")
	require.Equal(t, int64(0), all.LogStartOffset)

	bad := producePartition(t, c, produceReq(9, 2, topic, 0, batch.Build(nil, 0, now, values("two"))))
	requireCode(t, kerr.InvalidRequiredAcks, bad.ErrorCode)

	unknown := producePartition(t, c, produceReq(9, -1, topic, 7, batch.Build(nil, 0, now, values("nowhere"))))
	requireCode(t, kerr.UnknownTopicOrPartition, unknown.ErrorCode)

	require.Equal(t, []string{"zero", "one", "all"}, valuesOf(fetchAll(t, c, topic, 0, 0)))

	// One request, two partitions: the good one is appended, the bad one
	// refused, each with its own code.
	mixed := produceReq(9, -1, topic, 0, batch.Build(nil, 0, now, values("mixed")))
	bp := kmsg.NewProduceRequestTopicPartition()
	bp.Partition = 9
	bp.Records = batch.Build(nil, 0, now, values("lost"))
	mixed.Topics[0].Partitions = append(mixed.Topics[0].Partitions, bp)
	mr := c.do(mixed).(*kmsg.ProduceResponse)
	require.Len(t, mr.Topics, 1)
	require.Len(t, mr.Topics[0].Partitions, 2)
	for _, sp := range mr.Topics[0].Partitions {
		switch sp.Partition {
		case 0:
			requireCode(t, nil, sp.ErrorCode)
			require.Equal(t, int64(3), sp.BaseOffset)
		case 9:
			requireCode(t, kerr.UnknownTopicOrPartition, sp.ErrorCode)
		default:
			t.Fatalf("answer for partition %d", sp.Partition)
		}
	}
}

func TestProduceMinInsyncReplicas(t *testing.T) {
	t.Parallel()
	addr := startBroker(t).Addr()
	const topic = "min-isr"
	createTopic(t, addr, topic, 1, map[string]string{"min.insync.replicas": "2"})
	c := dialWire(t, addr)
	now := time.Now().UnixMilli()
	all := producePartition(t, c, produceReq(9, -1, topic, 0, batch.Build(nil, 0, now, values("all"))))
	requireCode(t, kerr.NotEnoughReplicas, all.ErrorCode, "acks=all with an ISR of 1 below min.insync.replicas 2")
	one := producePartition(t, c, produceReq(9, 1, topic, 0, batch.Build(nil, 0, now, values("one"))))
	requireCode(t, nil, one.ErrorCode, "acks=1 does not need the ISR")
	require.Equal(t, []string{"one"}, valuesOf(fetchAll(t, c, topic, 0, 0)))
}

// TestProduceAcksZeroError: an acks=0 produce that fails gets no response,
// so, as in Kafka, the broker closes the connection to tell the client.
func TestProduceAcksZeroError(t *testing.T) {
	t.Parallel()
	addr := startBroker(t).Addr()
	const topic = "acks-zero"
	createTopic(t, addr, topic, 1, nil)
	now := time.Now().UnixMilli()
	corrupt := batch.Build(nil, 0, now, values("corrupt"))
	corrupt[len(corrupt)-2] ^= 0xff
	for _, tc := range []struct {
		name      string
		partition int32
		records   []byte
	}{
		{"corrupt batch", 0, corrupt},
		{"unknown partition", 5, batch.Build(nil, 0, now, values("nowhere"))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dialWire(t, addr)
			c.send(produceReq(9, 0, topic, tc.partition, tc.records))
			c.requireClosed()
			c = dialWire(t, addr)
			require.Equal(t, int64(0), listOffset(t, c, topic, 0, -1).Offset, "nothing appended")
		})
	}
}

// TestProduceToInternalTopic: clients may read __consumer_offsets but not
// write it; the group coordinator's state would be at their mercy.
func TestProduceToInternalTopic(t *testing.T) {
	t.Parallel()
	addr := startBroker(t).Addr()
	c := dialWire(t, addr)
	fc := kmsg.NewPtrFindCoordinatorRequest() // creates __consumer_offsets
	fc.SetVersion(3)
	fc.CoordinatorKey = "some-group"
	requireCode(t, nil, c.do(fc).(*kmsg.FindCoordinatorResponse).ErrorCode)
	md := metadata(t, c, 12, false, "__consumer_offsets")
	requireCode(t, nil, md.Topics[0].ErrorCode)
	require.True(t, md.Topics[0].IsInternal)

	sp := produceRaw(t, c, "__consumer_offsets", 0, batch.Build(nil, 0, time.Now().UnixMilli(), values("garbage")))
	requireCode(t, kerr.InvalidTopicException, sp.ErrorCode)
	require.Equal(t, int64(0), listOffset(t, c, "__consumer_offsets", 0, -1).Offset, "nothing appended")
}

// TestPipelinedRequests: a client may send several requests before reading;
// the answers come back in order.
func TestPipelinedRequests(t *testing.T) {
	t.Parallel()
	addr := startBroker(t).Addr()
	const topic = "pipelined"
	createTopic(t, addr, topic, 1, nil)
	c := dialWire(t, addr)
	var reqs []kmsg.Request
	var corrs []int32
	for i := range 20 {
		var req kmsg.Request = produceReq(9, 1, topic, 0, batch.Build(nil, 0, time.Now().UnixMilli(), values(fmt.Sprintf("p%d", i))))
		if i%3 == 2 {
			av := kmsg.NewPtrApiVersionsRequest()
			av.SetVersion(3)
			req = av
		}
		reqs = append(reqs, req)
		corrs = append(corrs, c.send(req))
	}
	next := int64(0)
	for i, req := range reqs {
		resp := c.recv(req, corrs[i])
		if pr, ok := resp.(*kmsg.ProduceResponse); ok {
			sp := pr.Topics[0].Partitions[0]
			requireCode(t, nil, sp.ErrorCode)
			require.Equal(t, next, sp.BaseOffset, "produces are applied in the order sent")
			next++
		}
	}
}

func TestLogAppendTime(t *testing.T) {
	t.Parallel()
	addr := startBroker(t).Addr()
	const topic = "log-append-time"
	createTopic(t, addr, topic, 1, map[string]string{"message.timestamp.type": "LogAppendTime"})
	old := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)

	before := time.Now().UnixMilli()
	c := dialWire(t, addr)
	sp := produceRaw(t, c, topic, 0, batch.Build(nil, 0, old.UnixMilli(), values("raw")))
	requireCode(t, nil, sp.ErrorCode)
	require.GreaterOrEqual(t, sp.LogAppendTime, before, "produce response carries the broker's time")
	prod := newKgo(t, addr, kgo.DefaultProduceTopic(topic))
	produceSync(t, prod, &kgo.Record{Value: []byte("kgo"), Timestamp: old})
	after := time.Now().UnixMilli()
	require.LessOrEqual(t, sp.LogAppendTime, after)

	inRange := func(ts int64) bool { return ts >= before && ts <= after }
	for _, r := range fetchAll(t, c, topic, 0, 0) {
		require.True(t, r.Batch.TimestampType(), "batch marked LogAppendTime")
		require.True(t, inRange(r.Timestamp), "stored time %d not in [%d, %d]", r.Timestamp, before, after)
	}
	for _, r := range consumeAll(t, addr, topic, 2) {
		require.Equal(t, int8(1), r.Attrs.TimestampType(), "franz-go sees LogAppendTime")
		require.True(t, inRange(r.Timestamp.UnixMilli()), "franz-go timestamp %v", r.Timestamp)
	}
	for _, m := range saramaConsume(t, addr, saramaConfig(sarama.DefaultVersion), topic, 0, sarama.OffsetOldest, 2) {
		require.True(t, inRange(m.Timestamp.UnixMilli()), "sarama timestamp %v", m.Timestamp)
	}
}

// TestFetchLongPoll: a fetch with nothing to read waits up to MaxWaitMillis
// and is answered as soon as a record arrives in any partition it asked for.
func TestFetchLongPoll(t *testing.T) {
	t.Parallel()
	addr := startBroker(t).Addr()
	for _, partitions := range []int32{1, 3} {
		t.Run(fmt.Sprintf("partitions=%d", partitions), func(t *testing.T) {
			topic := fmt.Sprintf("long-poll-%d", partitions)
			createTopic(t, addr, topic, partitions, nil)
			var parts []fetchPart
			for p := range partitions {
				parts = append(parts, fetchPart{Partition: p, Offset: 0, MaxBytes: 1 << 20})
			}
			last := partitions - 1 // the partition the record goes to

			// Nothing to read and a short wait: an empty answer, no error.
			c := dialWire(t, addr)
			req := fetchReq(topic, 1<<20, parts...)
			req.MinBytes, req.MaxWaitMillis = 1, 50
			resp := c.do(req).(*kmsg.FetchResponse)
			requireCode(t, nil, resp.ErrorCode)
			for _, p := range resp.Topics[0].Partitions {
				requireCode(t, nil, p.ErrorCode)
				require.Empty(t, p.RecordBatches)
			}

			// A long poll is answered with a record produced while it waits.
			req.MaxWaitMillis = 5000
			corr := c.send(req)
			type result struct {
				corr int32
				body []byte
				err  error
			}
			done := make(chan result, 1)
			go func() {
				corr, body, err := c.readFrame()
				done <- result{corr, body, err}
			}()
			p := dialWire(t, addr)
			requireCode(t, nil, produceRaw(t, p, topic, last, batch.Build(nil, 0, time.Now().UnixMilli(), values("wake up"))).ErrorCode)
			var res result
			select {
			case res = <-done:
			case <-time.After(waitFor):
				t.Fatalf("long poll not answered within %v", waitFor)
			}
			require.NoError(t, res.err)
			require.Equal(t, corr, res.corr)
			got, err := decodeResponse(req, res.body)
			require.NoError(t, err)
			fr := got.(*kmsg.FetchResponse)
			sp := fr.Topics[0].Partitions[last]
			requireCode(t, nil, sp.ErrorCode)
			_, recs := decodeBatches(t, sp.RecordBatches)
			require.Equal(t, []string{"wake up"}, valuesOf(recs))
		})
	}
}

// TestCloseAnswersLongPoll: Close answers a fetch that waits for data
// instead of waiting out its MaxWaitMillis.
func TestCloseAnswersLongPoll(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	const topic = "close-long-poll"
	createTopic(t, b.Addr(), topic, 1, nil)
	c := dialWire(t, b.Addr())
	req := fetchReq(topic, 1<<20, fetchPart{Partition: 0, Offset: 0, MaxBytes: 1 << 20})
	req.MinBytes, req.MaxWaitMillis = 1, int32(4*waitFor/time.Millisecond) // far past Close's bound
	corr := c.send(req)
	// Once the broker answers a request sent after the fetch on another
	// connection, the fetch has very likely been read; either way Close
	// must not wait for MaxWaitMillis.
	apiVersionsOK(t, b.Addr())
	closeBroker(t, b) // fails if Close runs into its waitFor bound
	if gotCorr, body, err := c.readFrame(); err == nil {
		require.Equal(t, corr, gotCorr)
		resp, err := decodeResponse(req, body)
		require.NoError(t, err)
		requireCode(t, nil, resp.(*kmsg.FetchResponse).ErrorCode)
	} else {
		require.False(t, errors.Is(err, os.ErrDeadlineExceeded), "long poll neither answered nor closed")
	}
}

func TestFetchOffsetOutOfRange(t *testing.T) {
	t.Parallel()
	addr := startBroker(t).Addr()
	const topic = "fetch-range"
	createTopic(t, addr, topic, 1, nil)
	c := dialWire(t, addr)
	requireCode(t, nil, produceRaw(t, c, topic, 0, batch.Build(nil, 0, time.Now().UnixMilli(), values("a", "b", "c"))).ErrorCode)

	atEnd := fetchRaw(t, c, topic, 0, 3)
	requireCode(t, nil, atEnd.ErrorCode, "fetching at the high watermark waits for data")
	require.Empty(t, atEnd.RecordBatches)
	require.Equal(t, int64(3), atEnd.HighWatermark)
	require.Equal(t, int64(0), atEnd.LogStartOffset)

	for _, off := range []int64{4, 1000, -1} {
		sp := fetchRaw(t, c, topic, 0, off)
		requireCode(t, kerr.OffsetOutOfRange, sp.ErrorCode, "offset ", off)
		require.Empty(t, sp.RecordBatches)
	}
	requireCode(t, kerr.UnknownTopicOrPartition, fetchRaw(t, c, topic, 1, 0).ErrorCode)
	requireCode(t, kerr.UnknownTopicOrPartition, fetchRaw(t, c, "no-such-topic", 0, 0).ErrorCode)
	byID := fetchReq("", 1<<20, fetchPart{Partition: 0, Offset: 0, MaxBytes: 1 << 20})
	byID.SetVersion(13)
	byID.Topics[0].TopicID = [16]byte{1, 2, 3}
	resp := c.do(byID).(*kmsg.FetchResponse)
	requireCode(t, nil, resp.ErrorCode)
	requireCode(t, kerr.UnknownTopicID, resp.Topics[0].Partitions[0].ErrorCode, "v13 names topics by id")

	// A fetch from the middle of a batch returns the whole batch.
	mid := fetchRaw(t, c, topic, 0, 1)
	requireCode(t, nil, mid.ErrorCode)
	_, recs := decodeBatches(t, mid.RecordBatches)
	require.Equal(t, []string{"a", "b", "c"}, valuesOf(recs))
}

func TestFetchMaxBytes(t *testing.T) {
	t.Parallel()
	addr := startBroker(t).Addr()
	const topic, batches = "fetch-bytes", 5
	createTopic(t, addr, topic, 2, nil)
	c := dialWire(t, addr)
	value := strings.Repeat("x", 1000)
	var size int
	for p := range int32(2) {
		for range batches {
			b := batch.Build(nil, 0, time.Now().UnixMilli(), values(value))
			size = len(b)
			requireCode(t, nil, produceRaw(t, c, topic, p, b).ErrorCode)
		}
	}

	fetch := func(maxBytes int32, parts ...fetchPart) [][]batch.Header {
		t.Helper()
		resp := c.do(fetchReq(topic, maxBytes, parts...)).(*kmsg.FetchResponse)
		requireCode(t, nil, resp.ErrorCode)
		require.Len(t, resp.Topics, 1)
		require.Len(t, resp.Topics[0].Partitions, len(parts))
		var out [][]batch.Header
		total := 0
		for i, sp := range resp.Topics[0].Partitions {
			requireCode(t, nil, sp.ErrorCode)
			hs, _ := decodeBatches(t, sp.RecordBatches) // whole batches only
			limit := min(int(parts[i].MaxBytes), int(maxBytes)-total)
			if total == 0 && len(hs) == 1 {
				// KIP-74: the first partition with data returns its first
				// batch even when it is over the limits.
			} else {
				require.LessOrEqual(t, len(sp.RecordBatches), max(limit, 0),
					"partition %d: %d bytes over the limit (max %d, partition max %d, %d bytes before)",
					sp.Partition, len(sp.RecordBatches), maxBytes, parts[i].MaxBytes, total)
			}
			total += len(sp.RecordBatches)
			out = append(out, hs)
		}
		return out
	}
	p0 := func(max int32) fetchPart { return fetchPart{Partition: 0, Offset: 0, MaxBytes: max} }
	p1 := func(max int32) fetchPart { return fetchPart{Partition: 1, Offset: 0, MaxBytes: max} }
	big := int32(1 << 20)

	got := fetch(big, p0(1))
	require.Len(t, got[0], 1, "partition max bytes 1: still one batch (KIP-74)")
	got = fetch(big, p0(int32(2*size+size/2)))
	require.Len(t, got[0], 2, "two whole batches fit in 2.5 batches' bytes")
	got = fetch(1, p0(big), p1(big))
	require.Len(t, got[0], 1, "response max bytes 1: the first partition still returns one batch")
	require.Empty(t, got[1], "and the second nothing")
	got = fetch(big, p0(1), p1(1))
	require.Len(t, got[0], 1)
	require.Empty(t, got[1], "only the first partition with data may exceed the limit")
	got = fetch(int32(3*size+size/2), p0(big), p1(big))
	require.Len(t, got[0], 3)
	require.Empty(t, got[1], "half a batch of response bytes left for the second partition")
	got = fetch(big, p0(big), p1(big))
	require.Len(t, got[0], batches)
	require.Len(t, got[1], batches)
}
