package template

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

type testFlight = flight[string, string]

func newFlight(budget int64) *testFlight { return &testFlight{avail: budget} }

// acquireAsync starts an acquire and returns the channel of its result.
func acquireAsync(ctx context.Context, fl *testFlight, f *inflight[string, string], need int32, maxBlock time.Duration, closing chan struct{}) <-chan error {
	ch := make(chan error, 1)
	go func() { ch <- fl.acquire(ctx, f, need, 0, maxBlock, closing, zeroClock) }()
	return ch
}

func zeroClock() time.Duration { return 0 }

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
	require.NoError(t, fl.acquire(context.Background(), a, 60, 0, time.Minute, nil, zeroClock))

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
	require.Equal(t, int64(100), fl.avail)
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
			err := fl.acquire(tc.ctx(), record(), 11, 0, tc.block, ch, zeroClock)
			require.ErrorIs(t, err, tc.want)
			require.Empty(t, fl.waiters)
			require.Equal(t, int64(10), fl.avail, "nothing leaked")
		})
	}
}

// A waiter that gives up lets the ones behind it through.
func TestFlightGiveUpHandsOn(t *testing.T) {
	fl := newFlight(100)
	hold := record()
	require.NoError(t, fl.acquire(context.Background(), hold, 50, 0, time.Minute, nil, zeroClock))

	ctx, cancel := context.WithCancel(context.Background())
	big := acquireAsync(ctx, fl, record(), 80, time.Minute, nil)
	require.Eventually(t, waiting(fl, 1), 10*time.Second, time.Millisecond)
	small := acquireAsync(context.Background(), fl, record(), 10, time.Minute, nil)
	require.Eventually(t, waiting(fl, 2), 10*time.Second, time.Millisecond)

	cancel() // the head gives up; the small one fits in what is left
	require.ErrorIs(t, <-big, context.Canceled)
	require.NoError(t, <-small)
	require.Equal(t, int64(40), fl.avail)
}

func TestFlightExpiredAndDrainKeepBudget(t *testing.T) {
	fl := newFlight(100)
	fs := make([]*inflight[string, string], 3)
	for i := range fs {
		fs[i] = record()
		require.NoError(t, fl.acquire(context.Background(), fs[i], 10, time.Duration(i)*time.Second, time.Minute, nil, zeroClock))
	}
	require.Equal(t, []*Future[string, string]{fs[0].f, fs[1].f}, fl.expired(1500*time.Millisecond))
	require.Equal(t, []*Future[string, string]{fs[2].f}, fl.snapshot())
	require.Equal(t, int64(70), fl.avail, "expired records still hold budget until sarama returns them")

	require.Equal(t, []*Future[string, string]{fs[2].f}, fl.drain())
	require.Empty(t, fl.snapshot())

	for _, f := range fs {
		fl.release(f)
	}
	require.Equal(t, int64(100), fl.avail)
	fl.release(fs[0]) // twice is harmless
	require.Equal(t, int64(100), fl.avail)
}
