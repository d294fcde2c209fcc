package txn

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestRecordRoundTrip(t *testing.T) {
	m := &Metadata{
		ProducerID: 42, ProducerEpoch: 3, PreviousProducerID: -1, Timeout: time.Minute, State: TxnOngoing,
		Partitions: []TopicPartition{{"a", 0}, {"a", 2}, {"b", 1}},
		Updated:    time.UnixMilli(1_700_000_000_123), Started: time.UnixMilli(1_700_000_000_000),
	}
	id, got, err := DecodeRecord(encodeKey("tx"), encodeValue(m))
	require.NoError(t, err)
	require.Equal(t, "tx", id)
	require.Equal(t, m, got)

	// Kafka's own schema: kmsg reads what we wrote.
	var v kmsg.TxnMetadataValue
	require.NoError(t, v.ReadFrom(encodeValue(m)))
	require.Equal(t, int16(0), v.Version)
	require.Len(t, v.Topics, 2)

	id, got, err = DecodeRecord(encodeKey("tx"), nil)
	require.NoError(t, err)
	require.Equal(t, "tx", id)
	require.Nil(t, got, "a tombstone")
}

func TestDecodeRefusesCorruptRecords(t *testing.T) {
	good := encodeValue(&Metadata{ProducerID: 1, State: TxnEmpty, Timeout: time.Second})
	bad := func(f func(v *kmsg.TxnMetadataValue)) []byte {
		v := kmsg.NewTxnMetadataValue()
		v.ProducerID, v.TimeoutMillis = 1, 1000
		f(&v)
		return v.AppendTo(nil)
	}
	for _, tc := range []struct {
		name       string
		key, value []byte
	}{
		{"empty key", nil, good},
		{"truncated key", encodeKey("tx")[:3], good},
		{"key of another version", []byte{0, 1, 0, 1, 'x'}, good},
		{"truncated value", encodeKey("tx"), good[:len(good)-3]},
		{"unknown state", encodeKey("tx"), bad(func(v *kmsg.TxnMetadataValue) { v.State = 9 })},
		{"negative producer id", encodeKey("tx"), bad(func(v *kmsg.TxnMetadataValue) { v.ProducerID = -5 })},
		{"negative partition", encodeKey("tx"), bad(func(v *kmsg.TxnMetadataValue) {
			v.Topics = []kmsg.TxnMetadataValueTopic{{Topic: "a", Partitions: []int32{-1}}}
		})},
		{"value version 9", encodeKey("tx"), bad(func(v *kmsg.TxnMetadataValue) { v.Version = 9 })},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := DecodeRecord(tc.key, tc.value)
			require.ErrorIs(t, err, ErrCorruptRecord)
		})
	}
}

func FuzzDecodeRecord(f *testing.F) {
	f.Add(encodeKey("tx"), encodeValue(&Metadata{ProducerID: 1, State: TxnOngoing, Partitions: []TopicPartition{{"a", 1}}}))
	f.Add(encodeKey(""), []byte{})
	f.Add([]byte{0, 0, 0xff, 0xff}, []byte{0, 1, 0, 0, 0, 0, 0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, key, value []byte) {
		id, m, err := DecodeRecord(key, value)
		if err != nil || m == nil {
			return
		}
		// What decodes encodes back to something that decodes the same.
		id2, m2, err := DecodeRecord(encodeKey(id), encodeValue(m))
		if err != nil {
			t.Fatalf("re-encoded record does not decode: %v", err)
		}
		if id2 != id || m2.State != m.State || m2.ProducerID != m.ProducerID || len(m2.Partitions) != len(m.Partitions) {
			t.Fatalf("round trip changed the record: %+v vs %+v", m, m2)
		}
	})
}
