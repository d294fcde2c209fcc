package template_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/kspring/kspring/serde"
	"github.com/kspring/kspring/template"
	"github.com/kspring/kspring/testkit"
)

// sends is a template.Observer that keeps what it is told.
type sends struct {
	mu  sync.Mutex
	got []string
	d   []time.Duration
}

func (s *sends) Sent(name, topic string, d time.Duration, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := "ok"
	if err != nil {
		e = "failed"
	}
	s.got = append(s.got, name+" "+topic+" "+e)
	s.d = append(s.d, d)
}

func (s *sends) all() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.got...)
}

// TestNoTraceHeadersByDefault: without a tracer provider, records carry no
// trace context.
func TestNoTraceHeadersByDefault(t *testing.T) {
	b := testkit.NewBroker(t, testkit.WithTopic("plain", 1, nil))
	topic := b.Topic("plain")
	tp := dial[string, string](t, b.Addr(), quick())
	_, err := get(t, tp.Send(context.Background(), topic, "v"))
	require.NoError(t, err)
	rec := testkit.SingleRecord(t, b.Addr(), topic)
	_, ok := rec.Header("traceparent")
	require.False(t, ok)
}

// TestObservedSends: each send is observed once, success or failure, under
// the template's name; a traced send writes one traceparent (replacing one
// the caller set, without touching the caller's headers), and a send that
// failed once serialized has a span with the error (one that failed before,
// a cancelled ctx, is counted but not traced).
func TestObservedSends(t *testing.T) {
	b := testkit.NewBroker(t, testkit.WithTopic("obs", 1, nil))
	topic := b.Topic("obs")
	exp := tracetest.NewInMemoryExporter()
	provider := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { _ = provider.Shutdown(context.Background()) })
	obs := &sends{}
	tp := dial[string, string](t, b.Addr(), quick(), template.WithObserver(obs), template.WithName("audit"),
		template.WithTracerProvider(provider))

	stale := serde.Headers{{Key: "traceparent", Value: []byte("00-00000000000000000000000000000001-0000000000000001-01")}}
	res, err := get(t, tp.SendRecord(context.Background(), template.ProducerRecord[string, string]{Topic: topic, Value: "ok", Headers: stale}))
	require.NoError(t, err)
	require.Equal(t, "00-00000000000000000000000000000001-0000000000000001-01", string(stale[0].Value), "the caller's headers stay")
	require.Len(t, res.Record.Headers.Values("traceparent"), 1)

	_, err = get(t, tp.Send(context.Background(), topic, strings.Repeat("x", 2<<20)))
	require.ErrorIs(t, err, template.ErrRecordTooLarge)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = get(t, tp.Send(cancelled, topic, "late"))
	require.ErrorIs(t, err, context.Canceled)

	require.Equal(t, []string{"audit " + topic + " ok", "audit " + topic + " failed", "audit " + topic + " failed"}, obs.all())
	rec := testkit.SingleRecord(t, b.Addr(), topic)
	vals := 0
	for _, h := range rec.Headers {
		if h.Key == "traceparent" {
			vals++
			require.NotContains(t, string(h.Value), "00000000000000000000000000000001", "a fresh trace id")
		}
	}
	require.Equal(t, 1, vals)

	// The cancelled send failed before it was serialized: counted, not traced.
	spans := exp.GetSpans()
	require.Len(t, spans, 2)
	var failed []string
	for _, s := range spans {
		require.Equal(t, "publish "+topic, s.Name)
		if s.Status.Code == codes.Error {
			failed = append(failed, s.Status.Description)
		}
	}
	require.Len(t, failed, 1)
	require.Contains(t, failed[0], "larger than")
}
