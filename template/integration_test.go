package template_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/kspring/kspring/serde"
	"github.com/kspring/kspring/template"
	"github.com/kspring/kspring/testkit"
)

// These tests run against kspring's bundled broker over TCP and check what
// the template reports against what a sarama consumer reads back.

func TestCallbacksReportWhereTheRecordIs(t *testing.T) {
	b := testkit.NewBroker(t, testkit.WithTopic("orders", 3, nil))
	topic := b.Topic("orders")
	tp := dial[string, string](t, b.Addr(), quick(), template.WithDefaultTopic(topic))
	ctx := context.Background()

	at := time.Now().Add(-time.Hour).Truncate(time.Millisecond) // inside retention
	sends := []struct {
		name    string
		send    func() *template.Future[string, string]
		key     *string
		value   string
		headers serde.Headers
		ts      time.Time
	}{
		{"value only", func() *template.Future[string, string] { return tp.Send(ctx, topic, "v1") }, nil, "v1", nil, time.Time{}},
		{"key", func() *template.Future[string, string] { return tp.SendKey(ctx, topic, "k2", "v2") }, ptr("k2"), "v2", nil, time.Time{}},
		{"partition", func() *template.Future[string, string] { return tp.SendPartition(ctx, topic, 2, "k3", "v3") }, ptr("k3"), "v3", nil, time.Time{}},
		{"timestamp", func() *template.Future[string, string] { return tp.SendAt(ctx, topic, at, "k4", "v4") }, ptr("k4"), "v4", nil, at},
		{"record with headers", func() *template.Future[string, string] {
			return tp.SendRecord(ctx, template.ProducerRecord[string, string]{
				Topic: topic, Partition: ptr(int32(1)), Timestamp: at, Key: ptr("k5"), Value: "v5",
				Headers: serde.Headers{{Key: "h", Value: []byte("x")}, {Key: "h", Value: []byte("y")}},
			})
		}, ptr("k5"), "v5", serde.Headers{{Key: "h", Value: []byte("x")}, {Key: "h", Value: []byte("y")}}, at},
		{"default topic", func() *template.Future[string, string] { return tp.SendDefaultKey(ctx, "k6", "v6") }, ptr("k6"), "v6", nil, time.Time{}},
		{"empty key is a key", func() *template.Future[string, string] { return tp.SendKey(ctx, topic, "", "v7") }, ptr(""), "v7", nil, time.Time{}},
	}

	c := consumer(t, b.Addr())
	for _, s := range sends {
		t.Run(s.name, func(t *testing.T) {
			results := make(chan template.SendResult[string, string], 1)
			before := time.Now().Truncate(time.Millisecond)
			s.send().OnSuccess(func(r template.SendResult[string, string]) { results <- r }).
				OnFailure(func(err error) { t.Errorf("send failed: %v", err) })
			var r template.SendResult[string, string]
			select {
			case r = <-results:
			case <-time.After(30 * time.Second):
				t.Fatal("OnSuccess never ran")
			}

			md := r.Metadata
			require.Equal(t, topic, md.Topic)
			require.Equal(t, topic, r.Record.Topic)
			require.Equal(t, s.value, r.Record.Value)
			require.Equal(t, len(s.value), md.SerializedValueSize)
			if s.key == nil {
				require.Equal(t, -1, md.SerializedKeySize)
			} else {
				require.Equal(t, len(*s.key), md.SerializedKeySize)
			}
			if s.name == "partition" {
				require.Equal(t, int32(2), md.Partition)
			}

			m := consumeOne(t, c, md.Topic, md.Partition, md.Offset)
			require.Equal(t, s.value, string(m.Value))
			if s.key == nil {
				require.Nil(t, m.Key)
			} else {
				require.NotNil(t, m.Key)
				require.Equal(t, *s.key, string(m.Key))
			}
			require.Len(t, m.Headers, len(s.headers))
			for i, h := range s.headers {
				require.Equal(t, h.Key, string(m.Headers[i].Key))
				require.Equal(t, h.Value, m.Headers[i].Value)
			}
			require.True(t, md.Timestamp.Equal(m.Timestamp), "reported %v, stored %v", md.Timestamp, m.Timestamp)
			if !s.ts.IsZero() {
				require.True(t, s.ts.Equal(m.Timestamp))
			} else {
				require.False(t, m.Timestamp.Before(before), "timestamp is the time of Send")
			}
		})
	}
}

