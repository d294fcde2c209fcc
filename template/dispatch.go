package template

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/IBM/sarama"
	"go.uber.org/zap"
)

// drainSuccesses (the drainer) and drainErrors are the goroutines that read
// the producer's Successes and Errors. They run no user code, so sarama never
// waits on a slow callback. A success with nothing to run (no callbacks on
// its future, no interceptors, no listener but the default) the drainer
// completes itself, which is cheap; everything else goes to the completer.
// (Waking the completer for every record would cost two goroutine switches
// per record.) Each reads its one channel with a plain receive, the cheapest
// wait there is, and queues records for the completer until its channel is
// empty or drainBatch are queued. The last of them to return, when the
// producer has shut down and handed back every record, releases what is held
// and tells the completer.
func (t *Template[K, V]) drainSuccesses(p sarama.AsyncProducer) {
	successes := p.Successes()
	var queued []back // for the completer
	for msg := range successes {
		r, ours := msg.Metadata.(*inflight[K, V])
		if t.quiet && ours && r.f.obs != nil {
			t.obs.written(r.f.obs, msg)
		}
		if t.quiet && ours && r.f.completeQuietly(msg) == quietDone {
			if rs := t.held.add(r, t.fl.waiting.Load() > 0); rs != nil {
				t.settle(rs)
			}
		} else {
			queued = append(queued, back{msg: msg})
		}
		if len(queued) > 0 && (len(queued) >= drainBatch || len(successes) == 0) {
			queued = t.returns.push(queued)
		}
	}
	t.returns.push(queued)
	t.drained()
}

func (t *Template[K, V]) drainErrors(p sarama.AsyncProducer) {
	errs := p.Errors()
	var queued []back
	for perr := range errs {
		queued = append(queued, back{msg: perr.Msg, err: perr.Err})
		if len(queued) >= drainBatch || len(errs) == 0 {
			queued = t.returns.push(queued)
		}
	}
	t.returns.push(queued)
	t.drained()
}

// drained is called by each drain goroutine as it returns; the last one
// releases what is held and tells the completer that no record will come.
func (t *Template[K, V]) drained() {
	if t.draining.Add(-1) == 0 {
		t.settle(t.held.take())
		t.returns.close()
	}
}

// held are records drainSuccesses completed, to be released (budget,
// in-flight list, spares) in batches of drainBatch, so that the lines Sends
// write are not pulled over for every record. They are released sooner while
// a Send waits for budget (by the drainer as it adds one, and by the
// completer, woken by settleNow), and at the completer's tick, so an idle
// template holds nothing long.
type held[K, V any] struct {
	mu    sync.Mutex
	rs    []*inflight[K, V]
	spare []*inflight[K, V] // an emptied batch, for reuse
}

// drainBatch is how many completed records are held before they are
// released.
const drainBatch = 128

// add holds r. It returns the held records, for the caller to settle, once
// there are drainBatch of them or if now is set.
func (h *held[K, V]) add(r *inflight[K, V], now bool) []*inflight[K, V] {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.rs = append(h.rs, r)
	if len(h.rs) < drainBatch && !now {
		return nil
	}
	rs := h.rs
	h.rs, h.spare = h.spare, nil
	return rs
}

// take returns the held records, for the caller to settle.
func (h *held[K, V]) take() []*inflight[K, V] {
	h.mu.Lock()
	defer h.mu.Unlock()
	rs := h.rs
	h.rs, h.spare = h.spare, nil
	return rs
}

// settle releases and recycles rs, records held by h.
func (t *Template[K, V]) settle(rs []*inflight[K, V]) {
	if len(rs) == 0 {
		return
	}
	t.fl.releaseAll(rs)
	t.spares.put(rs)
	clear(rs)
	t.held.mu.Lock()
	if t.held.spare == nil {
		t.held.spare = rs[:0]
	}
	t.held.mu.Unlock()
}

// completer is the goroutine that completes the futures of records the
// producer handed back, in batches: it runs interceptors, callbacks and
// listeners. On a tick it fails futures older than delivery-timeout-ms,
// pulses Sends waiting for the producer and releases the records the drainer
// holds (the template may be idle), as it does at once when a Send waits for
// budget. It returns after the last record came back.
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
		case <-t.settleNow: // a Send waits for budget
			t.settle(t.held.take())
		case <-tick.C:
			t.tick()
			t.expire()
			t.settle(t.held.take()) // the template may be idle
		}
	}
	// sarama hands back every record before closing its channels; anything
	// left was never handed to it.
	t.failAll(ErrClosed)
	if t.txn != nil {
		t.closeClients()
	}
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

// backQueue carries records from the drain goroutines to the completer. It is
// unbounded, but buffer-memory bounds it: a record holds budget until the
// completer sees it.
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
// whether the drain goroutines have finished.
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
	if err == nil && t.quiet && f.obs != nil {
		t.obs.written(f.obs, msg)
	}
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
	if f.silent {
		if cause != nil {
			err = newSendError(rec, cause)
		}
		f.complete(err)
		return
	}
	if cause != nil {
		err = newSendError(rec, cause)
		md = t.failedMetadata(f)
	} else {
		md = f.metadata()
	}
	for _, i := range t.interceptors {
		t.safely("interceptor OnAcknowledgement", func() { i.OnAcknowledgement(rec, md, err) })
	}
	t.obs.end(f.obs, md, err)
	f.complete(err)
	for _, l := range t.listeners {
		if err != nil {
			t.safely("producer listener OnError", func() { l.OnError(rec, err) })
		} else {
			t.safely("producer listener OnSuccess", func() { l.OnSuccess(rec, md) })
		}
	}
}
