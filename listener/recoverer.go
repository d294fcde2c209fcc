package listener

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/kspring/kspring/serde"
)

// Recoverer deals with a record that will not be delivered again, as
// Spring's ConsumerRecordRecoverer: it logs it, publishes it to a
// dead-letter topic, stores it... Recover returns nil once the record is
// taken care of; an error means the record is not recovered and will be
// delivered again. The context carries the ListenerInfo. Implementations
// must be safe for concurrent use.
type Recoverer interface {
	Recover(ctx context.Context, rec *RawRecord, err error) error
}

// RecovererFunc adapts a function to a Recoverer.
type RecovererFunc func(ctx context.Context, rec *RawRecord, err error) error

// Recover calls fn.
func (fn RecovererFunc) Recover(ctx context.Context, rec *RawRecord, err error) error {
	return fn(ctx, rec, err)
}

// LoggingRecoverer logs the record's topic, partition and offset and the
// error at error level, and skips the record: the DefaultErrorHandler's
// default, as in Spring. It never logs keys or values.
func LoggingRecoverer(log *zap.Logger) Recoverer {
	if log == nil {
		log = zap.L()
	}
	return RecovererFunc(func(ctx context.Context, rec *RawRecord, err error) error {
		info, _ := ListenerInfoFrom(ctx)
		log.Error("kafka listener: record skipped after failed deliveries",
			zap.String("listener", info.ID), zap.String("topic", rec.Topic),
			zap.Int32("partition", rec.Partition), zap.Int64("offset", rec.Offset), zap.Error(err))
		return nil
	})
}

// DefaultDeadLetterSuffix is Spring's suffix of dead-letter topics.
const DefaultDeadLetterSuffix = "-dlt"

// DeadLetterRecoverer publishes failed records to a dead-letter topic, as
// Spring's DeadLetterPublishingRecoverer: by default to "<topic>-dlt", on the
// partition the record came from (so the dead-letter topic needs at least as
// many partitions), with the original key, value and headers, and Spring's
// kafka_dlt-* headers: original topic, partition (4-byte big-endian int),
// offset (8-byte big-endian long), timestamp (8-byte long, milliseconds),
// timestamp type, consumer group, and the error's type, cause type, message
// and "stack trace" (the chain of wrapped errors, or the stack of a panic).
// Java tooling reads them as it reads Spring's.
//
// A record that already carries kafka_dlt-original-* headers (it came from
// a retry topic) keeps them, so they name where it was first consumed; the
// exception headers are replaced.
//
// Recover waits until the broker confirms the dead letter, at most the
// timeout (default 30s). A DeadLetterRecoverer is safe for concurrent use.
type DeadLetterRecoverer struct {
	sender      Sender
	suffix      string
	destination func(rec *RawRecord, err error) TopicPartition
	timeout     time.Duration
}

// DeadLetterOption configures a DeadLetterRecoverer.
type DeadLetterOption func(*DeadLetterRecoverer)

// DeadLetterSuffix sets the suffix of the default destination. Default "-dlt".
func DeadLetterSuffix(suffix string) DeadLetterOption {
	return func(r *DeadLetterRecoverer) { r.suffix = suffix }
}

// DeadLetterDestination sets where each record goes. A negative Partition
// lets the partitioner choose.
func DeadLetterDestination(fn func(rec *RawRecord, err error) TopicPartition) DeadLetterOption {
	return func(r *DeadLetterRecoverer) { r.destination = fn }
}

// DeadLetterTimeout bounds the wait for the broker to confirm a dead letter.
func DeadLetterTimeout(d time.Duration) DeadLetterOption {
	return func(r *DeadLetterRecoverer) { r.timeout = d }
}

// NewDeadLetterRecoverer returns a recoverer that publishes through s.
func NewDeadLetterRecoverer(s Sender, opts ...DeadLetterOption) *DeadLetterRecoverer {
	r := &DeadLetterRecoverer{sender: s, suffix: DefaultDeadLetterSuffix, timeout: 30 * time.Second}
	for _, o := range opts {
		o(r)
	}
	return r
}

