package template

import (
	"errors"
	"fmt"
	"time"

	"github.com/IBM/sarama"
	"go.uber.org/zap"
)

// dispatch is the template's one goroutine. It drains the producer's
// Successes and Errors, so sarama never blocks on an unread channel, and
// completes each record's future; it also fails futures older than
// delivery-timeout-ms. It returns when the producer has shut down and handed
// back every record.
func (t *Template[K, V]) dispatch() {
	defer close(t.dispatched)
	successes, errs := t.producer.Successes(), t.producer.Errors()
	tick := time.NewTicker(min(max(t.deliveryTimeout/10, 5*time.Millisecond), time.Second))
	defer tick.Stop()
	for successes != nil || errs != nil {
		select {
		case msg, ok := <-successes:
			if !ok {
				successes = nil
				continue
			}
			t.returned(msg, nil)
		case pe, ok := <-errs:
			if !ok {
				errs = nil
				continue
			}
			t.returned(pe.Msg, pe.Err)
		case now := <-tick.C:
			t.expire(now)
		}
	}
	// sarama hands back every record before closing its channels; anything
	// left was never handed to it.
	t.failAll(ErrClosed)
	if t.ownClient {
		if err := t.client.Close(); err != nil {
			t.log.Warn("kafka template: close client", zap.Error(err))
		}
	}
}

// returned completes the future of a record sarama handed back.
func (t *Template[K, V]) returned(msg *sarama.ProducerMessage, err error) {
	f, ok := msg.Metadata.(*Future[K, V])
	if !ok {
		t.log.Error("kafka template: producer returned a record it was not given", zap.String("topic", msg.Topic))
		return
	}
	t.fl.release(f)
	if err != nil {
		if errors.Is(err, sarama.ErrShuttingDown) {
			err = fmt.Errorf("%w: %w", ErrClosed, err)
		}
		t.finish(f, t.failedMetadata(f), err)
		return
	}
	md := RecordMetadata{
		Topic:               msg.Topic,
		Partition:           msg.Partition,
		Offset:              msg.Offset,
		Timestamp:           msg.Timestamp,
		SerializedKeySize:   f.send.keySize,
		SerializedValueSize: f.send.valueSize,
	}
	if t.noAcks {
		md.Offset = -1
	}
	t.finish(f, md, nil)
}

// expire fails the futures older than delivery-timeout-ms.
func (t *Template[K, V]) expire(now time.Time) {
	for _, f := range t.fl.expired(now.Add(-t.deliveryTimeout)) {
		t.finish(f, t.failedMetadata(f), fmt.Errorf(
			"%w: not confirmed within delivery-timeout-ms %v; the record may still be written",
			ErrDeliveryTimeout, t.deliveryTimeout))
	}
}

// failedMetadata is the metadata of a record that was not written: its topic,
// its partition if it named one (else -1), and its serialized sizes.
func (t *Template[K, V]) failedMetadata(f *Future[K, V]) RecordMetadata {
	md := RecordMetadata{Topic: f.result.Record.Topic, Partition: -1, Offset: -1,
		SerializedKeySize: f.send.keySize, SerializedValueSize: f.send.valueSize}
	if f.send.explicit {
		md.Partition = f.send.partition
	}
	return md
}

// finish completes f once with md or cause: interceptors first, then the
// future's callbacks, then the listeners. Later calls for f do nothing.
func (t *Template[K, V]) finish(f *Future[K, V], md RecordMetadata, cause error) {
	if !f.claim() {
		return
	}
	rec := f.result.Record
	var err error
	if cause != nil {
		err = newSendError(rec, cause)
	}
	for _, i := range t.interceptors {
		t.safely("interceptor OnAcknowledgement", func() { i.OnAcknowledgement(rec, md, err) })
	}
	f.complete(md, err)
	for _, l := range t.listeners {
		if err != nil {
			t.safely("producer listener OnError", func() { l.OnError(rec, err) })
		} else {
			t.safely("producer listener OnSuccess", func() { l.OnSuccess(rec, md) })
		}
	}
}
