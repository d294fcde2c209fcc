package template

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/IBM/sarama"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/kspring/kspring/serde"
)

// Observation: metrics through an Observer, tracing through an
// OpenTelemetry TracerProvider, both off unless given, as Spring Kafka's
// micrometer timers and observationEnabled. The template imports no metrics
// library: the framework's observe package implements Observer over
// Prometheus with Spring's names.

// Observer is told how each send ended: the Go form of the timer Spring
// Kafka keeps per KafkaTemplate (spring.kafka.template, tagged with the
// template's name, the result and the exception). Sent is called once per
// send, on the goroutine that completes its future, just before the future
// completes (so a caller of Get sees it counted); d runs from Send to then. Implementations must be safe
// for concurrent use and should not block.
type Observer interface {
	Sent(name, topic string, d time.Duration, err error)
}

// WithObserver reports every send's outcome and duration to o.
func WithObserver(o Observer) Option { return func(opts *options) { opts.observer = o } }

// WithName names the template in its metrics and spans (Spring's bean
// name, the timer's name tag). Default: "template".
func WithName(name string) Option { return func(o *options) { o.name = name } }

// WithTracerProvider traces every send: a producer span per record, named
// "publish <topic>" with the messaging semantic conventions' attributes,
// whose context goes with the record in W3C traceparent and tracestate
// headers (see WithPropagator), for the listener to continue the trace. The
// span starts as Send is called, as a child of the span in its ctx, and ends
// as its future completes. nil: no tracing (the default).
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(o *options) { o.tracerProvider = tp }
}

// WithPropagator sets how trace context is written into record headers.
// Default: propagation.TraceContext{} (W3C traceparent, tracestate).
func WithPropagator(p propagation.TextMapPropagator) Option {
	return func(o *options) { o.propagator = p }
}

// instrumentationName names the tracer, as OpenTelemetry asks.
const instrumentationName = "github.com/kspring/kspring/template"

// sendObs is what observing one send needs; a future has one only when
// the template observes.
type sendObs struct {
	start time.Time
	span  trace.Span // nil without tracing
	done  atomic.Bool
}

// observation is a template's observers, set by New.
type observation struct {
	name       string
	observer   Observer
	tracer     trace.Tracer
	propagator propagation.TextMapPropagator

	mu    sync.RWMutex
	names map[string]string // span names by topic
}

func (o *observation) init(opts *options) {
	o.name = opts.name
	if o.name == "" {
		o.name = "template"
	}
	o.observer = opts.observer
	if opts.tracerProvider != nil {
		o.tracer = opts.tracerProvider.Tracer(instrumentationName, trace.WithSchemaURL(semconv.SchemaURL))
		o.names = map[string]string{}
		o.propagator = opts.propagator
		if o.propagator == nil {
			o.propagator = propagation.TraceContext{}
		}
	}
}

func (o *observation) on() bool { return o.observer != nil || o.tracer != nil }

// start begins observing a send to topic whose record is serialized (key,
// valueSize) and about to go to the producer: it starts the send's span,
// as a child of the span in ctx, and writes its context into headers (the
// record's own clone). Attributes are built only for a span that records
// (sampled), so that unsampled sends stay cheap.
func (o *observation) start(ctx context.Context, topic string, headers *serde.Headers, key []byte, valueSize int, now time.Time) *sendObs {
	s := &sendObs{start: now}
	if o.tracer == nil {
		return s
	}
	ctx, s.span = o.tracer.Start(ctx, o.spanName(topic), trace.WithSpanKind(trace.SpanKindProducer))
	if s.span.IsRecording() {
		s.span.SetAttributes(
			semconv.MessagingSystemKafka,
			semconv.MessagingOperationTypePublish,
			semconv.MessagingOperationName("publish"),
			semconv.MessagingDestinationName(topic),
			semconv.MessagingClientID(o.name),
			semconv.MessagingMessageBodySize(valueSize),
		)
		if key != nil && utf8.Valid(key) {
			s.span.SetAttributes(semconv.MessagingKafkaMessageKey(string(key)))
		}
	}
	o.propagator.Inject(ctx, serde.HeaderCarrier{Headers: headers})
	return s
}

// spanName returns "publish <topic>", made once per topic.
func (o *observation) spanName(topic string) string {
	o.mu.RLock()
	n, ok := o.names[topic]
	o.mu.RUnlock()
	if ok {
		return n
	}
	n = "publish " + topic
	o.mu.Lock()
	if len(o.names) < maxSpanNames {
		o.names[topic] = n
	}
	o.mu.Unlock()
	return n
}

// maxSpanNames bounds the span names kept, for templates sending to
// ever-new topics.
const maxSpanNames = 1024

// written reports a send the producer acknowledged as msg says, on the
// quiet path, before its future completes. Should another goroutine fail
// the future meanwhile (delivery-timeout-ms), the record was still
// written, and that is what is reported: end reports once.
func (o *observation) written(s *sendObs, msg *sarama.ProducerMessage) {
	o.end(s, RecordMetadata{Topic: msg.Topic, Partition: msg.Partition, Offset: msg.Offset}, nil)
}

// end reports the send's outcome once: md is where it was written, err
// why it failed. s is nil for a send that failed before it was
// serialized: it is counted, with no time and no span.
func (o *observation) end(s *sendObs, md RecordMetadata, err error) {
	if s == nil {
		if o.observer != nil {
			o.observer.Sent(o.name, md.Topic, 0, err)
		}
		return
	}
	if !s.done.CompareAndSwap(false, true) {
		return
	}
	if o.observer != nil {
		o.observer.Sent(o.name, md.Topic, time.Since(s.start), err)
	}
	if s.span == nil {
		return
	}
	if !s.span.IsRecording() {
		s.span.End()
		return
	}
	if md.Partition >= 0 {
		s.span.SetAttributes(semconv.MessagingDestinationPartitionID(strconv.Itoa(int(md.Partition))))
	}
	if err == nil && md.Offset >= 0 {
		s.span.SetAttributes(semconv.MessagingKafkaMessageOffset(int(md.Offset)))
	}
	if err != nil {
		s.span.RecordError(err)
		s.span.SetStatus(codes.Error, err.Error())
	}
	s.span.End()
}
