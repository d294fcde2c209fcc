package template

import (
	"context"
	"sync"
	"time"

	"github.com/IBM/sarama"
)

// inflight is a record between Send and the producer handing it back: the
// sarama message and the bookkeeping of a record in flight. It comes from the
// template's pool and goes back once sarama is done with it, so a send
// allocates little more than its Future.
type inflight[K, V any] struct {
	msg      sarama.ProducerMessage
	keyEnc   rawEncoder
	valueEnc rawEncoder
	f        *Future[K, V]

	// Guarded by flight.mu.
	linked     bool
	held       int32 // bytes of buffer-memory this record holds
	linkedAt   int64 // monotonic nanoseconds since the template's epoch
	prev, next *inflight[K, V]
}

// route tells NewPartitioner where the record goes.
func (r *inflight[K, V]) route() (int32, bool, Partitioner, []byte) {
	f := r.f
	var custom Partitioner
	if f.owner != nil {
		custom = f.owner.partitioner
	}
	return f.partition, f.explicit, custom, r.keyEnc.b
}

// rawEncoder is a sarama.Encoder over bytes the template already holds.
type rawEncoder struct{ b []byte }

func (e *rawEncoder) Encode() ([]byte, error) { return e.b, nil }
func (e *rawEncoder) Length() int             { return len(e.b) }

// flight tracks the records between Send and completion: a byte budget
// (buffer-memory) that Send waits on, and a list, oldest first, of records
// whose futures have not completed, for Flush, Close and the delivery-timeout
// sweep.
//
// A record holds budget from Send until sarama hands it back, even if its
// future completed earlier (delivery timeout, Close), so the budget bounds what
// sarama holds. A record leaves the list when sarama hands it back or its
// future fails early. Methods that hand out futures read them under the lock:
// a record may be recycled as soon as it is released.
type flight[K, V any] struct {
	mu         sync.Mutex
	avail      int64
	waiters    []*waiter
	head, tail *inflight[K, V]
}

type waiter struct {
	need    int64
	ready   chan struct{}
	granted bool
}

// acquire takes need bytes of budget for r and links it, waiting while the
// budget is short until maxBlock passes (ErrBufferFull), ctx ends or closing
// is closed (ErrClosed).
func (fl *flight[K, V]) acquire(ctx context.Context, r *inflight[K, V], need int32, now time.Duration,
	maxBlock time.Duration, closing <-chan struct{}, clock func() time.Duration) error {
	fl.mu.Lock()
	if len(fl.waiters) == 0 && fl.avail >= int64(need) {
		fl.avail -= int64(need)
		r.held = need
		fl.link(r, now)
		fl.mu.Unlock()
		return nil
	}
	w := &waiter{need: int64(need), ready: make(chan struct{})}
	fl.waiters = append(fl.waiters, w)
	fl.mu.Unlock()

	timer := time.NewTimer(maxBlock)
	defer timer.Stop()
	var err error
	select {
	case <-w.ready:
	case <-ctx.Done():
		err = ctx.Err()
	case <-closing:
		err = ErrClosed
	case <-timer.C:
		err = ErrBufferFull
	}

	fl.mu.Lock()
	defer fl.mu.Unlock()
	if w.granted {
		if err == nil {
			r.held = need
			fl.link(r, clock())
			return nil
		}
		fl.avail += int64(need) // granted as we gave up: hand it on
	} else {
		for i, o := range fl.waiters {
			if o == w {
				fl.waiters = append(fl.waiters[:i], fl.waiters[i+1:]...)
				break
			}
		}
	}
	fl.grant()
	return err
}

// grant hands budget to waiters in order while it lasts. Caller holds mu.
func (fl *flight[K, V]) grant() {
	for len(fl.waiters) > 0 {
		w := fl.waiters[0]
		if fl.avail < w.need {
			return
		}
		fl.avail -= w.need
		w.granted = true
		close(w.ready)
		fl.waiters[0] = nil
		fl.waiters = fl.waiters[1:]
	}
}

// release returns r's budget and unlinks it: sarama handed it back, or it
// never reached sarama.
func (fl *flight[K, V]) release(r *inflight[K, V]) {
	fl.mu.Lock()
	if r.held > 0 {
		fl.avail += int64(r.held)
		r.held = 0
		fl.grant()
	}
	fl.unlink(r)
	fl.mu.Unlock()
}

// expired unlinks the records linked before cutoff and returns their
// futures. The records keep their budget until sarama hands them back.
func (fl *flight[K, V]) expired(cutoff time.Duration) []*Future[K, V] {
	fl.mu.Lock()
	defer fl.mu.Unlock()
	var out []*Future[K, V]
	for r := fl.head; r != nil && r.linkedAt < int64(cutoff); r = fl.head {
		fl.unlink(r)
		out = append(out, r.f)
	}
	return out
}

// drain unlinks every record and returns their futures.
func (fl *flight[K, V]) drain() []*Future[K, V] {
	fl.mu.Lock()
	defer fl.mu.Unlock()
	var out []*Future[K, V]
	for r := fl.head; r != nil; r = fl.head {
		fl.unlink(r)
		out = append(out, r.f)
	}
	return out
}

// snapshot returns the futures of the linked records.
func (fl *flight[K, V]) snapshot() []*Future[K, V] {
	fl.mu.Lock()
	defer fl.mu.Unlock()
	var out []*Future[K, V]
	for r := fl.head; r != nil; r = r.next {
		out = append(out, r.f)
	}
	return out
}

func (fl *flight[K, V]) link(r *inflight[K, V], now time.Duration) {
	r.linked, r.linkedAt = true, int64(now)
	r.prev, r.next = fl.tail, nil
	if fl.tail != nil {
		fl.tail.next = r
	} else {
		fl.head = r
	}
	fl.tail = r
}

func (fl *flight[K, V]) unlink(r *inflight[K, V]) {
	if !r.linked {
		return
	}
	if r.prev != nil {
		r.prev.next = r.next
	} else {
		fl.head = r.next
	}
	if r.next != nil {
		r.next.prev = r.prev
	} else {
		fl.tail = r.prev
	}
	r.linked, r.prev, r.next = false, nil, nil
}
