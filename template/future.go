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
type Future[K, V any] struct {
	mu    sync.Mutex
	state atomic.Uint32 // futClaimed, futCompleted, futWaited

	// Set by Send before the hand-off.
	partition int32 // the explicit partition; backing store for rec.Partition
	keySize   int32 // serialized sizes, -1 for null
	valueSize int32

	// Where the record was written; set by the goroutine that claimed f.
	wPartition int32
	explicit   bool // set by Send: rec.Partition was given
	offset     int64
	timestamp  int64 // Unix milliseconds, as Kafka keeps it

	w     *waiters[K, V] // guarded by mu; set once someone waits
	rec   ProducerRecord[K, V]
	err   error
	owner *Template[K, V]
	key   K // backing store for rec.Key of SendKey and friends
}

// Bits of Future.state.
const (
	futClaimed   = 1 << iota // one goroutine completes f; see Template.finish
	futCompleted             // the outcome is set and never changes again
	futWaited                // f has a done channel or callbacks (f.w)
)

// waiters are what completion must wake or run. Most futures never get one:
// a future nobody waits on completes with two atomic operations.
type waiters[K, V any] struct {
	done    chan struct{}
	cbs     []callback[K, V]
	running bool // completion is running callbacks
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
	f.mu.Lock()
	if w := f.wait(); w != nil {
		w.cbs = append(w.cbs, cb)
		f.mu.Unlock()
		return f
	}
	f.mu.Unlock()
	res, err := f.Result()
	f.run(cb, res, err)
	return f
}

// wait returns f's waiters, creating them, if f has not completed or is
// running callbacks; nil if f has completed, when the caller acts at once.
// Caller holds mu.
func (f *Future[K, V]) wait() *waiters[K, V] {
	for {
		s := f.state.Load()
		if s&futCompleted != 0 {
			if f.w != nil && f.w.running {
				return f.w
			}
			return nil
		}
		// futWaited goes on only while f has not completed: a completion
		// without the lock (completeQuietly) either sees it or wins first.
		if s&futWaited != 0 || f.state.CompareAndSwap(s, s|futWaited) {
			if f.w == nil {
				f.w = &waiters[K, V]{}
			}
			return f.w
		}
	}
}

// Done returns a channel that is closed when the future completes.
func (f *Future[K, V]) Done() <-chan struct{} {
	if f.state.Load()&futCompleted != 0 {
		return closedChan
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	w := f.wait()
	if w == nil || f.state.Load()&futCompleted != 0 {
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
	if f.err != nil {
		return SendResult[K, V]{}, f.err
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
	f.mu.Lock()
	f.err = err
	f.state.Or(futCompleted)
	w := f.w
	if w == nil {
		f.mu.Unlock()
		return
	}
	done, cbs := w.done, w.cbs
	w.cbs = nil
	w.running = len(cbs) > 0
	f.mu.Unlock()
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
		f.mu.Lock()
		cbs = w.cbs
		w.cbs = nil
		if len(cbs) == 0 {
			w.running = false
			f.mu.Unlock()
			return
		}
		f.mu.Unlock()
	}
}

// written records where sarama wrote the record. Only the goroutine that
// claimed f calls it, before complete.
func (f *Future[K, V]) written(msg *sarama.ProducerMessage) {
	f.wPartition, f.offset, f.timestamp = msg.Partition, msg.Offset, msg.Timestamp.UnixMilli()
	if f.owner != nil && f.owner.noAcks {
		f.offset = -1 // the broker does not answer with acks=0
	}
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
	quietClaimed          // the caller claimed f and wrote msg, but callbacks came: it must finish f
)

// completeQuietly completes f as a success written as msg says, unless f has
// callbacks to run, which it leaves to the caller. It runs no user code. A
// future nobody waits on completes without taking the lock.
func (f *Future[K, V]) completeQuietly(msg *sarama.ProducerMessage) int {
	s := f.state.Load()
	if s&futClaimed != 0 {
		return quietDone
	}
	if s == 0 {
		if !f.state.CompareAndSwap(0, futClaimed) {
			return f.completeQuietly(msg) // claimed or waited meanwhile
		}
		f.written(msg)
		if f.state.CompareAndSwap(futClaimed, futClaimed|futCompleted) {
			return quietDone
		}
		// Someone started waiting after the claim.
		f.mu.Lock()
		if len(f.w.cbs) > 0 {
			f.mu.Unlock()
			return quietClaimed
		}
		f.state.Or(futCompleted)
		done := f.w.done
		f.mu.Unlock()
		if done != nil {
			close(done)
		}
		return quietDone
	}
	// Someone waits: complete under the lock, if only a done channel waits.
	f.mu.Lock()
	if f.w != nil && len(f.w.cbs) > 0 {
		f.mu.Unlock()
		return quietCallbacks
	}
	if !f.claim() {
		f.mu.Unlock()
		return quietDone
	}
	f.written(msg)
	f.state.Or(futCompleted)
	var done chan struct{}
	if f.w != nil {
		done = f.w.done
	}
	f.mu.Unlock()
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
