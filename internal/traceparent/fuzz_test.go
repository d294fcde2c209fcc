package traceparent_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/trace"

	"github.com/kspring/kspring/internal/traceparent"
	"github.com/kspring/kspring/serde"
)

// FuzzExtract: for any traceparent and tracestate values, Extract reads
// exactly what propagation.TraceContext reads.
func FuzzExtract(f *testing.F) {
	f.Add("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "rojo=00f067aa0ba902b7")
	f.Add("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", "")
	f.Add("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-09-x", "a=1,b=2")
	f.Add("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-", "=")
	f.Fuzz(func(t *testing.T, parent, state string) {
		h := serde.Headers{{Key: "traceparent", Value: []byte(parent)}}
		if state != "" {
			h = append(h, serde.Header{Key: "tracestate", Value: []byte(state)})
		}
		require.Equal(t, extractTraceContext(h), traceparent.Extract(h))
	})
}

// FuzzInject: for any span context, Inject writes exactly what
// propagation.TraceContext writes.
func FuzzInject(f *testing.F) {
	f.Add([]byte("4bf92f3577b34da6"), []byte("a3ce929d"), uint8(1), "rojo=00f067aa0ba902b7")
	f.Add([]byte{}, []byte{}, uint8(0), "")
	f.Fuzz(func(t *testing.T, tid, sid []byte, flags uint8, state string) {
		var scc trace.SpanContextConfig
		copy(scc.TraceID[:], tid)
		copy(scc.SpanID[:], sid)
		scc.TraceFlags = trace.TraceFlags(flags)
		scc.TraceState, _ = trace.ParseTraceState(state)
		want, got := injectBoth(t, trace.NewSpanContext(scc), serde.Headers{{Key: "tracestate", Value: []byte("old")}})
		require.Equal(t, want, got)
	})
}