func TestKeyedRecordsLandWhereJavaWouldPutThem(t *testing.T) {
	const partitions = 6
	b := testkit.NewBroker(t, testkit.WithTopic("accounts", partitions, nil))
	topic := b.Topic("accounts")
	tp := dial[string, string](t, b.Addr(), quick())

	// Utils.murmur2(key.getBytes(UTF_8)) from Apache Kafka's UtilsTest.
	for key, hash := range map[string]int32{
		"21": -973932308, "foobar": -790332482, "a-little-bit-long-string": -985981536,
		"a-little-bit-longer-string": -1486304829, "abc": 479470107,
		"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
	} {
		r, err := get(t, tp.SendKey(context.Background(), topic, key, "v"))
		require.NoError(t, err)
		require.Equal(t, (hash&0x7fffffff)%partitions, r.Metadata.Partition, "key %q", key)
	}
}

func TestNullKeysSpreadOverPartitions(t *testing.T) {
	b := testkit.NewBroker(t, testkit.WithTopic("events", 4, nil))
	topic := b.Topic("events")
	tp := dial[string, string](t, b.Addr(), quick())
	seen := map[int32]int{}
	for i := range 40 {
		r, err := get(t, tp.Send(context.Background(), topic, fmt.Sprint(i)))
		require.NoError(t, err)
		seen[r.Metadata.Partition]++
	}
	require.Equal(t, map[int32]int{0: 10, 1: 10, 2: 10, 3: 10}, seen, "round robin")
}

func TestPerKeyOrderUnder100Goroutines(t *testing.T) {
	const (
		senders = 100
		perKey  = 30
		ledger  = "ledger"
	)
	b := testkit.NewBroker(t, testkit.WithTopic(ledger, 4, nil))
	topic := b.Topic(ledger)
	tp := dial[string, int64](t, b.Addr(), quick())

	type placed struct {
		partition int32
		offset    int64
	}
	got := make([][]placed, senders)
	var wg sync.WaitGroup
	for g := range senders {
		wg.Go(func() {
			key := fmt.Sprintf("account-%d", g)
			futures := make([]*template.Future[string, int64], perKey)
			for seq := range perKey {
				futures[seq] = tp.SendKey(context.Background(), topic, key, int64(seq))
			}
			for _, f := range futures {
				r, err := get(t, f)
				if err != nil {
					t.Errorf("%s: %v", key, err)
					return
				}
				got[g] = append(got[g], placed{r.Metadata.Partition, r.Metadata.Offset})
			}
		})
	}
	wg.Wait()
	require.False(t, t.Failed())

	// What the callbacks said: one partition per key, offsets rising with seq.
	for g, ps := range got {
		for seq := 1; seq < len(ps); seq++ {
			require.Equal(t, ps[0].partition, ps[seq].partition, "key %d changed partition", g)
			require.Greater(t, ps[seq].offset, ps[seq-1].offset, "key %d out of order at %d", g, seq)
		}
	}

	// What the log holds: read every partition and check each key's sequence.
	c := consumer(t, b.Addr())
	next := map[string]int64{}
	total := 0
	for p, hw := range highWater(t, b.Addr(), topic) {
		for _, m := range consume(t, c, topic, p, sarama.OffsetOldest, int(hw)) {
			v, err := serde.Int64{}.Deserialize(topic, nil, m.Value)
			require.NoError(t, err)
			require.Equal(t, next[string(m.Key)], v, "key %s in partition %d", m.Key, p)
			next[string(m.Key)]++
			total++
		}
	}
	require.Equal(t, senders*perKey, total)
	require.Len(t, next, senders)
}

