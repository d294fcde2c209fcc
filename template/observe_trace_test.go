package template_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/kspring/kspring/template"
	"github.com/kspring/kspring/testkit"
)

// TestTracedSendCarriesItsSpan: a traced send's record carries, in one
// traceparent header, exactly its span's context, through the default
// propagator's fast path and through any other propagator alike; a send
// whose parent is not sampled still carries it (flags 00), so that
// parent-based sampling downstream follows; a sampled span ends with the
// messaging attributes.
func TestTracedSendCarriesItsSpan(t *testing.T) {
	parent := func(flags trace.TraceFlags) trace.SpanContext {
		return trace.NewSpanContext(trace.SpanContextConfig{
			TraceID: trace.TraceID{0xca, 0xfe, 1}, SpanID: trace.SpanID{0xbe, 0xef}, TraceFlags: flags, Remote: true})
	}
	cases := []struct {
		name       string
		parent     trace.SpanContext
		propagator propagation.TextMapPropagator
	}{
		{"sampled, default propagator", parent(trace.FlagsSampled), nil},
		{"not sampled, default propagator", parent(0), nil},
		{"sampled, composite propagator", parent(trace.FlagsSampled),
			propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})},
		{"not sampled, composite propagator", parent(0),
			propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})},
	}
	var topics []testkit.Option
	for i := range cases {
		topics = append(topics, testkit.WithTopic(string(rune('a'+i)), 1, nil))
	}
	b := testkit.NewBroker(t, topics...)
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			topic := b.Topic(string(rune('a' + i)))
			exp := tracetest.NewInMemoryExporter()
			provider := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp)) // parent-based
			t.Cleanup(func() { _ = provider.Shutdown(context.Background()) })
			opts := []template.Option{template.WithTracerProvider(provider)}
			if tc.propagator != nil {
				opts = append(opts, template.WithPropagator(tc.propagator))
			}
			tp := dial[string, string](t, b.Addr(), quick(), opts...)

			ctx := trace.ContextWithRemoteSpanContext(context.Background(), tc.parent)
			_, err := get(t, tp.SendKey(ctx, topic, "order-7", "v"))
			require.NoError(t, err)

			rec := testkit.SingleRecord(t, b.Addr(), topic)
			n := 0
			for _, h := range rec.Headers {
				if h.Key == "traceparent" {
					n++
				}
			}
			require.Equal(t, 1, n, "one traceparent")
			got, _ := rec.Header("traceparent")
			_, hasState := rec.Header("tracestate")
			require.False(t, hasState, "no trace state to carry")
			require.Regexp(t, "^00-"+tc.parent.TraceID().String()+"-[0-9a-f]{16}-"+tc.parent.TraceFlags().String()+"$", got)
			require.NotContains(t, got, tc.parent.SpanID().String(), "the send's own span, not its parent")

			spans := exp.GetSpans()
			if !tc.parent.IsSampled() {
				require.Empty(t, spans)
				return
			}
			require.Len(t, spans, 1)
			s := spans[0]
			require.Equal(t, "00-"+s.SpanContext.TraceID().String()+"-"+s.SpanContext.SpanID().String()+"-01", got)
			require.Equal(t, tc.parent.SpanID(), s.Parent.SpanID())
			require.Equal(t, trace.SpanKindProducer, s.SpanKind)
			attrs := map[attribute.Key]string{}
			for _, a := range s.Attributes {
				attrs[a.Key] = a.Value.Emit()
			}
			require.Equal(t, map[attribute.Key]string{
				"messaging.system":                   "kafka",
				"messaging.operation.type":           "publish",
				"messaging.operation.name":           "publish",
				"messaging.destination.name":         topic,
				"messaging.client.id":                "template",
				"messaging.message.body.size":        "1",
				"messaging.kafka.message.key":        "order-7",
				"messaging.destination.partition.id": "0",
				"messaging.kafka.message.offset":     "0",
			}, attrs)
		})
	}
}
