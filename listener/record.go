package listener

import (
	"context"
	"time"

	"github.com/IBM/sarama"

	"github.com/kspring/kspring/serde"
)

// RawRecord is a record as the container received it, before the value is
// deserialized: what filters, interceptors, error handlers and recoverers
// see. A RawRecord is not shared between goroutines by the container; code
// that keeps one after its call returns must not change it.
type RawRecord struct {
	Topic     string
	Partition int32
	Offset    int64
	Key       []byte // nil for a null key
	Value     []byte // nil for a null value (a tombstone)
	Headers   serde.Headers
	Timestamp time.Time
}

// TopicPartition names one partition of a topic.
type TopicPartition struct {
	Topic     string
	Partition int32
}

// Record is a deserialized record with its metadata, as Spring's
// ConsumerRecord: the form a handler takes with ListenRecord and ListenBatch.
type Record[T any] struct {
	Topic     string
	Partition int32
	Offset    int64
	Key       []byte // the record key as sent; nil for a null key
	Value     T
	Headers   serde.Headers
	Timestamp time.Time
	// DeliveryAttempt counts deliveries of this record to the handler,
	// starting at 1; on a retry topic it continues the count of the main
	// topic (Spring's retry_topic-attempts header).
	DeliveryAttempt int
	// Ack acknowledges the record in the MANUAL and MANUAL_IMMEDIATE ack
	// modes; it is nil in the others.
	Ack Acknowledgment
}

// Acknowledgment is the handle of a record in the manual ack modes, as
// Spring's Acknowledgment.
type Acknowledgment interface {
	// Acknowledge marks the record processed: its offset (and, as Kafka
	// offsets go, those of the records before it in the partition) will be
	// committed. In MANUAL mode the commit happens after the current batch
	// of records; in MANUAL_IMMEDIATE mode Acknowledge commits before it
	// returns. It may be called from any goroutine; an acknowledgment that
	// arrives after the partition was revoked is ignored.
	Acknowledge()
	// Nack asks for the record to be delivered again after sleep: the
	// records of its partition after it are not delivered until then, and
	// nothing from the record on is committed. It must be called by the
	// handler before it returns nil; in a batch it applies to this record
	// and the ones after it, the ones before it count as acknowledged.
	Nack(sleep time.Duration)
}

// ListenerInfo describes the listener that is handling a record. Handlers,
// error handlers and recoverers find it in their context with
// ListenerInfoFrom.
type ListenerInfo struct {
	ID       string // the endpoint id
	GroupID  string // the consumer group; empty for a container without one
	ClientID string // the client id of the member handling the record
}

type infoKey struct{}

// ListenerInfoFrom returns the ListenerInfo the container put in ctx.
func ListenerInfoFrom(ctx context.Context) (ListenerInfo, bool) {
	info, ok := ctx.Value(infoKey{}).(ListenerInfo)
	return info, ok
}

func withListenerInfo(ctx context.Context, info ListenerInfo) context.Context {
	return context.WithValue(ctx, infoKey{}, info)
}

// fillRaw converts a sarama message into r. Keys, values and header values
// are shared with the message, not copied.
func fillRaw(r *RawRecord, m *sarama.ConsumerMessage) {
	*r = RawRecord{
		Topic:     m.Topic,
		Partition: m.Partition,
		Offset:    m.Offset,
		Key:       m.Key,
		Value:     m.Value,
		Timestamp: m.Timestamp,
	}
	if len(m.Headers) > 0 {
		r.Headers = make(serde.Headers, 0, len(m.Headers))
		for _, h := range m.Headers {
			if h != nil {
				r.Headers = append(r.Headers, serde.Header{Key: string(h.Key), Value: h.Value})
			}
		}
	}
}
