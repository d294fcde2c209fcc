package template

import (
	"context"

	"go.uber.org/zap"
)

// ProducerListener hears the outcome of every send of a template, as Spring's
// ProducerListener: a place for audit, metrics or logging that applies to all
// sends. Methods run after the future's callbacks, on the same goroutine (see
// Future), and must not block. Implementations must be safe for concurrent
// use.
type ProducerListener[K, V any] interface {
	OnSuccess(rec ProducerRecord[K, V], md RecordMetadata)
	// OnError gets the record that failed and the *SendError.
	OnError(rec ProducerRecord[K, V], err error)
}

// ProducerListenerFuncs adapts functions to a ProducerListener; a nil field
// ignores that outcome.
type ProducerListenerFuncs[K, V any] struct {
	Success func(rec ProducerRecord[K, V], md RecordMetadata)
	Error   func(rec ProducerRecord[K, V], err error)
}

// OnSuccess calls l.Success if set.
func (l ProducerListenerFuncs[K, V]) OnSuccess(rec ProducerRecord[K, V], md RecordMetadata) {
	if l.Success != nil {
		l.Success(rec, md)
	}
}

// OnError calls l.Error if set.
func (l ProducerListenerFuncs[K, V]) OnError(rec ProducerRecord[K, V], err error) {
	if l.Error != nil {
		l.Error(rec, err)
	}
}

// LoggingProducerListener logs failed sends at error level, as Spring's
// LoggingProducerListener; successes are not logged. It never logs keys or
// values. It is the listener of a template given none.
type LoggingProducerListener[K, V any] struct {
	Logger *zap.Logger
}

// OnSuccess does nothing.
func (LoggingProducerListener[K, V]) OnSuccess(ProducerRecord[K, V], RecordMetadata) {}

// OnError logs the topic, partition if any, and error.
func (l LoggingProducerListener[K, V]) OnError(rec ProducerRecord[K, V], err error) {
	log := l.Logger
	if log == nil {
		log = zap.L()
	}
	fields := []zap.Field{zap.String("topic", rec.Topic), zap.Error(err)}
	if rec.Partition != nil {
		fields = append(fields, zap.Int32("partition", *rec.Partition))
	}
	log.Error("kafka send failed", fields...)
}

// Interceptor sees every record before it is serialized and every outcome, as
// Kafka's ProducerInterceptor. OnSend runs on the goroutine calling Send and
// may return a changed record (for example with a tracing header taken from
// ctx). OnAcknowledgement runs before the future's callbacks on the goroutine
// that completes the future (see Future), with a nil error on success, and
// must not block. Implementations must be safe for concurrent use.
type Interceptor[K, V any] interface {
	OnSend(ctx context.Context, rec ProducerRecord[K, V]) ProducerRecord[K, V]
	OnAcknowledgement(rec ProducerRecord[K, V], md RecordMetadata, err error)
}

// InterceptorFuncs adapts functions to an Interceptor; a nil field does nothing.
type InterceptorFuncs[K, V any] struct {
	Send            func(ctx context.Context, rec ProducerRecord[K, V]) ProducerRecord[K, V]
	Acknowledgement func(rec ProducerRecord[K, V], md RecordMetadata, err error)
}

// OnSend calls i.Send if set, else returns rec.
func (i InterceptorFuncs[K, V]) OnSend(ctx context.Context, rec ProducerRecord[K, V]) ProducerRecord[K, V] {
	if i.Send == nil {
		return rec
	}
	return i.Send(ctx, rec)
}

// OnAcknowledgement calls i.Acknowledgement if set.
func (i InterceptorFuncs[K, V]) OnAcknowledgement(rec ProducerRecord[K, V], md RecordMetadata, err error) {
	if i.Acknowledgement != nil {
		i.Acknowledgement(rec, md, err)
	}
}
