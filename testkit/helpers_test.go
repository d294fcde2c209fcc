package testkit_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/kspring/kspring/testkit"
)

func TestProduceReturnsRecordsAsWritten(t *testing.T) {
	t.Parallel()
	b := testkit.NewBroker(t, testkit.WithTopic("orders", 3, nil))
	topic := b.Topic("orders")
	ts := time.UnixMilli(1_700_000_000_000)
	in := []testkit.Record{
		testkit.KeyValue("a", "1").WithHeader("trace", "t1").WithHeader("trace", "t2"),
		testkit.Value("2").ToPartition(2),
		{Key: []byte("c"), Value: nil, Timestamp: ts}, // a tombstone
		testkit.KeyValue("a", "4"),
	}
	out := testkit.Produce(t, b.Addr(), topic, in...)
	require.Len(t, out, len(in))
	for i, r := range out {
		require.Equal(t, topic, r.Topic, "record %d", i)
		require.Equal(t, in[i].Key, r.Key, "record %d: results in input order", i)
	}
	require.Equal(t, int32(2), out[1].Partition, "ToPartition")
	require.Equal(t, out[0].Partition, out[3].Partition, "same key, same partition")
	require.Greater(t, out[3].Offset, out[0].Offset)
	require.Equal(t, ts, out[2].Timestamp)

	got := testkit.ConsumeN(t, b.Addr(), topic, 4, 10*time.Second)
	byValue := map[string]testkit.Record{}
	for _, r := range got {
		byValue[string(r.Value)] = r
	}
	first := byValue["1"]
	v, ok := first.Header("trace")
	require.True(t, ok)
	require.Equal(t, "t2", v, "the last header of a key")
	require.Len(t, first.Headers, 2)
	_, ok = first.Header("missing")
	require.False(t, ok)
	require.Equal(t, out[0].Offset, first.Offset)

	tomb := byValue[""]
	require.Nil(t, tomb.Value, "a null value stays null")
	require.Equal(t, "c", string(tomb.Key))
	require.Equal(t, ts, tomb.Timestamp)
}

// Keys go where Java's DefaultPartitioner puts them (murmur2), so records
// produced here meet those produced by the template and Java services.
func TestProduceHashesKeysLikeKafka(t *testing.T) {
	t.Parallel()
	b := testkit.NewBroker(t, testkit.WithTopic("keys", 12, nil))
	// Utils.toPositive(Utils.murmur2(key)) % 12, from the hashes Java's
	// org.apache.kafka.common.utils.Utils.murmur2 gives (the vectors of
	// kafka-python's test_murmur2_java_compatibility).
	want := map[string]int32{"21": 0, "foobar": 6, "abc": 3, "1": 3, "12": 10, "123": 5, "12345": 8}
	for key, p := range want {
		r := testkit.Produce(t, b.Addr(), b.Topic("keys"), testkit.KeyValue(key, "v"))[0]
		require.Equal(t, p, r.Partition, "key %q", key)
	}
}

func TestProduceFailureNamesRecord(t *testing.T) {
	if testkit.External() {
		t.Skip("needs broker properties")
	}
	t.Parallel()
	b := testkit.NewBroker(t, testkit.WithTopic("small", 1, map[string]string{"max.message.bytes": "1024"}))
	msg := failure(t, func(ft testing.TB) {
		testkit.Produce(ft, b.Addr(), "small", testkit.Value("ok"), testkit.KeyValue("big", incompressible(4096)))
	})
	require.Contains(t, msg, `produce to "small"`)
	require.Contains(t, msg, "2 of 2 records failed") // one batch
	require.Contains(t, msg, `record 1 (value="ok")`)
	require.Contains(t, msg, `record 2 (key="big" value="`)
	require.Contains(t, msg, "MESSAGE_TOO_LARGE")
}

// incompressible returns n random letters: the producer's compression
// cannot shrink them below the broker's limits.
func incompressible(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('a' + rand.IntN(26))
	}
	return string(b)
}

func TestConsumeN(t *testing.T) {
	t.Parallel()
	b := testkit.NewBroker(t, testkit.WithTopic("events", 2, nil))
	topic := b.Topic("events")
	testkit.Produce(t, b.Addr(), topic,
		testkit.Value("a").ToPartition(0), testkit.Value("b").ToPartition(1), testkit.Value("c").ToPartition(0))

	got := testkit.ConsumeN(t, b.Addr(), topic, 2, 10*time.Second)
	require.Len(t, got, 2, "the first n, not all")

	got = testkit.ConsumeN(t, b.Addr(), topic, 3, 10*time.Second)
	var p0 []string
	for _, r := range got {
		if r.Partition == 0 {
			p0 = append(p0, string(r.Value))
		}
	}
	require.Equal(t, []string{"a", "c"}, p0, "in order within a partition")

	msg := failure(t, func(ft testing.TB) { testkit.ConsumeN(ft, b.Addr(), topic, 5, 300*time.Millisecond) })
	require.Contains(t, msg, "want 5 records from "+`"`+topic+`"`)
	require.Contains(t, msg, "within 300ms, got 3:")
	require.Contains(t, msg, topic+`/0@1 value="c"`)
}

