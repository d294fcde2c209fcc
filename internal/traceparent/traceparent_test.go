package traceparent_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/kspring/kspring/internal/traceparent"
	"github.com/kspring/kspring/serde"
)

// injectBoth writes sc into two copies of h, through
// propagation.TraceContext and through Inject, and returns both.
func injectBoth(t testing.TB, sc trace.SpanContext, h serde.Headers) (want, got serde.Headers) {
	t.Helper()
	want, got = h.Clone(), h.Clone()
	propagation.TraceContext{}.Inject(trace.ContextWithSpanContext(context.Background(), sc),
		serde.HeaderCarrier{Headers: &want})
	var buf [traceparent.Len]byte
	traceparent.Inject(sc, &got, &buf)
	return want, got
}

func spanContext(t testing.TB, flags trace.TraceFlags, state string) trace.SpanContext {
	t.Helper()
	ts, err := trace.ParseTraceState(state)
	require.NoError(t, err)
	return trace.NewSpanContext(trace.SpanContextConfig{
		TraceID:    trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36},
		SpanID:     trace.SpanID{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7},
		TraceFlags: flags,
		TraceState: ts,
	})
}

func TestInjectWritesWhatTraceContextWrites(t *testing.T) {
	for _, tc := range []struct {
		name    string
		sc      trace.SpanContext
		headers serde.Headers
	}{
		{"sampled", spanContext(t, trace.FlagsSampled, ""), nil},
		{"not sampled, still propagated", spanContext(t, 0, ""), nil},
		{"random flag", spanContext(t, trace.FlagsSampled|trace.FlagsRandom, ""), nil},
		{"unknown flags dropped", spanContext(t, 0xff, ""), nil},
		{"trace state", spanContext(t, trace.FlagsSampled, "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"), nil},
		{"replaces earlier headers", spanContext(t, trace.FlagsSampled, "a=b"), serde.Headers{
			{Key: "traceparent", Value: []byte("00-old")}, {Key: "x", Value: []byte("1")},
			{Key: "tracestate", Value: []byte("old=1")}, {Key: "traceparent", Value: []byte("00-older")},
		}},
		{"keeps a tracestate it does not replace", spanContext(t, trace.FlagsSampled, ""), serde.Headers{
			{Key: "tracestate", Value: []byte("kept=1")},
		}},
		{"invalid span context writes nothing", trace.SpanContext{}, serde.Headers{{Key: "x"}}},
		{"invalid span id writes nothing", trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{1}}), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want, got := injectBoth(t, tc.sc, tc.headers)
			require.Equal(t, want, got)
		})
	}
}

// extractTraceContext is what propagation.TraceContext reads from h.
func extractTraceContext(h serde.Headers) trace.SpanContext {
	return trace.SpanContextFromContext(propagation.TraceContext{}.Extract(context.Background(),
		serde.HeaderCarrier{Headers: &h}))
}

func TestExtractReadsWhatTraceContextReads(t *testing.T) {
	const valid = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	for _, tc := range []struct {
		name    string
		headers serde.Headers
		valid   bool
	}{
		{"none", nil, false},
		{"sampled", serde.Headers{{Key: "traceparent", Value: []byte(valid)}}, true},
		{"not sampled", serde.Headers{{Key: "traceparent", Value: []byte(valid[:53] + "00")}}, true},
		{"random flag", serde.Headers{{Key: "traceparent", Value: []byte(valid[:53] + "03")}}, true},
		{"reserved flag on version 00", serde.Headers{{Key: "traceparent", Value: []byte(valid[:53] + "04")}}, false},
		{"reserved flags on a later version", serde.Headers{{Key: "traceparent", Value: []byte("cc" + valid[2:53] + "ff-more")}}, true},
		{"version ff", serde.Headers{{Key: "traceparent", Value: []byte("ff" + valid[2:])}}, false},
		{"more fields on version 00", serde.Headers{{Key: "traceparent", Value: []byte(valid + "-00")}}, false},
		{"trailing dash on version 00", serde.Headers{{Key: "traceparent", Value: []byte(valid + "-")}}, true},
		{"upper-case hex", serde.Headers{{Key: "traceparent", Value: []byte("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01")}}, false},
		{"zero trace id", serde.Headers{{Key: "traceparent", Value: []byte("00-00000000000000000000000000000000-00f067aa0ba902b7-01")}}, false},
		{"zero span id", serde.Headers{{Key: "traceparent", Value: []byte("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01")}}, false},
		{"short", serde.Headers{{Key: "traceparent", Value: []byte(valid[:40])}}, false},
		{"empty", serde.Headers{{Key: "traceparent", Value: []byte{}}}, false},
		{"last header counts", serde.Headers{{Key: "traceparent", Value: []byte("junk")}, {Key: "traceparent", Value: []byte(valid)}}, true},
		{"an empty last header is none", serde.Headers{{Key: "traceparent", Value: []byte(valid)}, {Key: "traceparent"}}, false},
		{"trace state", serde.Headers{{Key: "traceparent", Value: []byte(valid)}, {Key: "tracestate", Value: []byte("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE")}}, true},
		{"bad trace state dropped", serde.Headers{{Key: "tracestate", Value: []byte("=bad=")}, {Key: "traceparent", Value: []byte(valid)}}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := extractTraceContext(tc.headers)
			require.Equal(t, tc.valid, want.IsValid(), "the case's expectation of propagation.TraceContext")
			require.Equal(t, want, traceparent.Extract(tc.headers))
		})
	}
}

func TestExtractReadsWhatInjectWrote(t *testing.T) {
	sc := spanContext(t, trace.FlagsSampled, "a=b")
	var h serde.Headers
	var buf [traceparent.Len]byte
	traceparent.Inject(sc, &h, &buf)
	require.Equal(t, sc.WithRemote(true), traceparent.Extract(h))
}

func TestIsDefault(t *testing.T) {
	require.True(t, traceparent.IsDefault(propagation.TraceContext{}))
	require.True(t, traceparent.IsDefault(&propagation.TraceContext{}))
	require.False(t, traceparent.IsDefault(propagation.Baggage{}))
	require.False(t, traceparent.IsDefault(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{})))
	require.False(t, traceparent.IsDefault(nil))
}

func TestInjectAndExtractAllocate(t *testing.T) {
	sc := spanContext(t, trace.FlagsSampled, "")
	var buf [traceparent.Len]byte
	h := make(serde.Headers, 0, 2)
	require.Zero(t, testing.AllocsPerRun(100, func() { traceparent.Inject(sc, &h, &buf) }))
	require.Zero(t, testing.AllocsPerRun(100, func() { _ = traceparent.Extract(h) }))
}
