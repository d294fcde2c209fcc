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
	mu        sync.Mutex
	claimed   atomic.Bool // one goroutine completes it; see Template.finish
	completed atomic.Bool

	// Set by Send before the hand-off.
	partition int32 // the explicit partition; backing store for rec.Partition
	keySize   int32 // serialized sizes, -1 for null
	valueSize int32
	explicit  bool

	running bool // completion is running callbacks; guarded by mu

	// Where the record was written; set by the goroutine that claimed f.
	wPartition int32
	offset     int64
	timestamp  int64 // Unix milliseconds, as Kafka keeps it

	done  chan struct{}
	cbs   []callback[K, V]
	rec   ProducerRecord[K, V] // set by Send, read after completion
	err   error
	owner *Template[K, V]
	key   K // backing store for rec.Key of SendKey and friends
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
	if !f.completed.Load() || f.running {
		if f.cbs == nil {
			f.cbs = make([]callback[K, V], 0, 2) // OnSuccess and OnFailure, typically
		}
		f.cbs = append(f.cbs, cb)
		f.mu.Unlock()
		return f
	}
	f.mu.Unlock()
	res, err := f.Result()
	f.run(cb, res, err)
	return f
}

// Done returns a channel that is closed when the future completes.
func (f *Future[K, V]) Done() <-chan struct{} {
	if f.completed.Load() {
		return closedChan
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.completed.Load() {
		return closedChan
	}
	if f.done == nil {
		f.done = make(chan struct{})
	}
	return f.done
}

// Get waits for the outcome or for ctx to end. The error is a *SendError[K, V]
// if the send failed, or ctx's error if ctx ended first; the send itself goes
// on.
func (f *Future[K, V]) Get(ctx context.Context) (SendResult[K, V], error) {
	if !f.completed.Load() {
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
	if !f.completed.Load() {
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
func (f *Future[K, V]) claim() bool { return f.claimed.CompareAndSwap(false, true) }

// complete sets the outcome and runs the queued callbacks. Only the goroutine
// that claimed f calls it, once.
func (f *Future[K, V]) complete(err error) {
	f.mu.Lock()
	f.err = err
	f.completed.Store(true)
	done, cbs := f.done, f.cbs
	f.cbs = nil
	f.running = len(cbs) > 0
	f.mu.Unlock()
	if done != nil {
		close(done)
	}
	if len(cbs) == 0 {
		return // no callbacks: the common case
	}
	res, _ := f.Result()
	for {
		for _, cb := range cbs {
			f.run(cb, res, err)
		}
		// Run what was added meanwhile, in order, before later ones run at
		// once on the goroutine adding them.
		f.mu.Lock()
		cbs = f.cbs
		f.cbs = nil
		if len(cbs) == 0 {
			f.running = false
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

// completeQuietly completes f as a success written as msg says, if it has no
// callbacks to run. It reports false, doing nothing, if f has callbacks or
// already completed; true if f is now complete or another goroutine has
// claimed it.
func (f *Future[K, V]) completeQuietly(msg *sarama.ProducerMessage) bool {
	f.mu.Lock()
	if len(f.cbs) > 0 || f.completed.Load() {
		f.mu.Unlock()
		return false
	}
	if !f.claim() {
		f.mu.Unlock()
		return true
	}
	f.written(msg)
	f.completed.Store(true)
	done := f.done
	f.mu.Unlock()
	if done != nil {
		close(done)
	}
	return true
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