func TestUnknownTopicWithAutoCreateOff(t *testing.T) {
	if testkit.External() {
		t.Skip("needs auto.create.topics.enable=false, a broker property the external cluster does not take from tests")
	}
	b := testkit.NewBroker(t, testkit.WithProperty("auto.create.topics.enable", "false"))
	rec := &recorder[string, string]{}
	tp := dial[string, string](t, b.Addr(), quick(), template.WithProducerListener[string, string](rec))

	err := failed(t, tp.Send(context.Background(), "no-such-topic", "v"))
	var ke *kerr.Error
	require.ErrorAs(t, err, &ke)
	require.Equal(t, kerr.UnknownTopicOrPartition, ke)
	require.ErrorIs(t, err, sarama.ErrUnknownTopicOrPartition)
	require.ErrorContains(t, err, "send to no-such-topic: UNKNOWN_TOPIC_OR_PARTITION")
	require.Eventually(t, func() bool { _, n := rec.counts(); return n == 1 }, 30*time.Second, time.Millisecond)
}

func TestProducerCanAskNotToCreateTopics(t *testing.T) {
	b := testkit.NewBroker(t) // auto-create on at the broker
	cfg := quick()
	cfg.Properties = map[string]string{"allow.auto.create.topics": "false"}
	tp := dial[string, string](t, b.Addr(), cfg)

	unique := fmt.Sprintf("%s-%d", t.Name(), time.Now().UnixNano())
	err := failed(t, tp.Send(context.Background(), "not-created-"+unique, "v"))
	require.ErrorIs(t, err, kerr.UnknownTopicOrPartition)

	if testkit.External() {
		t.Skip("whether the external cluster creates topics on demand is its own setting")
	}

	auto := dial[string, string](t, b.Addr(), quick())
	_, err = get(t, auto.Send(context.Background(), "created-"+unique, "v"))
	require.NoError(t, err, "with the default, the broker creates the topic")
}

func TestRecordOverTopicMaxMessageBytes(t *testing.T) {
	b := testkit.NewBroker(t, testkit.WithTopic("small", 1, map[string]string{"max.message.bytes": "1024"}))
	topic := b.Topic("small")
	rec := &recorder[string, string]{}
	tp := dial[string, string](t, b.Addr(), quick(), template.WithProducerListener[string, string](rec))

	err := failed(t, tp.Send(context.Background(), topic, strings.Repeat("x", 4096)))
	var se *template.SendError[string, string]
	require.ErrorAs(t, err, &se)
	require.False(t, se.Retriable())
	require.ErrorIs(t, err, kerr.MessageTooLarge)
	require.ErrorContains(t, err, "MESSAGE_TOO_LARGE")
	require.Eventually(t, func() bool { _, n := rec.counts(); return n == 1 }, 30*time.Second, time.Millisecond)

	// The topic still takes records that fit.
	_, err = get(t, tp.Send(context.Background(), topic, "fits"))
	require.NoError(t, err)
}

func TestExplicitPartitionOutOfRange(t *testing.T) {
	b := testkit.NewBroker(t, testkit.WithTopic("two", 2, nil))
	topic := b.Topic("two")
	tp := dial[string, string](t, b.Addr(), quick())
	err := failed(t, tp.SendPartition(context.Background(), topic, 5, "k", "v"))
	require.ErrorIs(t, err, template.ErrInvalidPartition)
	require.ErrorContains(t, err, fmt.Sprintf("send to %s-5", topic))
}

func TestCustomPartitioner(t *testing.T) {
	b := testkit.NewBroker(t, testkit.WithTopic("three", 3, nil))
	topic := b.Topic("three")
	last := template.PartitionerFunc(func(_ string, _ []byte, n int32) (int32, error) { return n - 1, nil })
	tp := dial[string, string](t, b.Addr(), quick(), template.WithPartitioner(last))
	for _, f := range []*template.Future[string, string]{
		tp.Send(context.Background(), topic, "a"),
		tp.SendKey(context.Background(), topic, "k", "b"),
	} {
		r, err := get(t, f)
		require.NoError(t, err)
		require.Equal(t, int32(2), r.Metadata.Partition)
	}
}

