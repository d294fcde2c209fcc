package template

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/kspring/kspring/internal/traceparent"
	"github.com/kspring/kspring/serde"
)

// Every Send method returns a Future at once; none returns an error. A record
// that cannot be sent (a cancelled ctx, a serializer error, a full buffer, a
// closed template, a record too large) comes back as a future that has
// already failed, and the ProducerListener hears of it. ctx bounds only the
// wait to hand the record to the producer: once handed over, cancelling ctx
// does not recall it.

// Send sends value with a null key to topic; the partitioner spreads such
// records over the partitions.
func (t *Template[K, V]) Send(ctx context.Context, topic string, value V) *Future[K, V] {
	f := t.newFuture()
	f.rec = ProducerRecord[K, V]{Topic: topic, Value: value}
	t.send(ctx, f)
	return f
}

// SendKey sends value with key to topic. Records with equal keys go to the
// same partition, the one Kafka's Java producer would choose.
func (t *Template[K, V]) SendKey(ctx context.Context, topic string, key K, value V) *Future[K, V] {
	f := t.newFuture()
	f.key = key
	f.rec = ProducerRecord[K, V]{Topic: topic, Key: &f.key, Value: value}
	t.send(ctx, f)
	return f
}

// SendPartition sends value with key to the given partition of topic.
func (t *Template[K, V]) SendPartition(ctx context.Context, topic string, partition int32, key K, value V) *Future[K, V] {
	f := t.newFuture()
	f.key, f.partition = key, partition
	f.rec = ProducerRecord[K, V]{Topic: topic, Partition: &f.partition, Key: &f.key, Value: value}
	t.send(ctx, f)
	return f
}

// SendAt sends value with key to topic with the given create timestamp.
func (t *Template[K, V]) SendAt(ctx context.Context, topic string, timestamp time.Time, key K, value V) *Future[K, V] {
	f := t.newFuture()
	f.key = key
	f.rec = ProducerRecord[K, V]{Topic: topic, Timestamp: timestamp, Key: &f.key, Value: value}
	t.send(ctx, f)
	return f
}

// SendRecord sends rec: any mix of partition, timestamp, key and headers. An
// empty Topic means the default topic.
func (t *Template[K, V]) SendRecord(ctx context.Context, rec ProducerRecord[K, V]) *Future[K, V] {
	f := t.newFuture()
	f.rec = rec
	t.send(ctx, f)
	return f
}

// SendDefault sends value with a null key to the default topic
// (WithDefaultTopic).
func (t *Template[K, V]) SendDefault(ctx context.Context, value V) *Future[K, V] {
	return t.SendRecord(ctx, ProducerRecord[K, V]{Value: value})
}

// SendDefaultKey sends value with key to the default topic.
func (t *Template[K, V]) SendDefaultKey(ctx context.Context, key K, value V) *Future[K, V] {
	f := t.newFuture()
	f.key = key
	f.rec = ProducerRecord[K, V]{Key: &f.key, Value: value}
	t.send(ctx, f)
	return f
}

func (t *Template[K, V]) newFuture() *Future[K, V] {
	return &Future[K, V]{owner: t, keySize: -1, valueSize: -1}
}

// send runs the pipeline for the record in f: interceptors, serializers,
// checks, buffer budget, hand-off to the producer. A failure completes f here.
// Once the record is handed off, send no longer touches it: the drainer may
// recycle it at once.
func (t *Template[K, V]) send(ctx context.Context, f *Future[K, V]) {
	if t.txn != nil {
		t.sendTransactional(ctx, f)
		return
	}
	t.sendNow(ctx, f)
}

// sendNow is send, for a record that goes to the producer as it is.
func (t *Template[K, V]) sendNow(ctx context.Context, f *Future[K, V]) {
	t.sendTo(ctx, f, nil)
}

// sendTo is sendNow to the producer whose input is in (nil: the template's
// producer).
func (t *Template[K, V]) sendTo(ctx context.Context, f *Future[K, V], in chan<- *sarama.ProducerMessage) {
	now := time.Now()
	r := t.spares.get()
	r.f = f
	if err := t.prepare(ctx, f, r, now); err != nil {
		t.finish(f, err)
		t.spares.put([]*inflight[K, V]{r})
		return
	}
	if err := t.handOff(ctx, r, now.Sub(t.epoch), in); err != nil {
		t.fl.release(r)
		t.finish(f, err)
		t.spares.put([]*inflight[K, V]{r})
	}
}

