package template

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"
)

// Future is the pending outcome of one send. It completes exactly once, with a
// SendResult or with a *SendError.
//
// Callbacks added with OnSuccess, OnFailure and OnComplete run in the order
// they were added. Until the future completes they are queued, and then run on
// the goroutine that completes it: the template's completer goroutine for a
// record the producer handed back or that timed out, the goroutine that called
// Send for a record that failed before it was handed to the producer, or the
// one calling Close when its context ends. A callback added after completion
// runs at once on the goroutine that adds it. Callbacks must not block: while
// one runs on the completer, no other send completes. Hand slow work to
// another goroutine. A callback that panics is recovered and logged.
//
// A Future is safe for concurrent use.
//
// A Future is 192 bytes, three cache lines, with a []byte or string key and
// value: what is needed only when someone waits or the send failed lives in
// its waiters.
type Future[K, V any] struct {
	state atomic.Uint32 // futClaimed, futCompleted, futWaited

	// Set by Send before the hand-off.
	partition int32 // the explicit partition; backing store for rec.Partition
	keySize   int32 // serialized sizes, -1 for null
	valueSize int32

	// Where the record was written; set by the goroutine that completes f
	// with success, before it does.
	wPartition int32
	explicit   bool // set by Send: rec.Partition was given
	silent     bool // an inner send of a transactional template: completing it runs no hooks
	offset     int64
	timestamp  int64 // Unix milliseconds, as Kafka keeps it

	w     atomic.Pointer[waiters[K, V]] // set once someone waits or the send fails
	rec   ProducerRecord[K, V]
	owner *Template[K, V]
	obs   *sendObs // set by Send when the template observes sends
	key   K        // backing store for rec.Key of SendKey and friends
}

// Bits of Future.state.
const (
	futClaimed   = 1 << iota // one goroutine completes f; see Template.finish
	futCompleted             // the outcome is set and never changes again
	futWaited                // f has a done channel or callbacks (f.w)
)

// waiters are what completion must wake or run, and the error of a failed
// send. Most futures never get one: a future nobody waits on completes with
// one compare-and-swap.
type waiters[K, V any] struct {
	mu      sync.Mutex
	done    chan struct{}    // guarded by mu
	cbs     []callback[K, V] // guarded by mu
	running bool             // completion is running callbacks; guarded by mu
	err     error            // set by the goroutine that claimed the future, before it completes
}

// waiters returns f's waiters, creating them if need be.
func (f *Future[K, V]) waiters() *waiters[K, V] {
	if w := f.w.Load(); w != nil {
		return w
	}
	f.w.CompareAndSwap(nil, &waiters[K, V]{})
	return f.w.Load()
}

type callback[K, V any] struct {
	success  func(SendResult[K, V])
	failure  func(error)
	complete func(SendResult[K, V], error)
}

func (c callback[K, V]) empty() bool {
	return c.success == nil && c.failure == nil && c.complete == nil
}

// closedChan is returned by Done for futures that completed before anyone asked.
var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// OnSuccess adds fn to run with the result if the send succeeds. It returns f
// for chaining.
func (f *Future[K, V]) OnSuccess(fn func(SendResult[K, V])) *Future[K, V] {
	return f.add(callback[K, V]{success: fn})
}

// OnFailure adds fn to run with the error if the send fails. The error is
// always a *SendError[K, V]. It returns f for chaining.
func (f *Future[K, V]) OnFailure(fn func(error)) *Future[K, V] {
	return f.add(callback[K, V]{failure: fn})
}

// OnComplete adds fn to run with the outcome either way: a result and a nil
// error, or a zero result and a *SendError. It returns f for chaining.
func (f *Future[K, V]) OnComplete(fn func(SendResult[K, V], error)) *Future[K, V] {
	return f.add(callback[K, V]{complete: fn})
}

func (f *Future[K, V]) add(cb callback[K, V]) *Future[K, V] {
	if cb.empty() {
		return f
	}
	w := f.waiters()
	w.mu.Lock()
	if f.wait(w) {
		w.cbs = append(w.cbs, cb)
		w.mu.Unlock()
		return f
	}
	w.mu.Unlock()
	res, err := f.Result()
	f.run(cb, res, err)
	return f
}

// wait reports whether f has not completed, marking it waited, or is
// running callbacks: whether what waits is to be queued in w rather than act
// at once. Caller holds w.mu.
func (f *Future[K, V]) wait(w *waiters[K, V]) bool {
	for {
		s := f.state.Load()
		if s&futCompleted != 0 {
			return w.running
		}
		// futWaited goes on only while f has not completed: a completion
		// without the lock (completeQuietly, complete) either sees it or
		// wins first.
		if s&futWaited != 0 || f.state.CompareAndSwap(s, s|futWaited) {
			return true
		}
	}
}

// Done returns a channel that is closed when the future completes.
func (f *Future[K, V]) Done() <-chan struct{} {
	if f.state.Load()&futCompleted != 0 {
		return closedChan
	}
	w := f.waiters()
	w.mu.Lock()
	defer w.mu.Unlock()
	if !f.wait(w) || f.state.Load()&futCompleted != 0 {
		return closedChan
	}
	if w.done == nil {
		w.done = make(chan struct{})
	}
	return w.done
}

