package template

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/IBM/sarama"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

func completeOK(f *Future[string, string], offset int64) {
	if f.claim() {
		f.rec.Topic = "t"
		f.written(&sarama.ProducerMessage{Topic: "t", Offset: offset})
		f.complete(nil)
	}
}

func TestFutureCallbacksRunInRegistrationOrder(t *testing.T) {
	f := &Future[string, string]{}
	var got []string
	f.OnSuccess(func(SendResult[string, string]) { got = append(got, "success1") }).
		OnFailure(func(error) { got = append(got, "failure") }).
		OnComplete(func(_ SendResult[string, string], err error) { got = append(got, "complete") }).
		OnSuccess(func(r SendResult[string, string]) { got = append(got, "success2") })

	completeOK(f, 7)
	require.Equal(t, []string{"success1", "complete", "success2"}, got)

	// Added after completion: runs at once, on this goroutine.
	f.OnSuccess(func(r SendResult[string, string]) {
		require.Equal(t, int64(7), r.Metadata.Offset)
		got = append(got, "late")
	})
	require.Equal(t, []string{"success1", "complete", "success2", "late"}, got)
}

func TestFutureFailureCallbacks(t *testing.T) {
	f := &Future[string, string]{}
	boom := errors.New("boom")
	var failures, completes, successes int
	f.OnFailure(func(err error) { require.ErrorIs(t, err, boom); failures++ })
	f.OnComplete(func(r SendResult[string, string], err error) {
		require.Error(t, err)
		require.Zero(t, r)
		completes++
	})
	f.OnSuccess(func(SendResult[string, string]) { successes++ })
	f.rec.Topic = "t"
	require.True(t, f.claim())
	f.complete(boom)

	require.Equal(t, 1, failures)
	require.Equal(t, 1, completes)
	require.Zero(t, successes)
	res, err := f.Get(context.Background())
	require.ErrorIs(t, err, boom)
	require.Zero(t, res)
}

func TestFutureCompletesOnce(t *testing.T) {
	f := &Future[string, string]{}
	calls := 0
	f.OnComplete(func(SendResult[string, string], error) { calls++ })
	completeOK(f, 1)
	completeOK(f, 2)
	require.Equal(t, 1, calls)
	r, err := f.Result()
	require.NoError(t, err)
	require.Equal(t, int64(1), r.Metadata.Offset)
}

func TestFutureGetAndDone(t *testing.T) {
	f := &Future[string, string]{}
	select {
	case <-f.Done():
		t.Fatal("done before completion")
	default:
	}
	r, err := f.Result()
	require.NoError(t, err)
	require.Zero(t, r)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = f.Get(ctx)
	require.ErrorIs(t, err, context.Canceled)

	done := f.Done()
	go completeOK(f, 3)
	<-done
	r, err = f.Get(context.Background())
	require.NoError(t, err)
	require.Equal(t, int64(3), r.Metadata.Offset)
	select {
	case <-f.Done():
	default:
		t.Fatal("Done not closed after completion")
	}
}

// Callbacks added from another goroutine while completion runs are neither
// lost nor run twice, and one goroutine's callbacks keep their order.
func TestFutureConcurrentRegistration(t *testing.T) {
	for range 200 {
		f := &Future[string, string]{}
		var mu sync.Mutex
		var order []int
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				f.OnSuccess(func(SendResult[string, string]) {
					mu.Lock()
					order = append(order, i)
					mu.Unlock()
				})
			}
		}()
		completeOK(f, 1)
		wg.Wait()
		<-f.Done()
		mu.Lock()
		require.Len(t, order, 20)
		for i, v := range order {
			require.Equal(t, i, v)
		}
		mu.Unlock()
	}
}

