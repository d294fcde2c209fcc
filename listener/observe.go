package listener

import (
	"context"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/kspring/kspring/internal/spanname"
	"github.com/kspring/kspring/internal/traceparent"
	"github.com/kspring/kspring/serde"
)

// Observation: metrics through an Observer, tracing through an
// OpenTelemetry TracerProvider, both off unless given to the registry, as
// Spring Kafka's container micrometer timers and observationEnabled. The
// listener imports no metrics library: the framework's observe package
// implements Observer over Prometheus with Spring's names.

// Observer is told how each delivery to a handler ended: the Go form of the
// timer Spring Kafka keeps per listener container (spring.kafka.listener,
// tagged with the consumer's name, the result and the exception). name is
// the listener id and the consumer's index, "<id>-<n>", as Spring names a
// concurrent container's children. Processed is called after every
// delivery attempt (a retried record is observed once per attempt; a batch
// once per attempt, with topic the first record's), on the consumer's
// goroutine; d is the handler's time (and a reply's). Implementations must be
// safe for concurrent use and should not block.
type Observer interface {
	Processed(name, topic string, d time.Duration, err error)
}

// WithObserver reports every delivery's outcome and duration to o.
func WithObserver(o Observer) RegistryOption { return func(r *Registry) { r.obs.observer = o } }

// WithTracerProvider traces every delivery: a consumer span named
// "process <topic>" with the messaging semantic conventions' attributes,
// the child of the span whose context the record carries in its
// traceparent/tracestate headers (as the template writes them; see
// WithPropagator) and linked to it, so a send and its processing share a
// trace across the broker. The handler's ctx carries the span. nil: no
// tracing (the default).
func WithTracerProvider(tp trace.TracerProvider) RegistryOption {
	return func(r *Registry) { r.obs.tp = tp }
}

// WithPropagator sets how trace context is read from record headers.
// Default: propagation.TraceContext{} (W3C traceparent, tracestate), which
// the listener reads itself, exactly as the propagator would, without
// converting header values to strings (internal/traceparent); any other
// propagator goes through its Extract.
func WithPropagator(p propagation.TextMapPropagator) RegistryOption {
	return func(r *Registry) { r.obs.propagator = p }
}

const instrumentationName = "github.com/kspring/kspring/listener"

// observation is a registry's observers.
type observation struct {
	observer   Observer
	tp         trace.TracerProvider
	tracer     trace.Tracer
	propagator propagation.TextMapPropagator
	w3c        bool // propagator is propagation.TraceContext: extract with internal/traceparent

	names *spanname.Cache // span names by topic
}

func (o *observation) init() {
	if o.tp != nil {
		o.tracer = o.tp.Tracer(instrumentationName, trace.WithSchemaURL(semconv.SchemaURL))
		if o.propagator == nil {
			o.propagator = propagation.TraceContext{}
		}
		o.w3c = traceparent.IsDefault(o.propagator)
		o.names = spanname.New("process")
	}
}

func (o *observation) on() bool { return o.observer != nil || o.tracer != nil }

// observed is one observed delivery.
type observed struct {
	start time.Duration // on the monotonic clock since clockBase
	span  trace.Span    // nil without tracing
}

// clockBase is the zero of the deliveries' clock: time.Since reads only
// the monotonic clock, about half the cost of time.Now.
var clockBase = time.Now()

