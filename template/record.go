package template

import (
	"time"

	"github.com/kspring/kspring/serde"
)

// ProducerRecord is a record to send, as Kafka's Java ProducerRecord: a topic,
// an optional partition, timestamp and key, a value and headers.
type ProducerRecord[K, V any] struct {
	// Topic to send to. Empty means the template's default topic (SendRecord).
	Topic string
	// Partition, if not nil, is where the record goes; otherwise the
	// partitioner decides.
	Partition *int32
	// Timestamp is the record's create time; zero means the time of Send.
	Timestamp time.Time
	// Key, if not nil, is serialized and decides the partition; nil sends a
	// null key.
	Key *K
	// Value is serialized by the value serializer; a serializer may map it to
	// null (a tombstone), as serde.JSON does for a nil pointer.
	Value V
	// Headers go with the record. Serializers may add to them (for example
	// serde.JSON's __TypeId__); the caller's slice is never changed.
	Headers serde.Headers
}

// RecordMetadata is what the broker said about a written record, as Kafka's
// Java RecordMetadata.
type RecordMetadata struct {
	Topic     string
	Partition int32
	// Offset of the record in its partition; -1 with acks=0, where the broker
	// does not answer.
	Offset int64
	// Timestamp is the record's create time, or the broker's append time on a
	// topic with message.timestamp.type=LogAppendTime.
	Timestamp time.Time
	// SerializedKeySize and SerializedValueSize are the byte lengths of the
	// key and value, -1 for null.
	SerializedKeySize   int
	SerializedValueSize int
}

// SendResult is the outcome of a successful send: the record as sent (after
// interceptors and with the headers serializers added) and its metadata.
type SendResult[K, V any] struct {
	Record   ProducerRecord[K, V]
	Metadata RecordMetadata
}
