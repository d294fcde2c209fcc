package listener

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/kspring/kspring/serde"
)

// TestDeliverySpanFollowsTheSender: through the default propagator's fast
// path and through any other propagator alike, a delivery's span continues
// the sender's trace and trace state; under a parent-based sampler it
// records, linked to the sender's span, exactly when the sender's was
// sampled, and an unsampled one still hands the handler the trace (flags
// 00), for its own sends to carry on.
func TestDeliverySpanFollowsTheSender(t *testing.T) {
	const sender = "4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7"
	for _, tc := range []struct {
		name       string
		flags      string
		propagator propagation.TextMapPropagator
	}{
		{"sampled, default propagator", "01", nil},
		{"not sampled, default propagator", "00", nil},
		{"sampled, composite propagator", "01", propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})},
		{"not sampled, composite propagator", "00", propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			exp := tracetest.NewInMemoryExporter()
			tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp),
				sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(0))))
			t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
			o := observation{tp: tp, propagator: tc.propagator}
			o.init()
			raw := &RawRecord{Topic: "orders", Partition: 2, Offset: 9, Value: []byte("v"), Headers: serde.Headers{
				{Key: "traceparent", Value: []byte("00-" + sender + "-" + tc.flags)},
				{Key: "tracestate", Value: []byte("congo=t61rcWkgMzE")},
			}}

			ctx, d := o.startRecord(context.Background(), raw, "billing", "c-0")
			sc := trace.SpanContextFromContext(ctx)
			o.end(d, "l-0", raw.Topic, nil)

			require.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", sc.TraceID().String())
			require.NotEqual(t, "00f067aa0ba902b7", sc.SpanID().String(), "the delivery's own span")
			require.Equal(t, tc.flags == "01", sc.IsSampled())
			require.Equal(t, "congo=t61rcWkgMzE", sc.TraceState().String())
			spans := exp.GetSpans()
			if tc.flags == "00" {
				require.Empty(t, spans)
				return
			}
			require.Len(t, spans, 1)
			require.Equal(t, "process orders", spans[0].Name)
			require.Equal(t, "00f067aa0ba902b7", spans[0].Parent.SpanID().String())
			require.Len(t, spans[0].Links, 1)
			require.Equal(t, "00f067aa0ba902b7", spans[0].Links[0].SpanContext.SpanID().String())
		})
	}
}
