package txn

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// TopicPartition names one partition of a transaction.
type TopicPartition struct {
	Topic     string
	Partition int32
}

func (tp TopicPartition) String() string { return fmt.Sprintf("%s-%d", tp.Topic, tp.Partition) }

func compareTP(a, b TopicPartition) int {
	if c := cmp.Compare(a.Topic, b.Topic); c != 0 {
		return c
	}
	return cmp.Compare(a.Partition, b.Partition)
}

// Metadata is one transactional id's state as __transaction_state stores it
// (kmsg.TxnMetadataValue, Kafka's schema). Partitions are kept sorted.
type Metadata struct {
	ProducerID    int64
	ProducerEpoch int16
	// PreviousProducerID is the producer id before the last change of id
	// (epoch exhaustion), -1 if none: a KIP-360 producer retrying with it
	// is recognised rather than fenced.
	PreviousProducerID int64
	Timeout            time.Duration
	State              kmsg.TransactionState
	Partitions         []TopicPartition
	Updated            time.Time
	// Started is when the ongoing transaction began; zero when none is.
	Started time.Time
}

// ErrCorruptRecord: a __transaction_state record that does not decode.
var ErrCorruptRecord = errors.New("corrupt __transaction_state record")

// encodeKey returns the record key of id (TxnMetadataKey version 0).
func encodeKey(id string) []byte {
	k := kmsg.NewTxnMetadataKey()
	k.TransactionalID = id
	return k.AppendTo(nil)
}

// encodeValue returns m as a TxnMetadataValue version 0, the version Kafka
// 3.x writes and every tool reads.
func encodeValue(m *Metadata) []byte {
	v := kmsg.NewTxnMetadataValue()
	v.ProducerID = m.ProducerID
	v.ProducerEpoch = m.ProducerEpoch
	v.TimeoutMillis = int32(m.Timeout.Milliseconds())
	v.State = m.State
	v.LastUpdateTimestamp = millis(m.Updated)
	v.StartTimestamp = millis(m.Started)
	for i := 0; i < len(m.Partitions); {
		t := kmsg.NewTxnMetadataValueTopic()
		t.Topic = m.Partitions[i].Topic
		for ; i < len(m.Partitions) && m.Partitions[i].Topic == t.Topic; i++ {
			t.Partitions = append(t.Partitions, m.Partitions[i].Partition)
		}
		v.Topics = append(v.Topics, t)
	}
	return v.AppendTo(nil)
}

func millis(t time.Time) int64 {
	if t.IsZero() {
		return -1
	}
	return t.UnixMilli()
}

func fromMillis(ms int64) time.Time {
	if ms < 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}

// DecodeRecord decodes a record of __transaction_state. It returns the
// transactional id and its metadata, or nil metadata for a tombstone (a
// nil value: the id expired). A record that is not Kafka's schema, or holds
// values no coordinator writes (an unknown state, a negative partition), is
// refused with an error wrapping ErrCorruptRecord; it never panics.
func DecodeRecord(key, value []byte) (string, *Metadata, error) {
	var k kmsg.TxnMetadataKey
	if err := k.ReadFrom(key); err != nil {
		return "", nil, fmt.Errorf("%w: key: %v", ErrCorruptRecord, err)
	}
	if k.Version != 0 {
		return "", nil, fmt.Errorf("%w: key version %d", ErrCorruptRecord, k.Version)
	}
	if value == nil {
		return k.TransactionalID, nil, nil
	}
	var v kmsg.TxnMetadataValue
	if err := v.ReadFrom(value); err != nil {
		return "", nil, fmt.Errorf("%w: transactional id %q: value: %v", ErrCorruptRecord, k.TransactionalID, err)
	}
	switch {
	case v.Version < 0 || v.Version > 1:
		return "", nil, fmt.Errorf("%w: transactional id %q: value version %d", ErrCorruptRecord, k.TransactionalID, v.Version)
	case v.State < kmsg.TransactionStateEmpty || v.State > kmsg.TransactionStatePrepareEpochFence:
		return "", nil, fmt.Errorf("%w: transactional id %q: state %d", ErrCorruptRecord, k.TransactionalID, v.State)
	case v.ProducerID < 0 || v.ProducerEpoch < 0 || v.TimeoutMillis < 0:
		return "", nil, fmt.Errorf("%w: transactional id %q: producer %d epoch %d timeout %d", ErrCorruptRecord,
			k.TransactionalID, v.ProducerID, v.ProducerEpoch, v.TimeoutMillis)
	}
	m := &Metadata{
		ProducerID: v.ProducerID, ProducerEpoch: v.ProducerEpoch, PreviousProducerID: -1,
		Timeout: time.Duration(v.TimeoutMillis) * time.Millisecond, State: v.State,
		Updated: fromMillis(v.LastUpdateTimestamp), Started: fromMillis(v.StartTimestamp),
	}
	if v.Version >= 1 {
		m.PreviousProducerID = v.PreviousProducerID
	}
	for _, t := range v.Topics {
		for _, p := range t.Partitions {
			if p < 0 {
				return "", nil, fmt.Errorf("%w: transactional id %q: partition %s-%d", ErrCorruptRecord, k.TransactionalID, t.Topic, p)
			}
			m.Partitions = append(m.Partitions, TopicPartition{t.Topic, p})
		}
	}
	slices.SortFunc(m.Partitions, compareTP)
	m.Partitions = slices.Compact(m.Partitions)
	return k.TransactionalID, m, nil
}