// Recover implements Recoverer.
func (r *DeadLetterRecoverer) Recover(ctx context.Context, rec *RawRecord, err error) error {
	dest := TopicPartition{Topic: rec.Topic + r.suffix, Partition: rec.Partition}
	if r.destination != nil {
		dest = r.destination(rec, err)
	}
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	_, perr := publish(ctx, r.sender, outgoing{
		topic: dest.Topic, partition: dest.Partition, key: rec.Key, value: rec.Value,
		headers: deadLetterHeaders(ctx, rec, err),
	})
	if perr != nil {
		return fmt.Errorf("listener: dead-letter %s-%d@%d to %s: %w", rec.Topic, rec.Partition, rec.Offset, dest.Topic, perr)
	}
	return nil
}

// deadLetterHeaders returns rec's headers with the kafka_dlt-* headers for
// err set.
func deadLetterHeaders(ctx context.Context, rec *RawRecord, err error) serde.Headers {
	h := rec.Headers.Clone()
	for _, k := range []string{HeaderDLTExceptionFQCN, HeaderDLTExceptionCauseFQCN, HeaderDLTExceptionMessage, HeaderDLTExceptionStacktrace} {
		h.Remove(k)
	}
	if _, ok := h.Get(HeaderDLTOriginalTopic); !ok {
		h.Add(HeaderDLTOriginalTopic, []byte(rec.Topic))
		h.Add(HeaderDLTOriginalPartition, Int32Header(rec.Partition))
		h.Add(HeaderDLTOriginalOffset, Int64Header(rec.Offset))
		h.Add(HeaderDLTOriginalTimestamp, Int64Header(rec.Timestamp.UnixMilli()))
		h.Add(HeaderDLTOriginalTimestampType, []byte("CreateTime"))
		if info, ok := ListenerInfoFrom(ctx); ok && info.GroupID != "" {
			h.Add(HeaderDLTOriginalConsumerGroup, []byte(info.GroupID))
		}
	}
	top := unwrapInternal(err)
	h.Add(HeaderDLTExceptionFQCN, []byte(typeName(top)))
	if cause := rootCause(top); cause != top {
		h.Add(HeaderDLTExceptionCauseFQCN, []byte(typeName(cause)))
	}
	h.Add(HeaderDLTExceptionMessage, []byte(top.Error()))
	h.Add(HeaderDLTExceptionStacktrace, []byte(stackTrace(top)))
	return h
}

// unwrapInternal strips the listener's own wrappers (BatchFailed,
// NotRetryable) so the headers name the handler's error.
func unwrapInternal(err error) error {
	for {
		switch e := err.(type) {
		case *BatchFailedError:
			err = e.Err
		case *notRetryable:
			err = e.err
		default:
			return err
		}
	}
}

// rootCause follows single Unwrap chains to the innermost error.
func rootCause(err error) error {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err
		}
		err = next
	}
}

// typeName is the Go form of a Java fully qualified class name:
// "github.com/kspring/kspring/serde.DeserializationError".
func typeName(err error) string {
	t := reflect.TypeOf(err)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.PkgPath() == "" || t.Name() == "" {
		return fmt.Sprintf("%T", err)
	}
	return t.PkgPath() + "." + t.Name()
}

// stackTrace describes err as Java's printStackTrace would: the error, then
// each wrapped error on a "Caused by:" line; a panic adds its stack.
func stackTrace(err error) string {
	var b strings.Builder
	for i := 0; err != nil; i++ {
		if i > 0 {
			b.WriteString("\nCaused by: ")
		}
		fmt.Fprintf(&b, "%s: %s", typeName(err), err.Error())
		if pe, ok := err.(*PanicError); ok {
			b.WriteString("\n")
			b.Write(pe.Stack)
		}
		err = errors.Unwrap(err)
	}
	return b.String()
}
