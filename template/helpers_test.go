package template_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kspring/kspring/template"
)

// quick is a Config with short timeouts, so failures come fast in tests.
func quick() template.Config {
	return template.Config{RequestTimeoutMs: 2000, MaxBlockMs: 2000, DeliveryTimeoutMs: 10000}
}

// dial opens a template and closes it when the test ends.
func dial[K, V any](t *testing.T, addr string, cfg template.Config, opts ...template.Option) *template.Template[K, V] {
	t.Helper()
	tp, err := template.Dial[K, V]([]string{addr}, cfg, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { closeTemplate(t, tp) })
	return tp
}

func closeTemplate[K, V any](t *testing.T, tp *template.Template[K, V]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, tp.Close(ctx))
}

// get waits for f with a bound.
func get[K, V any](t *testing.T, f *template.Future[K, V]) (template.SendResult[K, V], error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := f.Get(ctx)
	require.NotErrorIs(t, err, context.DeadlineExceeded, "future did not complete")
	return r, err
}

// recorder is a ProducerListener that keeps what it hears.
type recorder[K, V any] struct {
	mu        sync.Mutex
	successes []template.RecordMetadata
	errors    []error
	records   []template.ProducerRecord[K, V]
}

func (r *recorder[K, V]) OnSuccess(rec template.ProducerRecord[K, V], md template.RecordMetadata) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.successes = append(r.successes, md)
	r.records = append(r.records, rec)
}

func (r *recorder[K, V]) OnError(rec template.ProducerRecord[K, V], err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors = append(r.errors, err)
	r.records = append(r.records, rec)
}

func (r *recorder[K, V]) counts() (successes, errs int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.successes), len(r.errors)
}

func (r *recorder[K, V]) errs() []error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]error(nil), r.errors...)
}

// failed registers OnFailure and OnSuccess on f and returns the error that
// reached OnFailure, failing the test if OnSuccess ran instead.
func failed[K, V any](t *testing.T, f *template.Future[K, V]) error {
	t.Helper()
	ch := make(chan error, 1)
	f.OnFailure(func(err error) { ch <- err }).
		OnSuccess(func(r template.SendResult[K, V]) { ch <- nil })
	select {
	case err := <-ch:
		require.Error(t, err, "the send succeeded")
		return err
	case <-time.After(30 * time.Second):
		t.Fatal("OnFailure never ran")
		return nil
	}
}