// startRecord begins observing the delivery of raw, returning the
// handler's context with the span. The span is the child of the context
// raw carries (sampled or not: the sampler decides) and, when it records,
// linked to it and given its attributes. The link is added once the span
// has started, so that an unsampled delivery does not build it: a sampler
// sees the sender's context as the parent, not as a link too.
func (o *observation) startRecord(ctx context.Context, raw *RawRecord, group, clientID string) (context.Context, observed) {
	d := observed{start: time.Since(clockBase)}
	if o.tracer == nil {
		return ctx, d
	}
	parent := o.extract(ctx, raw.Headers)
	ctx, d.span = o.tracer.Start(parent, o.names.Name(raw.Topic), consumerSpan...)
	if !d.span.IsRecording() {
		return ctx, d
	}
	if sc := trace.SpanContextFromContext(parent); sc.IsValid() {
		d.span.AddLink(trace.Link{SpanContext: sc})
	}
	buf := attrsPool.Get().(*recordAttrs)
	a := append(buf[:0],
		semconv.MessagingSystemKafka,
		semconv.MessagingOperationTypeDeliver, // "process"
		semconv.MessagingOperationName("process"),
		semconv.MessagingDestinationName(raw.Topic),
		semconv.MessagingDestinationPartitionID(strconv.Itoa(int(raw.Partition))),
		semconv.MessagingKafkaMessageOffset(int(raw.Offset)),
		semconv.MessagingClientID(clientID),
		semconv.MessagingMessageBodySize(len(raw.Value)),
	)
	if group != "" {
		a = append(a, semconv.MessagingKafkaConsumerGroup(group))
	}
	if raw.Key != nil && utf8.Valid(raw.Key) {
		a = append(a, semconv.MessagingKafkaMessageKey(string(raw.Key)))
	}
	d.span.SetAttributes(a...)
	*buf = recordAttrs{}
	attrsPool.Put(buf)
	return ctx, d
}

// extract returns ctx with the trace context h carries, if any: read by
// internal/traceparent for the default propagator, without its string
// conversions, else by the propagator.
func (o *observation) extract(ctx context.Context, h serde.Headers) context.Context {
	if !o.w3c {
		return o.extractGeneric(ctx, h)
	}
	if sc := traceparent.Extract(h); sc.IsValid() {
		return trace.ContextWithRemoteSpanContext(ctx, sc)
	}
	return ctx
}

// extractGeneric is extract through the propagator. (Apart, so that
// extract's h does not escape to the heap.)
func (o *observation) extractGeneric(ctx context.Context, h serde.Headers) context.Context {
	return o.propagator.Extract(ctx, serde.HeaderCarrier{Headers: &h})
}

// consumerSpan are the start options of every delivery's span, made once.
var consumerSpan = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindConsumer)}

// recordAttrs is room for a delivery span's attributes, reused: the SDK copies
// what SetAttributes is given.
type recordAttrs [10]attribute.KeyValue

var attrsPool = sync.Pool{New: func() any { return new(recordAttrs) }}

// startBatch begins observing the delivery of a batch: its span is a root
// linked to every record's sending span, as the conventions ask for a
// batch.
func (o *observation) startBatch(ctx context.Context, raws []*RawRecord, group, clientID string) (context.Context, observed) {
	d := observed{start: time.Since(clockBase)}
	if o.tracer == nil || len(raws) == 0 {
		return ctx, d
	}
	var links []trace.Link
	for _, raw := range raws {
		if sc := trace.SpanContextFromContext(o.extract(ctx, raw.Headers)); sc.IsValid() {
			links = append(links, trace.Link{SpanContext: sc})
		}
	}
	attrs := []attribute.KeyValue{
		semconv.MessagingSystemKafka,
		semconv.MessagingOperationTypeDeliver,
		semconv.MessagingOperationName("process"),
		semconv.MessagingDestinationName(raws[0].Topic),
		semconv.MessagingBatchMessageCount(len(raws)),
		semconv.MessagingClientID(clientID),
	}
	if group != "" {
		attrs = append(attrs, semconv.MessagingKafkaConsumerGroup(group))
	}
	ctx, d.span = o.tracer.Start(ctx, o.names.Name(raws[0].Topic), trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(attrs...), trace.WithLinks(links...))
	return ctx, d
}

// end reports a delivery's outcome.
func (o *observation) end(d observed, name, topic string, err error) {
	if o.observer != nil {
		o.observer.Processed(name, topic, time.Since(clockBase)-d.start, err)
	}
	if d.span == nil {
		return
	}
	if err != nil {
		d.span.RecordError(err)
		d.span.SetStatus(codes.Error, err.Error())
	}
	d.span.End()
}
