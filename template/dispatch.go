package template

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/IBM/sarama"
	"go.uber.org/zap"
)

// drain is the one goroutine that reads the producer's Successes and Errors.
// It runs no user code, so sarama never waits on a slow callback. A success
// with nothing to run (no callbacks on its future, no interceptors, no
// listener but the default) it completes itself, which is cheap; everything
// else it queues for the completer. (Waking the completer for every record
// would cost two goroutine switches per record.) It returns when the producer
// has shut down and handed back every record.
//
// The records it completed it releases (budget, in-flight list, spares) in
// batches of drainBatch, so that the lines Sends write are not pulled over
// for every record. It releases them sooner when a Send waits for budget, and
// at the completer's tick (settleNow), so an idle template holds nothing
// long. Records for the completer go to it before the drainer waits.
func (t *Template[K, V]) drain() {
	successes, errs := t.producer.Successes(), t.producer.Errors()
	var done []*inflight[K, V] // completed here, to release
	var queued []back          // for the completer
	for successes != nil || errs != nil {
		var msg *sarama.ProducerMessage
		ok := false
		if len(done) < drainBatch && len(queued) < drainBatch {
			select { // costs no lock when nothing waits
			case msg, ok = <-successes:
			default:
			}
		}
		if !ok {
			// Nothing at once, or a full batch. Errors get a look at least
			// every drainBatch records.
			if len(done) >= drainBatch || t.fl.waiting.Load() > 0 {
				done = t.settle(done)
			}
			queued = t.returns.push(queued)
			var perr *sarama.ProducerError
			select {
			case msg, ok = <-successes:
				if !ok {
					successes = nil
					continue
				}
			case perr, ok = <-errs:
				if !ok {
					errs = nil
					continue
				}
				queued = append(queued, back{msg: perr.Msg, err: perr.Err})
				continue
			case <-t.settleNow:
				done = t.settle(done)
				continue
			}
		}
		r, ours := msg.Metadata.(*inflight[K, V])
		if !t.quiet || !ours {
			queued = append(queued, back{msg: msg})
			continue
		}
		if r.f.completeQuietly(msg) == quietDone {
			done = append(done, r)
		} else {
			queued = append(queued, back{msg: msg})
		}
	}
	t.settle(done)
	t.returns.push(queued)
	t.returns.close()
}

// drainBatch is how many completed records the drainer holds before it
// releases them.
const drainBatch = 128

// settle releases and recycles the records drain completed, and returns
// done emptied.
func (t *Template[K, V]) settle(done []*inflight[K, V]) []*inflight[K, V] {
	t.fl.releaseAll(done)
	t.spares.put(done)
	clear(done)
	return done[:0]
}

