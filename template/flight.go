package template

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"
)

// inflight is a record between Send and the producer handing it back: the
// sarama message and the bookkeeping of a record in flight. Templates recycle
// them (see spares), so a send allocates little more than its Future. What
// sarama's goroutines read (the message and its placement) is here, not in the
// Future, so they do not pull the Future's cache lines.
type inflight[K, V any] struct {
	msg      sarama.ProducerMessage
	keyEnc   rawEncoder
	valueEnc rawEncoder
	f        *Future[K, V]
	headers  [2]sarama.RecordHeader // msg.Headers' backing array for up to two (a traced send's)
	linkedAt int64                  // monotonic nanoseconds since the template's epoch; set by push
	size     int32                  // msg.ByteSize(2): the buffer-memory it holds while holding

	// Placement, for NewPartitioner.
	partition int32
	explicit  bool
	custom    bool // the template has a Partitioner (WithPartitioner)

	holding bool // holds size bytes of buffer-memory; see flight

	// Guarded by flight.mu.
	linked     bool
	prev, next *inflight[K, V]
}

// route tells NewPartitioner where the record goes.
func (r *inflight[K, V]) route() (int32, bool, Partitioner, []byte) {
	var custom Partitioner
	if r.custom {
		custom = r.f.owner.partitioner
	}
	return r.partition, r.explicit, custom, r.keyEnc.b
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
// A record holds budget from Send until it is released after sarama hands it
// back, even if its future completed earlier (delivery timeout, Close), so the
// budget bounds what sarama holds. (The records the drainer completed are
// released in batches: at once when a Send waits for budget, else within
// drainBatch records or a tick of the completer; see held.) A record leaves
// the list when it is released or its future fails early. Methods that hand
// out futures read them under the lock: a record may be recycled as soon as
// it is released.
//
// A Send writes only the first of the cache lines below: it takes budget
// with a compare-and-swap while nobody waits for budget, and appends its
// record to incoming. The drainer and the completer, which release records
// in batches, and Flush move incoming records into the list under mu. So the
// cache lines a Send writes are written by the others once a batch, not once
// a record.
type flight[K, V any] struct {
	// Written by Sends for every record.
	avail    atomic.Int64      // budget not held
	inMu     sync.Mutex        // guards incoming; taken after mu, if both
	incoming []*inflight[K, V] // linked since the last absorb, oldest first
	_        [64]byte

	// Read by Sends and the drainer for every record, written rarely.
	waiting atomic.Int32  // len(waiters): while not 0, Sends queue
	short   chan struct{} // if not nil, poked (capacity 1) when a Send starts to wait for budget
	_       [64]byte

	mu         sync.Mutex
	waiters    []*waiter
	head, tail *inflight[K, V]
	absorbed   []*inflight[K, V] // the last incoming, kept for reuse
}

type waiter struct {
	need    int64
	ready   chan struct{}
	granted bool
}

// acquire takes r.size bytes of budget for r and links it, waiting while the
// budget is short until maxBlock passes (ErrBufferFull), ctx ends or closing
// is closed (ErrClosed). Sends that find others waiting queue behind them.
func (fl *flight[K, V]) acquire(ctx context.Context, r *inflight[K, V], now time.Duration,
	maxBlock time.Duration, closing <-chan struct{}, clock func() time.Duration) error {
	need := r.size
	if fl.waiting.Load() == 0 && fl.take(int64(need)) {
		r.holding = true
		fl.push(r, now)
		return nil
	}
	w := &waiter{need: int64(need), ready: make(chan struct{})}
	fl.mu.Lock()
	fl.waiters = append(fl.waiters, w)
	fl.waiting.Add(1)
	fl.grant() // budget may have come back since take failed
	fl.mu.Unlock()
	if fl.short != nil {
		select {
		case fl.short <- struct{}{}:
		default:
		}
	}

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
			r.holding = true
			fl.push(r, clock())
			return nil
		}
		fl.avail.Add(int64(need)) // granted as we gave up: hand it on
	} else {
		for i, o := range fl.waiters {
			if o == w {
				fl.waiters = append(fl.waiters[:i], fl.waiters[i+1:]...)
				fl.waiting.Add(-1)
				break
			}
		}
	}
	fl.grant()
	return err
}

// take takes n bytes of budget if that many are available.
func (fl *flight[K, V]) take(n int64) bool {
	for {
		a := fl.avail.Load()
		if a < n {
			return false
		}
		if fl.avail.CompareAndSwap(a, a-n) {
			return true
		}
	}
}

