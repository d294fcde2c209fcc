package listener

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/kspring/kspring/serde"
)

// FuzzTraceHeaders feeds arbitrary traceparent and tracestate headers, as
// any producer may write, to a traced delivery: it never fails, always
// starts a span, and continues the sender's trace exactly when the headers
// carry a valid context.
//
//	go test -run '^$' -fuzz FuzzTraceHeaders -fuzztime 20s ./listener/
func FuzzTraceHeaders(f *testing.F) {
	f.Add([]byte("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"), []byte("congo=t61rcWkgMzE"))
	f.Add([]byte("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"), []byte(""))
	f.Add([]byte("ff-00000000000000000000000000000000-0000000000000000-01"), []byte("a=b,c=d"))
	f.Add([]byte(""), []byte(",,=="))
	f.Add([]byte("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-09-extra"), []byte("k=\x00"))
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(tracetest.NewNoopExporter()))
	f.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	o := observation{tp: tp}
	o.init()
	f.Fuzz(func(t *testing.T, parent, state []byte) {
		raw := &RawRecord{Topic: "t", Partition: 1, Offset: 7, Key: parent, Value: state,
			Headers: serde.Headers{{Key: "traceparent", Value: parent}, {Key: "tracestate", Value: state}}}
		h := raw.Headers.Clone()
		want := trace.SpanContextFromContext(propagation.TraceContext{}.Extract(context.Background(), serde.HeaderCarrier{Headers: &h}))

		ctx, d := o.startRecord(context.Background(), raw, "g", "c")
		got := trace.SpanContextFromContext(ctx)
		if !got.IsValid() {
			t.Fatalf("no span for traceparent %q", parent)
		}
		if want.IsValid() != (got.TraceID() == want.TraceID()) {
			t.Fatalf("traceparent %q: remote %v, span %v", parent, want, got)
		}
		o.end(d, "n-0", "t", nil)
	})
}
