package template

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/IBM/sarama"
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
// Default: propagation.TraceContext{} (W3C traceparent, tracestate), which
// the template writes itself, byte for byte as the propagator would,
// without allocating (internal/traceparent); any other propagator goes
// through its Inject. A send's context is written whether or not its span
// is sampled, so that parent-based sampling downstream follows.
func WithPropagator(p propagation.TextMapPropagator) Option {
	return func(o *options) { o.propagator = p }
}

// instrumentationName names the tracer, as OpenTelemetry asks.
const instrumentationName = "github.com/kspring/kspring/template"

// sendObs is what observing one send needs; a future has one only when
// the template observes.
type sendObs struct {
	start  time.Time
	done   atomic.Bool
	traced *tracedSend // nil without tracing
}

// tracedSend is a traced send's sendObs (its traced field points back
// here: one allocation) with its span, what the span's attributes need
// when it ends, and storage for the W3C trace context the fast path
// (internal/traceparent) writes: the traceparent value and a backing
// array for a record that had no headers, so that injecting allocates
// nothing more. The record's headers point into it; the future holds it
// (through its sendObs) as long as they live. A template that only counts
// sends allocates a bare sendObs.
type tracedSend struct {
	sendObs
	span      trace.Span
	valueSize int
	key       string // messaging.kafka.message.key, if hasKey
	hasKey    bool
	tp        [traceparent.Len]byte
	headers   [1]serde.Header // room for traceparent (a tracestate, seldom there, grows it)
}

// observation is a template's observers, set by New.
type observation struct {
	name       string
	observer   Observer
	tracer     trace.Tracer
	propagator propagation.TextMapPropagator
	w3c        bool // propagator is propagation.TraceContext: inject with internal/traceparent

	names *spanname.Cache // span names by topic
}

func (o *observation) init(opts *options) {
	o.name = opts.name
	if o.name == "" {
		o.name = "template"
	}
	o.observer = opts.observer
	if opts.tracerProvider != nil {
		o.tracer = opts.tracerProvider.Tracer(instrumentationName, trace.WithSchemaURL(semconv.SchemaURL))
		o.names = spanname.New("publish")
		o.propagator = opts.propagator
		if o.propagator == nil {
			o.propagator = propagation.TraceContext{}
		}
		o.w3c = traceparent.IsDefault(o.propagator)
	}
}

func (o *observation) on() bool { return o.observer != nil || o.tracer != nil }

// start begins observing a send to topic whose record is serialized (key,
// valueSize) and about to go to the producer: it starts the send's span,
// as a child of the span in ctx, and writes its context into headers (the
// record's own clone), sampled or not, so that parent-based sampling
// downstream follows the decision made here.
//
// The span's attributes are all set as it ends, in one call: the SDK then
// grows its attribute slice once, and an unsampled span builds none. (A
// SpanProcessor's OnStart sees no attributes; OnEnd and the exporter see
// them all.)
func (o *observation) start(ctx context.Context, topic string, headers *serde.Headers, key []byte, valueSize int, now time.Time) *sendObs {
	if o.tracer == nil {
		return &sendObs{start: now}
	}
	s := &tracedSend{sendObs: sendObs{start: now}}
	s.traced = s
	ctx, s.span = o.tracer.Start(ctx, o.names.Name(topic), producerSpan...)
	if s.span.IsRecording() {
		s.valueSize = valueSize
		if key != nil && utf8.Valid(key) {
			s.key, s.hasKey = string(key), true
		}
	}
	if !o.w3c {
		o.propagator.Inject(ctx, serde.HeaderCarrier{Headers: headers})
		return &s.sendObs
	}
	if len(*headers) == 0 {
		*headers = s.headers[:0]
	}
	traceparent.Inject(s.span.SpanContext(), headers, &s.tp)
	return &s.sendObs
}

// producerSpan are the start options of every send's span, made once.
var producerSpan = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindProducer)}

// endAttrs is room for a send span's attributes, reused: the SDK copies
// what SetAttributes is given.
type endAttrs [9]attribute.KeyValue

var endAttrsPool = sync.Pool{New: func() any { return new(endAttrs) }}

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
	o.endSpan(s.traced, md, err)
}

// endSpan sets a traced send's attributes, and its error if it failed,
// and ends its span.
func (o *observation) endSpan(s *tracedSend, md RecordMetadata, err error) {
	if s == nil {
		return
	}
	if !s.span.IsRecording() {
		s.span.End()
		return
	}
	buf := endAttrsPool.Get().(*endAttrs)
	attrs := append(buf[:0],
		semconv.MessagingSystemKafka,
		semconv.MessagingOperationTypePublish,
		semconv.MessagingOperationName("publish"),
		semconv.MessagingDestinationName(md.Topic),
		semconv.MessagingClientID(o.name),
		semconv.MessagingMessageBodySize(s.valueSize),
	)
	if s.hasKey {
		attrs = append(attrs, semconv.MessagingKafkaMessageKey(s.key))
	}
	if md.Partition >= 0 {
		attrs = append(attrs, semconv.MessagingDestinationPartitionID(strconv.Itoa(int(md.Partition))))
	}
	if err == nil && md.Offset >= 0 {
		attrs = append(attrs, semconv.MessagingKafkaMessageOffset(int(md.Offset)))
	}
	s.span.SetAttributes(attrs...)
	*buf = endAttrs{}
	endAttrsPool.Put(buf)
	if err != nil {
		s.span.RecordError(err)
		s.span.SetStatus(codes.Error, err.Error())
	}
	s.span.End()
}