// Records produced after ConsumeN starts reach it: it waits, it does not
// just read what is there.
func TestConsumeNWaitsForRecords(t *testing.T) {
	t.Parallel()
	b := testkit.NewBroker(t, testkit.WithTopic("later", 1, nil))
	topic := b.Topic("later")
	done := make(chan []testkit.Record)
	go func() {
		ft := run(t, func(ft testing.TB) { done <- testkit.ConsumeN(ft, b.Addr(), topic, 2, 20*time.Second) })
		if ft.Failed() {
			close(done)
		}
	}()
	testkit.Produce(t, b.Addr(), topic, testkit.Value("1"))
	testkit.Produce(t, b.Addr(), topic, testkit.Value("2"))
	got, ok := <-done
	require.True(t, ok, "ConsumeN failed")
	require.Len(t, got, 2)
}

func TestConsumeNOfMissingTopicSaysSo(t *testing.T) {
	t.Parallel()
	b := testkit.NewBroker(t, testkit.WithProperty("auto.create.topics.enable", "false"))
	nowhere := testkit.UniqueName(t, "nowhere")
	msg := failure(t, func(ft testing.TB) { testkit.ConsumeN(ft, b.Addr(), nowhere, 1, 200*time.Millisecond) })
	require.Contains(t, msg, `got 0: (none)`)
	require.Contains(t, msg, `topic "`+nowhere+`"`)
}

func TestSingleRecord(t *testing.T) {
	t.Parallel()
	b := testkit.NewBroker(t, testkit.WithTopic("one", 3, nil), testkit.WithTopic("two", 3, nil))
	one, two := b.Topic("one"), b.Topic("two")

	testkit.Produce(t, b.Addr(), one, testkit.KeyValue("k", "v"))
	r := testkit.SingleRecord(t, b.Addr(), one)
	require.Equal(t, "k", string(r.Key))
	require.Equal(t, "v", string(r.Value))

	testkit.Produce(t, b.Addr(), two, testkit.Value("x").ToPartition(0), testkit.Value("y").ToPartition(2))
	msg := failure(t, func(ft testing.TB) { testkit.SingleRecord(ft, b.Addr(), two) })
	require.Contains(t, msg, "want 1 record in "+`"`+two+`"`)
	require.Contains(t, msg, "got 2:")
	require.Contains(t, msg, `value="x"`)
	require.Contains(t, msg, `value="y"`)
}

func TestRecordsReadsToTheEnd(t *testing.T) {
	t.Parallel()
	b := testkit.NewBroker(t, testkit.WithTopic("all", 4, nil), testkit.WithTopic("empty", 2, nil))
	require.Empty(t, testkit.Records(t, b.Addr(), b.Topic("empty")))

	var in []testkit.Record
	for i := range 50 {
		in = append(in, testkit.KeyValue(string(rune('a'+i%26)), "v"))
	}
	testkit.Produce(t, b.Addr(), b.Topic("all"), in...)
	require.Len(t, testkit.Records(t, b.Addr(), b.Topic("all")), 50)

	// After DeleteRecords the log starts later: Records reads from there.
	trimmed := b.CreateTopic(t, "trimmed", 1, nil)
	testkit.Produce(t, b.Addr(), trimmed, testkit.Value("a"), testkit.Value("b"), testkit.Value("c"))
	var upTo kadm.Offsets
	upTo.AddOffset(trimmed, 0, 2, -1)
	resp, err := admin(t, b.Bootstrap()).DeleteRecords(ctx(t), upTo)
	require.NoError(t, err)
	require.NoError(t, resp.Error())
	got := testkit.Records(t, b.Addr(), trimmed)
	require.Len(t, got, 1)
	require.Equal(t, "c", string(got[0].Value))
}

func TestEndOffsets(t *testing.T) {
	t.Parallel()
	b := testkit.NewBroker(t, testkit.WithTopic("ends", 3, nil))
	topic := b.Topic("ends")
	require.Equal(t, map[int32]int64{0: 0, 1: 0, 2: 0}, testkit.EndOffsets(t, b.Addr(), topic))
	testkit.Produce(t, b.Addr(), topic,
		testkit.Value("a").ToPartition(1), testkit.Value("b").ToPartition(1), testkit.Value("c").ToPartition(2))
	require.Equal(t, map[int32]int64{0: 0, 1: 2, 2: 1}, testkit.EndOffsets(t, b.Addr(), topic))

	msg := failure(t, func(ft testing.TB) { testkit.EndOffsets(ft, b.Addr(), "missing-topic") })
	require.Contains(t, msg, `EndOffsets of "missing-topic"`)
	require.Contains(t, msg, "UNKNOWN_TOPIC_OR_PARTITION")
}

func TestCommittedOffsets(t *testing.T) {
	t.Parallel()
	b := testkit.NewBroker(t, testkit.WithTopic("paid", 3, nil))
	topic, group := b.Topic("paid"), testkit.UniqueName(t, "billing")
	require.Empty(t, testkit.CommittedOffsets(t, b.Addr(), group, topic), "no commit yet")

	testkit.Produce(t, b.Addr(), topic, testkit.Value("a").ToPartition(0), testkit.Value("b").ToPartition(2),
		testkit.Value("c").ToPartition(2))
	adm := admin(t, b.Bootstrap())
	var commit kadm.Offsets
	commit.AddOffset(topic, 0, 1, -1)
	commit.AddOffset(topic, 2, 2, -1)
	resp, err := adm.CommitOffsets(ctx(t), group, commit)
	require.NoError(t, err)
	require.NoError(t, resp.Error())

	require.Equal(t, map[int32]int64{0: 1, 2: 2}, testkit.CommittedOffsets(t, b.Addr(), group, topic))
	require.Empty(t, testkit.CommittedOffsets(t, b.Addr(), group+"-other", topic))
}