// With linger sixty times the delivery timeout, the broker cannot confirm in
// time: the future fails with ErrDeliveryTimeout, once, and the record still
// arrives when linger passes.
func TestDeliveryTimeout(t *testing.T) {
	b := testkit.NewBroker(t, testkit.WithTopic("slow", 1, nil))
	topic := b.Topic("slow")
	rec := &recorder[string, string]{}
	cfg := quick()
	cfg.LingerMs = 3000
	cfg.DeliveryTimeoutMs = 50
	tp, err := template.Dial[string, string]([]string{b.Addr()}, cfg, template.WithProducerListener[string, string](rec))
	require.NoError(t, err)

	err = failed(t, tp.Send(context.Background(), topic, "late"))
	require.ErrorIs(t, err, template.ErrDeliveryTimeout)
	var se *template.SendError[string, string]
	require.ErrorAs(t, err, &se)
	require.True(t, se.Retriable())

	closeTemplate(t, tp) // waits for the batch to leave after linger
	successes, errs := rec.counts()
	require.Equal(t, 0, successes)
	require.Equal(t, 1, errs, "a late confirmation does not complete the future again")
	require.Equal(t, int64(1), highWater(t, b.Addr(), topic)[0], "the record may still be written")
}

func TestFlushWaitsForEverySend(t *testing.T) {
	b := testkit.NewBroker(t, testkit.WithTopic("batched", 2, nil))
	topic := b.Topic("batched")
	cfg := quick()
	cfg.LingerMs = 200
	tp := dial[string, string](t, b.Addr(), cfg)

	var futures []*template.Future[string, string]
	for i := range 50 {
		futures = append(futures, tp.SendKey(context.Background(), topic, fmt.Sprint(i), "v"))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, tp.Flush(ctx))
	for _, f := range futures {
		select {
		case <-f.Done():
		default:
			t.Fatal("Flush returned before a send completed")
		}
		_, err := f.Result()
		require.NoError(t, err)
	}

	expired, cancelNow := context.WithCancel(context.Background())
	cancelNow()
	tp.Send(context.Background(), topic, "pending")
	require.ErrorIs(t, tp.Flush(expired), context.Canceled)
}

func TestCloseCompletesEveryOutstandingFuture(t *testing.T) {
	b := testkit.NewBroker(t, testkit.WithTopic("closing", 1, nil))
	topic := b.Topic("closing")
	cfg := quick()
	cfg.LingerMs = 300 // records are still held when Close starts
	tp, err := template.Dial[string, string]([]string{b.Addr()}, cfg)
	require.NoError(t, err)

	var futures []*template.Future[string, string]
	for i := range 20 {
		futures = append(futures, tp.Send(context.Background(), topic, fmt.Sprint(i)))
	}
	closeTemplate(t, tp)
	for _, f := range futures {
		select {
		case <-f.Done():
		default:
			t.Fatal("Close returned with a future outstanding")
		}
		_, err := f.Result()
		require.NoError(t, err, "Close lets the producer send what it holds")
	}
	require.Equal(t, int64(20), highWater(t, b.Addr(), topic)[0])
}

func TestNewOverCallerClient(t *testing.T) {
	b := testkit.NewBroker(t, testkit.WithTopic("shared", 1, nil))
	topic := b.Topic("shared")
	sc, err := quick().Sarama()
	require.NoError(t, err)
	client, err := sarama.NewClient([]string{b.Addr()}, sc)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, client.Close()) })

	tp, err := template.New[string, string](client, template.WithConfig(quick()))
	require.NoError(t, err)
	r, err := get(t, tp.Send(context.Background(), topic, "one"))
	require.NoError(t, err)
	require.Equal(t, int64(0), r.Metadata.Offset)
	closeTemplate(t, tp)

	// The client is the caller's and still works: a second template uses it.
	tp2, err := template.New[string, string](client)
	require.NoError(t, err)
	r, err = get(t, tp2.Send(context.Background(), topic, "two"))
	require.NoError(t, err)
	require.Equal(t, int64(1), r.Metadata.Offset)
	closeTemplate(t, tp2)
}