// grant hands budget to waiters in order while it lasts. Caller holds mu.
func (fl *flight[K, V]) grant() {
	for len(fl.waiters) > 0 {
		w := fl.waiters[0]
		if !fl.take(w.need) {
			return
		}
		w.granted = true
		close(w.ready)
		fl.waiters[0] = nil
		fl.waiters = fl.waiters[1:]
		fl.waiting.Add(-1)
	}
}

// giveBack returns n bytes of budget and wakes waiters it satisfies. Caller
// holds mu.
func (fl *flight[K, V]) giveBack(n int64) {
	if n == 0 {
		return
	}
	fl.avail.Add(n)
	// A waiter adds itself before it looks at avail, and we look for
	// waiters after adding: one of us sees the other.
	if fl.waiting.Load() > 0 {
		fl.grant()
	}
}

// release returns r's budget and unlinks it: sarama handed it back, or it
// never reached sarama.
func (fl *flight[K, V]) release(r *inflight[K, V]) {
	fl.mu.Lock()
	fl.absorb()
	fl.unlink(r)
	if r.holding {
		r.holding = false
		fl.giveBack(int64(r.size))
	}
	fl.mu.Unlock()
}

// releaseAll releases rs under one lock.
func (fl *flight[K, V]) releaseAll(rs []*inflight[K, V]) {
	if len(rs) == 0 {
		return
	}
	fl.mu.Lock()
	fl.absorb()
	var held int64
	for _, r := range rs {
		fl.unlink(r)
		if r.holding {
			r.holding = false
			held += int64(r.size)
		}
	}
	fl.giveBack(held)
	fl.mu.Unlock()
}

// expired unlinks the records linked before cutoff and returns their
// futures. The records keep their budget until sarama hands them back.
func (fl *flight[K, V]) expired(cutoff time.Duration) []*Future[K, V] {
	fl.mu.Lock()
	defer fl.mu.Unlock()
	fl.absorb()
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
	fl.absorb()
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
	fl.absorb()
	var out []*Future[K, V]
	for r := fl.head; r != nil; r = r.next {
		out = append(out, r.f)
	}
	return out
}

// push adds r, linked at now, to incoming.
func (fl *flight[K, V]) push(r *inflight[K, V], now time.Duration) {
	r.linkedAt = int64(now)
	fl.inMu.Lock()
	fl.incoming = append(fl.incoming, r)
	fl.inMu.Unlock()
}

// absorb moves the incoming records to the list's tail. Caller holds mu.
func (fl *flight[K, V]) absorb() {
	fl.inMu.Lock()
	in := fl.incoming
	fl.incoming = fl.absorbed[:0]
	fl.inMu.Unlock()
	for _, r := range in {
		fl.link(r)
	}
	clear(in)
	fl.absorbed = in
}

func (fl *flight[K, V]) link(r *inflight[K, V]) {
	r.linked = true
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

// spares are in-flight records to reuse. The records sarama handed back are
// given back a batch at a time; Sends take one each. (A sync.Pool
// would cost a Send a steal from the drainer's P for nearly every record.)
// At most maxSpares are kept; the garbage collector takes the rest.
//
// New records are allocated in slabs of slabSize, and spares are reused
// first in, first out. Records come back in about the order they were sent,
// so Sends walk through memory in address order rather than jumping about:
// BenchmarkSend measured this at about 5% less time per record than reusing
// the last one given back, which is what the hardware prefetcher makes of it.
// A slab is freed once none of its records is in use or kept.
type spares[K, V any] struct {
	mu   sync.Mutex
	out  []*inflight[K, V] // taken from out[next:]
	next int
	in   []*inflight[K, V] // given back since out was filled
	slab []inflight[K, V]  // not yet handed out
}

const (
	maxSpares = 4096
	slabSize  = 64
)

// get returns a zeroed record, the one given back longest ago if any.
func (s *spares[K, V]) get() *inflight[K, V] {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.next == len(s.out) && len(s.in) > 0 {
		clear(s.out)
		s.out, s.in, s.next = s.in, s.out[:0], 0
	}
	if s.next < len(s.out) {
		r := s.out[s.next]
		s.out[s.next] = nil
		s.next++
		return r
	}
	if len(s.slab) == 0 {
		s.slab = make([]inflight[K, V], slabSize)
	}
	r := &s.slab[0]
	s.slab = s.slab[1:]
	return r
}

// put zeroes rs and keeps them for reuse.
func (s *spares[K, V]) put(rs []*inflight[K, V]) {
	for _, r := range rs {
		*r = inflight[K, V]{} // drop references to user data
	}
	s.mu.Lock()
	n := min(len(rs), maxSpares-s.len())
	s.in = append(s.in, rs[:max(n, 0)]...)
	s.mu.Unlock()
}

// len is how many spares are kept. Caller holds mu.
func (s *spares[K, V]) len() int { return len(s.out) - s.next + len(s.in) }