// completer is the goroutine that completes the futures of records the
// producer handed back, in batches: it runs interceptors, callbacks and
// listeners. On a
// tick it fails futures older than delivery-timeout-ms and pulses Sends
// waiting for the producer. It returns after the last record came back.
func (t *Template[K, V]) completer() {
	defer close(t.dispatched)
	tick := time.NewTicker(min(max(min(t.deliveryTimeout, t.maxBlock)/10, 5*time.Millisecond), time.Second))
	defer tick.Stop()
	var batch []back
	var rs []*inflight[K, V]
	for closed := false; !closed; {
		select {
		case <-t.returns.wake:
			batch, closed = t.returns.take(batch[:0])
			rs = t.returnedAll(batch, rs)
			clear(batch)
		case <-tick.C:
			t.tick()
			t.expire()
			select { // release what the drainer holds: the template may be idle
			case t.settleNow <- struct{}{}:
			default:
			}
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

// back is a record the producer handed back, with its error if it failed.
type back struct {
	msg *sarama.ProducerMessage
	err error
}

// backQueue carries records from drain to the completer. It is unbounded, but
// buffer-memory bounds it: a record holds budget until the completer sees it.
type backQueue struct {
	mu     sync.Mutex
	items  []back
	closed bool
	wake   chan struct{} // capacity 1: there is something to take
}

// push queues bs and returns it emptied.
func (q *backQueue) push(bs []back) []back {
	if len(bs) == 0 {
		return bs
	}
	q.mu.Lock()
	q.items = append(q.items, bs...)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
	clear(bs)
	return bs[:0]
}

func (q *backQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// take returns what is queued, swapping in spare for the next pushes, and
// whether drain has finished.
func (q *backQueue) take(spare []back) ([]back, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	items := q.items
	q.items = spare
	return items, q.closed
}

// returnedAll releases the records sarama handed back, completes their
// futures and recycles the records. rs is scratch space; it returns it for
// the next batch.
func (t *Template[K, V]) returnedAll(batch []back, rs []*inflight[K, V]) []*inflight[K, V] {
	rs = rs[:0]
	for _, b := range batch {
		if r, ok := b.msg.Metadata.(*inflight[K, V]); ok {
			rs = append(rs, r)
		} else {
			t.log.Error("kafka template: producer returned a record it was not given", zap.String("topic", b.msg.Topic))
		}
	}
	t.fl.releaseAll(rs)
	for _, b := range batch {
		if r, ok := b.msg.Metadata.(*inflight[K, V]); ok {
			t.returned(r, b)
		}
	}
	t.spares.put(rs)
	clear(rs)
	return rs
}

// returned completes the future of r, which sarama handed back as b says.
func (t *Template[K, V]) returned(r *inflight[K, V], b back) {
	msg, err, f := b.msg, b.err, r.f
	switch {
	case err == nil && t.quiet && f.completeQuietly(msg) == quietDone:
	case f.claim():
		if err == nil {
			f.written(msg)
		} else if errors.Is(err, sarama.ErrShuttingDown) {
			err = fmt.Errorf("%w: %w", ErrClosed, err)
		}
		t.finishClaimed(f, err)
	}
}

// expire fails the futures older than delivery-timeout-ms.
func (t *Template[K, V]) expire() {
	for _, f := range t.fl.expired(t.clock() - t.deliveryTimeout) {
		t.finish(f, fmt.Errorf(
			"%w: not confirmed within delivery-timeout-ms %v; the record may still be written",
			ErrDeliveryTimeout, t.deliveryTimeout))
	}
}

// failedMetadata is the metadata of a record that was not written: its topic,
// its partition if it named one (else -1), and its serialized sizes.
func (t *Template[K, V]) failedMetadata(f *Future[K, V]) RecordMetadata {
	md := RecordMetadata{Topic: f.rec.Topic, Partition: -1, Offset: -1,
		SerializedKeySize: int(f.keySize), SerializedValueSize: int(f.valueSize)}
	if f.explicit {
		md.Partition = f.partition
	}
	return md
}

// finish fails f with cause, unless another goroutine completes it.
func (t *Template[K, V]) finish(f *Future[K, V], cause error) {
	if f.claim() {
		t.finishClaimed(f, cause)
	}
}

// finishClaimed completes f, which the caller claimed: with success if cause
// is nil (f.written was called), else with a *SendError. Interceptors run
// first, then the future's callbacks, then the listeners.
func (t *Template[K, V]) finishClaimed(f *Future[K, V], cause error) {
	rec := f.rec
	var md RecordMetadata
	var err error
	if cause != nil {
		err = newSendError(rec, cause)
		md = t.failedMetadata(f)
	} else {
		md = f.metadata()
	}
	for _, i := range t.interceptors {
		t.safely("interceptor OnAcknowledgement", func() { i.OnAcknowledgement(rec, md, err) })
	}
	f.complete(err)
	for _, l := range t.listeners {
		if err != nil {
			t.safely("producer listener OnError", func() { l.OnError(rec, err) })
		} else {
			t.safely("producer listener OnSuccess", func() { l.OnSuccess(rec, md) })
		}
	}
}
