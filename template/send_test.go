package template

import (
	"context"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/stretchr/testify/require"
)

// A Send the producer takes nothing from gives up when max-block-ms passes,
// its context ends or the template closes, whichever comes first.
func TestHandOffWaitsForTheProducer(t *testing.T) {
	tests := []struct {
		name     string
		maxBlock time.Duration
		end      func(tp *Template[string, string], cancel context.CancelFunc)
		want     error
	}{
		{"max block", 20 * time.Millisecond, func(*Template[string, string], context.CancelFunc) {}, ErrBufferFull},
		{"context", time.Minute, func(_ *Template[string, string], cancel context.CancelFunc) { cancel() }, context.Canceled},
		{"close", time.Minute, func(tp *Template[string, string], _ context.CancelFunc) { tp.markClosed() }, ErrClosed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tp := &Template[string, string]{
				input:    make(chan *sarama.ProducerMessage), // a producer that takes nothing
				maxBlock: tc.maxBlock,
				closing:  make(chan struct{}),
				epoch:    time.Now(),
			}
			tp.fl.avail.Store(1000)
			tp.pulse.Store(&pulse{c: make(chan struct{})})
			stop := pulses(t, tp)
			defer stop()

			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			r := &inflight[string, string]{f: &Future[string, string]{}, size: 10}
			start := tp.clock()
			errc := make(chan error, 1)
			go func() { errc <- tp.handOff(ctx, r, start, nil) }()
			require.Eventually(t, func() bool { return tp.fl.avail.Load() == 990 }, 10*time.Second, time.Millisecond,
				"handOff took its budget and waits for the producer")
			tc.end(tp, cancel)
			select {
			case err := <-errc:
				require.ErrorIs(t, err, tc.want)
				if tc.want == ErrBufferFull {
					require.GreaterOrEqual(t, tp.clock()-start, tc.maxBlock)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("handOff did not give up")
			}
			require.Equal(t, int64(990), tp.fl.avail.Load(), "the budget stays taken until send releases it")
		})
	}
}

// pulses ticks tp's pulse as the completer does, until stop is called.
func pulses(t *testing.T, tp *Template[string, string]) (stop func()) {
	t.Helper()
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
				tp.tick()
			case <-done:
				return
			}
		}
	}()
	return func() { close(done); <-stopped }
}
