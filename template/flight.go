package template

import (
	"context"
	"sync"
	"time"

	"github.com/IBM/sarama"
)

// sendState is the template's part of a Future: the sarama message (embedded
// so that a send costs one allocation) and the bookkeeping of a record in
// flight. It is laid out to keep a Future under 512 bytes, the size up to
// which Go allocates without a per-object header.
type sendState[K, V any] struct {
	msg       sarama.ProducerMessage
	keyEnc    rawEncoder
	valueEnc  rawEncoder
	key       K     // backing store for Record.Key of SendKey and friends
	partition int32 // backing store for Record.Partition
	explicit  bool  // the record names its partition
	keySize   int32 // serialized sizes, -1 for null
	valueSize int32

	// Guarded by flight.mu.
	linked     bool
	held       int32 // bytes of buffer-memory this record holds
	linkedAt   int64 // monotonic nanoseconds since the template's epoch
	prev, next *Future[K, V]
}

// route tells NewPartitioner where the record goes.
func (f *Future[K, V]) route() (int32, bool, Partitioner, []byte) {
	var custom Partitioner
	if f.owner != nil {
		custom = f.owner.partitioner
	}
	return f.send.partition, f.send.explicit, custom, f.send.keyEnc.b
}

// metadata is the metadata of a record sarama wrote.
func (f *Future[K, V]) metadata() RecordMetadata {
	m := &f.send.msg
	md := RecordMetadata{
		Topic:               m.Topic,
		Partition:           m.Partition,
		Offset:              m.Offset,
		Timestamp:           m.Timestamp,
		SerializedKeySize:   int(f.send.keySize),
		SerializedValueSize: int(f.send.valueSize),
	}
	if f.owner != nil && f.owner.noAcks {
		md.Offset = -1 // the broker does not answer with acks=0
	}
	return md
}

// rawEncoder is a sarama.Encoder over bytes the template already holds.
type rawEncoder struct{ b []byte }

func (e *rawEncoder) Encode() ([]byte, error) { return e.b, nil }
func (e *rawEncoder) Length() int             { return len(e.b) }

// flight tracks the records between Send and completion: a byte budget
// (buffer-memory) that Send waits on, and a list, oldest first, of futures not
// yet completed, for Flush, Close and the delivery-timeout sweep.
//
// A record holds budget from Send until sarama hands it back, even if its
// future completed earlier (delivery timeout, Close), so the budget bounds what
// sarama holds. A record stays in the list until its future is claimed.
type flight[K, V any] struct {
	mu         sync.Mutex
	avail      int64
	waiters    []*waiter
	head, tail *Future[K, V]
}

type waiter struct {
	need    int64
	ready   chan struct{}
	granted bool
}

// acquire takes need bytes of budget for f and links it, waiting while the
// budget is short until maxBlock passes (ErrBufferFull), ctx ends or closing
// is closed (ErrClosed).
func (fl *flight[K, V]) acquire(ctx context.Context, f *Future[K, V], need int32, now time.Duration,
	maxBlock time.Duration, closing <-chan struct{}, clock func() time.Duration) error {
	fl.mu.Lock()
	if len(fl.waiters) == 0 && fl.avail >= int64(need) {
		fl.avail -= int64(need)
		f.send.held = need
		fl.link(f, now)
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
			f.send.held = need
			fl.link(f, clock())
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

// release returns f's budget and unlinks it: sarama handed it back, or it
// never reached sarama.
func (fl *flight[K, V]) release(f *Future[K, V]) {
	fl.mu.Lock()
	if f.send.held > 0 {
		fl.avail += int64(f.send.held)
		f.send.held = 0
		fl.grant()
	}
	fl.unlink(f)
	fl.mu.Unlock()
}

// expired unlinks and returns the futures linked before cutoff. They keep
// their budget until sarama hands them back.
func (fl *flight[K, V]) expired(cutoff time.Duration) []*Future[K, V] {
	fl.mu.Lock()
	defer fl.mu.Unlock()
	var out []*Future[K, V]
	for f := fl.head; f != nil && f.send.linkedAt < int64(cutoff); f = fl.head {
		fl.unlink(f)
		out = append(out, f)
	}
	return out
}

// drain unlinks and returns every linked future.
func (fl *flight[K, V]) drain() []*Future[K, V] {
	fl.mu.Lock()
	defer fl.mu.Unlock()
	var out []*Future[K, V]
	for f := fl.head; f != nil; f = fl.head {
		fl.unlink(f)
		out = append(out, f)
	}
	return out
}

// snapshot returns the linked futures without unlinking them.
func (fl *flight[K, V]) snapshot() []*Future[K, V] {
	fl.mu.Lock()
	defer fl.mu.Unlock()
	var out []*Future[K, V]
	for f := fl.head; f != nil; f = f.send.next {
		out = append(out, f)
	}
	return out
}

func (fl *flight[K, V]) link(f *Future[K, V], now time.Duration) {
	f.send.linked, f.send.linkedAt = true, int64(now)
	f.send.prev, f.send.next = fl.tail, nil
	if fl.tail != nil {
		fl.tail.send.next = f
	} else {
		fl.head = f
	}
	fl.tail = f
}

func (fl *flight[K, V]) unlink(f *Future[K, V]) {
	if !f.send.linked {
		return
	}
	if f.send.prev != nil {
		f.send.prev.send.next = f.send.next
	} else {
		fl.head = f.send.next
	}
	if f.send.next != nil {
		f.send.next.send.prev = f.send.prev
	} else {
		fl.tail = f.send.prev
	}
	f.send.linked, f.send.prev, f.send.next = false, nil, nil
}