func TestFutureRecoversCallbackPanic(t *testing.T) {
	core, logs := observer.New(zap.ErrorLevel)
	f := &Future[string, string]{owner: &Template[string, string]{log: zap.New(core)}}
	after := false
	f.OnSuccess(func(SendResult[string, string]) { panic("bad callback") })
	f.OnSuccess(func(SendResult[string, string]) { after = true })
	completeOK(f, 1)
	require.True(t, after, "a panicking callback does not stop the next")
	require.Equal(t, 1, logs.Len())
	entry := logs.All()[0]
	require.Equal(t, "kafka template: recovered panic", entry.Message)
	require.Equal(t, "bad callback", entry.ContextMap()["panic"])
	require.Equal(t, "future callback", entry.ContextMap()["in"])
}

func TestFutureGetWaitsForCompletion(t *testing.T) {
	f := &Future[string, string]{}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	go completeOK(f, 9)
	r, err := f.Get(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(9), r.Metadata.Offset)
}

func TestFutureCompletesQuietly(t *testing.T) {
	written := &sarama.ProducerMessage{Topic: "t", Partition: 2, Offset: 5}
	tests := []struct {
		name      string
		setup     func(f *Future[string, string]) (ran *int)
		want      int
		completed bool
	}{
		{"nobody waits", func(*Future[string, string]) *int { return new(int) }, quietDone, true},
		{"a done channel waits", func(f *Future[string, string]) *int { f.Done(); return new(int) }, quietDone, true},
		{"a callback waits", func(f *Future[string, string]) *int {
			ran := new(int)
			f.OnSuccess(func(SendResult[string, string]) { *ran++ })
			return ran
		}, quietCallbacks, false},
		{"another goroutine claimed it", func(f *Future[string, string]) *int {
			require.True(t, f.claim())
			return new(int)
		}, quietDone, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &Future[string, string]{}
			f.rec.Topic = "t"
			ran := tc.setup(f)
			require.Equal(t, tc.want, f.completeQuietly(written))
			require.Zero(t, *ran, "completeQuietly runs no callback")
			if !tc.completed {
				select {
				case <-f.Done():
					t.Fatal("completed")
				default:
				}
				return
			}
			<-f.Done()
			r, err := f.Result()
			require.NoError(t, err)
			require.Equal(t, int32(2), r.Metadata.Partition)
			require.Equal(t, int64(5), r.Metadata.Offset)
		})
	}
}

// A callback added while completeQuietly runs without the lock is run once,
// by whoever the outcome tells to: never lost, never by completeQuietly.
func TestFutureQuietCompletionRacesRegistration(t *testing.T) {
	msg := &sarama.ProducerMessage{Topic: "t", Offset: 1}
	for range 2000 {
		f := &Future[string, string]{}
		var calls atomic.Int64
		added := make(chan struct{})
		go func() {
			defer close(added)
			f.OnSuccess(func(SendResult[string, string]) { calls.Add(1) })
		}()
		if f.completeQuietly(msg) == quietCallbacks { // not claimed: the completer claims it
			require.True(t, f.claim())
			f.written(msg)
			f.complete(nil)
		}
		<-added
		<-f.Done()
		require.Equal(t, int64(1), calls.Load())
	}
}

// Every send allocates a Future, so its size shows in every benchmark: keep
// it to three cache lines for []byte and string keys and values. Fields
// needed only by futures someone waits on, or by failed sends, go in waiters.
func TestFutureFitsThreeCacheLines(t *testing.T) {
	require.LessOrEqual(t, unsafe.Sizeof(Future[[]byte, []byte]{}), uintptr(192))
	require.LessOrEqual(t, unsafe.Sizeof(Future[string, string]{}), uintptr(192))
}

func TestFailedFutureKeepsItsError(t *testing.T) {
	f := &Future[string, string]{}
	boom := errors.New("boom")
	require.True(t, f.claim())
	f.complete(boom)
	_, err := f.Result()
	require.ErrorIs(t, err, boom)
	select {
	case <-f.Done():
	default:
		t.Fatal("a completed future's Done is closed")
	}
	var got error
	f.OnFailure(func(err error) { got = err }) // runs at once
	require.ErrorIs(t, got, boom)
}
