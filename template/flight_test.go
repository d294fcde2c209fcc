package template

import (
	"context"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/require"
)

type testFlight = flight[string, string]

func newFlight(budget int64) *testFlight {
	fl := &testFlight{}
	fl.avail.Store(budget)
	return fl
}

// acquireAsync starts an acquire and returns the channel of its result.
func acquireAsync(ctx context.Context, fl *testFlight, f *inflight[string, string], need int32, maxBlock time.Duration, closing chan struct{}) <-chan error {
	ch := make(chan error, 1)
	go func() { ch <- fl.acquire(ctx, sized(f, need), 0, maxBlock, closing, zeroClock) }()
	return ch
}

func zeroClock() time.Duration { return 0 }

// sized sets r's size, the budget acquire takes for it, and returns r.
func sized(r *inflight[string, string], size int32) *inflight[string, string] {
	r.size = size
	return r
}

// record is an in-flight record with its future.
func record() *inflight[string, string] {
	return &inflight[string, string]{f: &Future[string, string]{}}
}

// waiting reports when n acquires are queued.
func waiting(fl *testFlight, n int) func() bool {
	return func() bool {
		fl.mu.Lock()
		defer fl.mu.Unlock()
		return len(fl.waiters) == n
	}
}

func TestFlightBudgetBlocksUntilReleased(t *testing.T) {
	fl := newFlight(100)
	a, b := record(), record()
	require.NoError(t, fl.acquire(context.Background(), sized(a, 60), 0, time.Minute, nil, zeroClock))

	got := acquireAsync(context.Background(), fl, b, 60, time.Minute, nil)
	require.Eventually(t, waiting(fl, 1), 10*time.Second, time.Millisecond)
	select {
	case err := <-got:
		t.Fatalf("acquired over budget: %v", err)
	default:
	}

	fl.release(a)
	require.NoError(t, <-got)
	require.Equal(t, []*Future[string, string]{b.f}, fl.snapshot())
	fl.release(b)
	require.Equal(t, int64(100), fl.avail.Load())
	require.Empty(t, fl.snapshot())
}

func TestFlightBudgetGivesUp(t *testing.T) {
	closing := make(chan struct{})
	tests := []struct {
		name  string
		ctx   func() context.Context
		block time.Duration
		close bool
		want  error
	}{
		{"max block", context.Background, time.Millisecond, false, ErrBufferFull},
		{"ctx", func() context.Context {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx
		}, time.Minute, false, context.Canceled},
		{"closing", context.Background, time.Minute, true, ErrClosed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fl := newFlight(10)
			var ch chan struct{}
			if tc.close {
				ch = closing
				close(closing)
			}
			err := fl.acquire(tc.ctx(), sized(record(), 11), 0, tc.block, ch, zeroClock)
			require.ErrorIs(t, err, tc.want)
			require.Empty(t, fl.waiters)
			require.Equal(t, int64(10), fl.avail.Load(), "nothing leaked")
		})
	}
}

// A waiter that gives up lets the ones behind it through.
func TestFlightGiveUpHandsOn(t *testing.T) {
	fl := newFlight(100)
	hold := record()
	require.NoError(t, fl.acquire(context.Background(), sized(hold, 50), 0, time.Minute, nil, zeroClock))

	ctx, cancel := context.WithCancel(context.Background())
	big := acquireAsync(ctx, fl, record(), 80, time.Minute, nil)
	require.Eventually(t, waiting(fl, 1), 10*time.Second, time.Millisecond)
	small := acquireAsync(context.Background(), fl, record(), 10, time.Minute, nil)
	require.Eventually(t, waiting(fl, 2), 10*time.Second, time.Millisecond)

	cancel() // the head gives up; the small one fits in what is left
	require.ErrorIs(t, <-big, context.Canceled)
	require.NoError(t, <-small)
	require.Equal(t, int64(40), fl.avail.Load())
}

