package template

import (
	"errors"
	"testing"

	"github.com/IBM/sarama"
	"github.com/stretchr/testify/require"
)

// Partitions Kafka's Java producer picks for keyed records.
//
// Hashes are from Apache Kafka's UtilsTest.testMurmur2 (and the Akka/Pekko
// Murmur2Spec checked against it); the Java partitioner takes
// Utils.toPositive(murmur2(key)) % numPartitions. The partitions for 1000
// partitions were recorded from Java's partitioner by kafka-python's
// test_murmur2_java_compatibility.
func TestKeyedPlacementMatchesJava(t *testing.T) {
	hashes := []struct {
		key  string
		hash int32 // org.apache.kafka.common.utils.Utils.murmur2(key.getBytes(UTF_8))
	}{
		{"21", -973932308},
		{"foobar", -790332482},
		{"a-little-bit-long-string", -985981536},
		{"a-little-bit-longer-string", -1486304829},
		{"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971},
		{"abc", 479470107},
		{"1", -1993445489},
		{"12", 126087238},
		{"123", -267702483},
		{"1234", -1614185708},
		{"12345", -1188365604},
	}
	for _, n := range []int32{1, 2, 3, 6, 12, 100} {
		for _, h := range hashes {
			want := (h.hash & 0x7fffffff) % n // Utils.toPositive(hash) % n
			require.Equal(t, want, partitionOf(t, []byte(h.key), n), "key %q, %d partitions", h.key, n)
		}
	}

	recorded := []struct {
		key  string
		want int32
	}{
		{"", 681},
		{"a", 524},
		{"ab", 434},
		{"abc", 107},
		{"123456789", 566},
		{"\x00 ", 742},
	}
	for _, r := range recorded {
		require.Equal(t, r.want, partitionOf(t, []byte(r.key), 1000), "key %q", r.key)
	}
}

// partitionOf places a keyed record the way a Template's producer does.
func partitionOf(t *testing.T, key []byte, n int32) int32 {
	t.Helper()
	r := &inflight[string, string]{f: &Future[string, string]{}}
	r.keyEnc.b = key
	r.msg.Key = &r.keyEnc
	r.msg.Metadata = r
	p := NewPartitioner("t")
	require.True(t, p.(sarama.DynamicConsistencyPartitioner).MessageRequiresConsistency(&r.msg))
	got, err := p.Partition(&r.msg, n)
	require.NoError(t, err)
	return got
}

func TestEmptyKeyIsNotNullKey(t *testing.T) {
	// "" is a key like any other (Java: "".getBytes() is hashed); only a nil
	// key is spread.
	for range 5 {
		require.Equal(t, int32(681), partitionOf(t, []byte{}, 1000))
	}
}

func TestNullKeysSpreadRoundRobin(t *testing.T) {
	p := NewPartitioner("t")
	msg := &sarama.ProducerMessage{}
	require.False(t, p.(sarama.DynamicConsistencyPartitioner).MessageRequiresConsistency(msg),
		"null keys may use only partitions with a leader")
	seen := map[int32]int{}
	for range 12 {
		part, err := p.Partition(msg, 4)
		require.NoError(t, err)
		seen[part]++
	}
	require.Equal(t, map[int32]int{0: 3, 1: 3, 2: 3, 3: 3}, seen)
}

func TestExplicitAndCustomPlacement(t *testing.T) {
	p := NewPartitioner("orders")
	route := func(explicit bool, part int32, custom Partitioner) *sarama.ProducerMessage {
		f := &Future[string, string]{owner: &Template[string, string]{partitioner: custom}}
		r := &inflight[string, string]{f: f, partition: part, explicit: explicit, custom: custom != nil}
		r.keyEnc.b = []byte("k")
		r.msg.Key = &r.keyEnc
		r.msg.Metadata = r
		return &r.msg
	}

	got, err := p.Partition(route(true, 2, nil), 3)
	require.NoError(t, err)
	require.Equal(t, int32(2), got)

	_, err = p.Partition(route(true, 3, nil), 3)
	require.ErrorIs(t, err, ErrInvalidPartition)
	require.ErrorContains(t, err, `3 is not in [0, 3) of topic "orders"`)

	last := PartitionerFunc(func(topic string, key []byte, n int32) (int32, error) {
		require.Equal(t, "orders", topic)
		require.Equal(t, []byte("k"), key)
		return n - 1, nil
	})
	got, err = p.Partition(route(false, 0, last), 5)
	require.NoError(t, err)
	require.Equal(t, int32(4), got)

	// An explicit partition wins over the custom partitioner.
	got, err = p.Partition(route(true, 1, last), 5)
	require.NoError(t, err)
	require.Equal(t, int32(1), got)

	outOfRange := PartitionerFunc(func(string, []byte, int32) (int32, error) { return 9, nil })
	_, err = p.Partition(route(false, 0, outOfRange), 5)
	require.ErrorIs(t, err, ErrInvalidPartition)

	boom := errors.New("boom")
	failing := PartitionerFunc(func(string, []byte, int32) (int32, error) { return 0, boom })
	_, err = p.Partition(route(false, 0, failing), 5)
	require.ErrorIs(t, err, boom)
}