type order struct {
	ID    string `json:"id"`
	Total int    `json:"total"`
}

// A Java consumer with Spring's JsonDeserializer finds the type header; a
// nil *order is a tombstone.
func TestJSONValuesAndTombstones(t *testing.T) {
	b := testkit.NewBroker(t, testkit.WithTopic("orders", 1, nil))
	topic := b.Topic("orders")
	tp := dial[string, *order](t, b.Addr(), quick(),
		template.WithValueSerializer(serde.JSON[*order]{TypeID: "com.acme.Order"}))

	r1, err := get(t, tp.SendKey(context.Background(), topic, "o-1", &order{ID: "o-1", Total: 42}))
	require.NoError(t, err)
	r2, err := get(t, tp.SendKey(context.Background(), topic, "o-1", nil))
	require.NoError(t, err)
	require.Equal(t, -1, r2.Metadata.SerializedValueSize)

	c := consumer(t, b.Addr())
	m := consumeOne(t, c, topic, 0, r1.Metadata.Offset)
	require.JSONEq(t, `{"id":"o-1","total":42}`, string(m.Value))
	require.Len(t, m.Headers, 1)
	require.Equal(t, serde.TypeIDHeader, string(m.Headers[0].Key))
	require.Equal(t, "com.acme.Order", string(m.Headers[0].Value))

	tomb := consumeOne(t, c, topic, 0, r2.Metadata.Offset)
	require.Nil(t, tomb.Value)
	require.Empty(t, tomb.Headers)
}

func TestAcksZeroReportsNoOffset(t *testing.T) {
	b := testkit.NewBroker(t, testkit.WithTopic("fire", 1, nil))
	topic := b.Topic("fire")
	cfg := quick()
	cfg.Acks = "0"
	tp := dial[string, string](t, b.Addr(), cfg)
	r, err := get(t, tp.Send(context.Background(), topic, "forget"))
	require.NoError(t, err)
	require.Equal(t, int64(-1), r.Metadata.Offset)
	require.Equal(t, topic, r.Metadata.Topic)
}

func TestIdempotentProducer(t *testing.T) {
	b := testkit.NewBroker(t, testkit.WithTopic("exactly", 2, nil))
	topic := b.Topic("exactly")
	cfg := quick()
	cfg.EnableIdempotence = ptr(true)
	tp := dial[string, string](t, b.Addr(), cfg)
	for i := range 10 {
		r, err := get(t, tp.SendKey(context.Background(), topic, "k", fmt.Sprint(i)))
		require.NoError(t, err)
		require.Equal(t, int64(i), r.Metadata.Offset)
	}
}

func ptr[T any](v T) *T { return &v }

// A template without callbacks or listeners, whose buffer holds three
// records, keeps sending: the records the drainer completes are released in
// batches, but their budget comes back as soon as a Send waits for it.
func TestSmallBufferKeepsSending(t *testing.T) {
	b := testkit.NewBroker(t, testkit.WithTopic("small", 1, nil))
	topic := b.Topic("small")
	cfg := quick()
	cfg.BufferMemory = 120 // a record of value "v" holds 37 bytes
	cfg.MaxBlockMs = 60_000
	cfg.DeliveryTimeoutMs = 120_000 // the completer ticks once a second
	tp := dial[string, string](t, b.Addr(), cfg)

	// Each round fills the buffer and waits until the drainer has completed
	// the records, so the next round's Send waits for budget they still
	// hold. Waiting for the tick instead would take 100 seconds.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const rounds = 100
	for range rounds {
		futures := []*template.Future[string, string]{
			tp.Send(ctx, topic, "v"), tp.Send(ctx, topic, "v"), tp.Send(ctx, topic, "v"),
		}
		for _, f := range futures {
			_, err := get(t, f)
			require.NoError(t, err)
		}
	}
	require.Equal(t, int64(3*rounds), highWater(t, b.Addr(), topic)[0])
}