func TestFlightExpiredAndDrainKeepBudget(t *testing.T) {
	fl := newFlight(100)
	fs := make([]*inflight[string, string], 3)
	for i := range fs {
		fs[i] = record()
		require.NoError(t, fl.acquire(context.Background(), sized(fs[i], 10), time.Duration(i)*time.Second, time.Minute, nil, zeroClock))
	}
	require.Equal(t, []*Future[string, string]{fs[0].f, fs[1].f}, fl.expired(1500*time.Millisecond))
	require.Equal(t, []*Future[string, string]{fs[2].f}, fl.snapshot())
	require.Equal(t, int64(70), fl.avail.Load(), "expired records still hold budget until sarama returns them")

	require.Equal(t, []*Future[string, string]{fs[2].f}, fl.drain())
	require.Empty(t, fl.snapshot())

	for _, f := range fs {
		fl.release(f)
	}
	require.Equal(t, int64(100), fl.avail.Load())
	fl.release(fs[0]) // twice is harmless
	require.Equal(t, int64(100), fl.avail.Load())
}

// While one Send waits for budget, later ones queue behind it even if they
// would fit: big records are not starved by small ones.
func TestFlightSendsQueueBehindWaiters(t *testing.T) {
	fl := newFlight(100)
	hold := record()
	require.NoError(t, fl.acquire(context.Background(), sized(hold, 60), 0, time.Minute, nil, zeroClock))

	big := acquireAsync(context.Background(), fl, record(), 80, time.Minute, nil)
	require.Eventually(t, waiting(fl, 1), 10*time.Second, time.Millisecond)
	small := acquireAsync(context.Background(), fl, record(), 10, time.Minute, nil)
	require.Eventually(t, waiting(fl, 2), 10*time.Second, time.Millisecond)

	fl.release(hold)
	require.NoError(t, <-big)
	require.NoError(t, <-small)
	require.Equal(t, int64(10), fl.avail.Load())
	require.Zero(t, fl.waiting.Load())
}

func TestFlightReleaseAll(t *testing.T) {
	fl := newFlight(100)
	rs := []*inflight[string, string]{record(), record(), record()}
	for _, r := range rs {
		require.NoError(t, fl.acquire(context.Background(), sized(r, 20), 0, time.Minute, nil, zeroClock))
	}
	fl.releaseAll(rs[:2])
	require.Equal(t, []*Future[string, string]{rs[2].f}, fl.snapshot())
	require.Equal(t, int64(80), fl.avail.Load())
	fl.releaseAll(rs) // releasing again is harmless
	require.Empty(t, fl.snapshot())
	require.Equal(t, int64(100), fl.avail.Load())
}

// Spares are reused in the order they were given back, and new records come
// from slabs, one after the other in memory: Sends walk memory in order.
func TestSparesAreReusedFirstInFirstOut(t *testing.T) {
	var s spares[string, string]
	a, b, c := s.get(), s.get(), s.get()
	require.Equal(t, unsafe.Pointer(&unsafe.Slice(a, 2)[1]), unsafe.Pointer(b), "new records are adjacent")
	s.put([]*inflight[string, string]{b, a})
	s.put([]*inflight[string, string]{c})
	require.Same(t, b, s.get())
	require.Same(t, a, s.get())
	require.Same(t, c, s.get())
	require.Zero(t, s.len())
}

func TestSparesAreZeroedAndBounded(t *testing.T) {
	var s spares[string, string]
	r := s.get()
	r.f, r.size, r.keyEnc.b = &Future[string, string]{}, 10, []byte("k")
	s.put([]*inflight[string, string]{r})
	require.Same(t, r, s.get(), "a spare is reused")
	require.Zero(t, *r, "a spare holds nothing of its last record")

	many := make([]*inflight[string, string], maxSpares+1)
	for i := range many {
		many[i] = s.get()
	}
	s.put(many[:maxSpares])
	s.put(many[maxSpares:])
	require.Equal(t, maxSpares, s.len(), "beyond maxSpares, records go to the garbage collector")
}