// Get waits for the outcome or for ctx to end. The error is a *SendError[K, V]
// if the send failed, or ctx's error if ctx ended first; the send itself goes
// on.
func (f *Future[K, V]) Get(ctx context.Context) (SendResult[K, V], error) {
	if f.state.Load()&futCompleted == 0 {
		select {
		case <-f.Done():
		case <-ctx.Done():
			return SendResult[K, V]{}, ctx.Err()
		}
	}
	return f.Result()
}

// Result returns the outcome if the future has completed. Before that it
// returns a zero result and a nil error; use Done to know which.
func (f *Future[K, V]) Result() (SendResult[K, V], error) {
	if f.state.Load()&futCompleted == 0 {
		return SendResult[K, V]{}, nil
	}
	// Everything read here is written before completed is set, and never
	// again.
	if w := f.w.Load(); w != nil && w.err != nil {
		return SendResult[K, V]{}, w.err
	}
	return SendResult[K, V]{Record: f.rec, Metadata: f.metadata()}, nil
}

// claim makes the caller the one goroutine that completes f. It reports false
// if another already has.
func (f *Future[K, V]) claim() bool {
	for {
		s := f.state.Load()
		if s&futClaimed != 0 {
			return false
		}
		if f.state.CompareAndSwap(s, s|futClaimed) {
			return true
		}
	}
}

// complete sets the outcome and runs the queued callbacks. Only the goroutine
// that claimed f calls it, once.
func (f *Future[K, V]) complete(err error) {
	if err != nil {
		f.waiters().err = err
	}
	if f.state.CompareAndSwap(futClaimed, futClaimed|futCompleted) {
		return // nobody waits
	}
	w := f.w.Load() // futWaited is set, so w is
	w.mu.Lock()
	f.state.Or(futCompleted)
	done, cbs := w.done, w.cbs
	w.cbs = nil
	w.running = len(cbs) > 0
	w.mu.Unlock()
	if done != nil {
		close(done)
	}
	if len(cbs) == 0 {
		return
	}
	res, _ := f.Result()
	for {
		for _, cb := range cbs {
			f.run(cb, res, err)
		}
		// Run what was added meanwhile, in order, before later ones run at
		// once on the goroutine adding them.
		w.mu.Lock()
		cbs = w.cbs
		w.cbs = nil
		if len(cbs) == 0 {
			w.running = false
			w.mu.Unlock()
			return
		}
		w.mu.Unlock()
	}
}

// written records where sarama wrote the record. Only the goroutine that
// completes f with success calls it, before f completes (completeQuietly
// calls it before it claims f).
func (f *Future[K, V]) written(msg *sarama.ProducerMessage) {
	f.wPartition, f.offset, f.timestamp = msg.Partition, msg.Offset, msg.Timestamp.UnixMilli()
	if f.owner != nil && f.owner.noAcks {
		f.offset = -1 // the broker does not answer with acks=0
	}
}

// adopt takes the record and placement of in, the inner future that sent
// f's record in a transaction of its own, before f completes.
func (f *Future[K, V]) adopt(in *Future[K, V]) {
	f.rec = in.rec
	f.keySize, f.valueSize = in.keySize, in.valueSize
	f.explicit, f.partition = in.explicit, in.partition
	f.wPartition, f.offset, f.timestamp = in.wPartition, in.offset, in.timestamp
}

// metadata is the metadata of the written record.
func (f *Future[K, V]) metadata() RecordMetadata {
	return RecordMetadata{
		Topic:               f.rec.Topic,
		Partition:           f.wPartition,
		Offset:              f.offset,
		Timestamp:           time.UnixMilli(f.timestamp),
		SerializedKeySize:   int(f.keySize),
		SerializedValueSize: int(f.valueSize),
	}
}

// Outcomes of completeQuietly.
const (
	quietDone      = iota // f is complete, or another goroutine claimed it
	quietCallbacks        // f has callbacks to run; nothing was done
)

// completeQuietly completes f as a success written as msg says, unless f has
// callbacks to run, which it leaves to the caller. It runs no user code. A
// future nobody waits on completes with one compare-and-swap.
func (f *Future[K, V]) completeQuietly(msg *sarama.ProducerMessage) int {
	s := f.state.Load()
	if s == 0 {
		// Only the goroutine that completes f with success writes where
		// the record was written, and only after f completes with success
		// does anyone read it: write first, then claim and complete at once.
		f.written(msg)
		if f.state.CompareAndSwap(0, futClaimed|futCompleted) {
			return quietDone
		}
		s = f.state.Load() // claimed or waited meanwhile
	}
	if s&futClaimed != 0 {
		return quietDone
	}
	// Someone waits: complete under the lock, if only a done channel waits.
	w := f.w.Load()
	w.mu.Lock()
	if len(w.cbs) > 0 {
		w.mu.Unlock()
		return quietCallbacks
	}
	if !f.claim() {
		w.mu.Unlock()
		return quietDone
	}
	f.written(msg)
	f.state.Or(futCompleted)
	done := w.done
	w.mu.Unlock()
	if done != nil {
		close(done)
	}
	return quietDone
}

func (f *Future[K, V]) run(cb callback[K, V], res SendResult[K, V], err error) {
	defer func() {
		if r := recover(); r != nil && f.owner != nil {
			f.owner.panicked("future callback", r)
		}
	}()
	switch {
	case cb.complete != nil:
		cb.complete(res, err)
	case cb.success != nil && err == nil:
		cb.success(res)
	case cb.failure != nil && err != nil:
		cb.failure(err)
	}
}