// serialize runs the interceptors' OnSend over f's record and serializes
// its key (nil for a null key) and value; the serializers may change the
// record's headers.
func (t *Template[K, V]) serialize(ctx context.Context, f *Future[K, V]) (key, value []byte, err error) {
	rec := &f.rec
	if rec.Topic == "" {
		if t.defaultTopic == "" {
			return nil, nil, ErrNoDefaultTopic
		}
		rec.Topic = t.defaultTopic
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	if t.closed.Load() {
		return nil, nil, ErrClosed
	}
	for _, i := range t.interceptors {
		t.safely("interceptor OnSend", func() { *rec = i.OnSend(ctx, *rec) })
	}

	// Serializers may change the headers; the caller's slice stays as is. The
	// copy lives in f, which is on the heap anyway.
	rec.Headers = rec.Headers.Clone()
	if rec.Key != nil {
		if key, err = serde.SerializeKey(t.keySer, rec.Topic, &rec.Headers, *rec.Key); err != nil {
			return nil, nil, err
		}
	}
	if value, err = serde.SerializeValue(t.valueSer, rec.Topic, &rec.Headers, rec.Value); err != nil {
		return nil, nil, err
	}
	return key, value, nil
}

// prepare fills r.msg from f's record; now is the time of Send.
func (t *Template[K, V]) prepare(ctx context.Context, f *Future[K, V], r *inflight[K, V], now time.Time) error {
	key, value, err := t.serialize(ctx, f)
	if err != nil {
		return err
	}
	rec := &f.rec
	headers := rec.Headers
	if t.obs.on() {
		// The span starts once the record is serialized; a send that
		// fails before that is counted (finishClaimed) but not traced.
		f.obs = t.obs.start(ctx, rec.Topic, &rec.Headers, key, len(value), now)
		headers = rec.Headers
	}

	msg := &r.msg
	msg.Topic = rec.Topic
	if key != nil {
		r.keyEnc.b, f.keySize = key, int32(len(key))
		msg.Key = &r.keyEnc
	}
	if value != nil {
		r.valueEnc.b, f.valueSize = value, int32(len(value))
		msg.Value = &r.valueEnc
	}
	if len(headers) > 0 {
		msg.Headers = r.headers[:0]
		if len(headers) > len(r.headers) {
			msg.Headers = make([]sarama.RecordHeader, 0, len(headers))
		}
		for _, h := range headers {
			msg.Headers = append(msg.Headers, sarama.RecordHeader{Key: headerKey(h.Key), Value: h.Value})
		}
	}
	if rec.Partition != nil {
		f.partition, f.explicit = *rec.Partition, true
		r.partition, r.explicit = f.partition, true
	}
	r.custom = t.partitioner != nil
	// sarama truncates the timestamp to milliseconds, as the broker stores it.
	msg.Timestamp = rec.Timestamp
	if msg.Timestamp.IsZero() {
		msg.Timestamp = now
	}
	msg.Metadata = r

	size := msg.ByteSize(2)
	r.size = int32(min(size, math.MaxInt32))
	if size > t.maxRecord {
		return fmt.Errorf("%w: %d bytes serialized, more than max-request-size %d: %w",
			ErrRecordTooLarge, size, t.maxRecord, kerr.MessageTooLarge)
	}
	if int64(size) > t.bufferMemory {
		return fmt.Errorf("%w: %d bytes serialized, more than buffer-memory %d: %w",
			ErrRecordTooLarge, size, t.bufferMemory, kerr.MessageTooLarge)
	}
	return nil
}

// handOff takes buffer budget and gives the message to the producer whose
// input is in (nil: the template's), waiting at most max-block-ms from now
// (on the template's clock), until ctx ends or the template closes.
func (t *Template[K, V]) handOff(ctx context.Context, r *inflight[K, V], now time.Duration, in chan<- *sarama.ProducerMessage) error {
	t.sendMu.RLock()
	defer t.sendMu.RUnlock()
	if t.closed.Load() {
		return ErrClosed
	}
	if in == nil {
		in = t.input
	}
	if err := t.fl.acquire(ctx, r, now, t.maxBlock, t.closing, t.clock); err != nil {
		return err
	}
	select {
	case in <- &r.msg:
		return nil
	default:
	}
	// The producer is busy. Wait without a timer of our own (a timer per send
	// costs an allocation and the runtime's timer locks): the completer's
	// pulse wakes us to check the max-block-ms deadline, and Close's to
	// return. Every channel in a select costs a lock, so a context that
	// cannot end is left out.
	deadline := now + t.maxBlock
	done := ctx.Done()
	for {
		pulse := t.pulse.Load()
		if done == nil {
			select {
			case in <- &r.msg:
				return nil
			case <-pulse.c:
			}
		} else {
			select {
			case in <- &r.msg:
				return nil
			case <-done:
				return ctx.Err()
			case <-pulse.c:
			}
		}
		if t.closed.Load() {
			return ErrClosed
		}
		if t.clock() >= deadline {
			return fmt.Errorf("%w: the producer took no record for max-block-ms %v", ErrBufferFull, t.maxBlock)
		}
	}
}

// headerKey is key as sarama wants it: the trace context headers every
// traced send carries share one read-only copy (sarama only encodes it).
func headerKey(key string) []byte {
	switch key {
	case traceparent.Header:
		return traceparentKey
	case traceparent.StateHeader:
		return tracestateKey
	}
	return []byte(key)
}

var traceparentKey, tracestateKey = []byte(traceparent.Header), []byte(traceparent.StateHeader)
