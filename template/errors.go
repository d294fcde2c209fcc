package template

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/IBM/sarama"
	"github.com/eapache/go-resiliency/breaker"
	"github.com/twmb/franz-go/pkg/kerr"
)

// Sentinel errors that a failed send wraps; test them with errors.Is.
var (
	// ErrClosed: the template was closed before the record was sent, or
	// before its delivery was confirmed.
	ErrClosed = errors.New("template: closed")
	// ErrBufferFull: buffer-memory stayed full for max-block-ms (Java's
	// BufferExhaustedException). Retriable.
	ErrBufferFull = errors.New("template: send buffer full")
	// ErrRecordTooLarge: the record is larger than max-request-size or
	// buffer-memory. It also wraps kerr.MessageTooLarge.
	ErrRecordTooLarge = errors.New("template: record too large")
	// ErrDeliveryTimeout: the broker did not confirm the record within
	// delivery-timeout-ms. The record may still be written. Retriable.
	ErrDeliveryTimeout = errors.New("template: delivery timed out")
	// ErrNoDefaultTopic: a default-topic send on a template without one.
	ErrNoDefaultTopic = errors.New("template: no default topic")

	// ErrTransactionAborted: a transaction was rolled back, because its
	// function returned an error or panicked, a send in it failed, or the
	// commit failed. The error also wraps the cause: the function's error,
	// the failed send's *SendError, or the Kafka error (a *kerr.Error such
	// as kerr.ProducerFenced, and the sarama error).
	ErrTransactionAborted = errors.New("template: transaction aborted")
	// ErrTransactionOutcomeUnknown: the context ended while the commit was
	// in progress, or the coordinator could not be reached for the whole
	// retry budget; the transaction may have committed or may abort.
	ErrTransactionOutcomeUnknown = errors.New("template: transaction outcome unknown")
	// ErrNotTransactional: a transaction was asked of a template without a
	// transaction-id-prefix.
	ErrNotTransactional = errors.New("template: not transactional (set transaction-id-prefix)")
	// ErrInTransaction: ExecuteInTransaction was called with a context
	// that already carries a transaction of the same template (Spring
	// refuses nested executeInTransaction too).
	ErrInTransaction = errors.New("template: already in a transaction")
	// ErrTransactionDone: a send or SendOffsets through a transaction that
	// has already committed or aborted.
	ErrTransactionDone = errors.New("template: transaction already ended")
)

// SendError is the error of every failed send. It carries the record that was
// not sent and the cause. Where the cause is a Kafka error code, errors.As
// finds it as a *kerr.Error (and as a sarama.KError); a serializer failure is
// a *serde.SerializationError; a cancelled or expired context unwraps to the
// context's error.
type SendError[K, V any] struct {
	Record    ProducerRecord[K, V]
	Err       error
	retriable bool
}

func newSendError[K, V any](rec ProducerRecord[K, V], cause error) *SendError[K, V] {
	cause = kafkaCause(cause)
	return &SendError[K, V]{Record: rec, Err: cause, retriable: retriable(cause)}
}

func (e *SendError[K, V]) Error() string {
	if e.Record.Partition != nil {
		return fmt.Sprintf("template: send to %s-%d: %v", e.Record.Topic, *e.Record.Partition, e.Err)
	}
	return fmt.Sprintf("template: send to %s: %v", e.Record.Topic, e.Err)
}

func (e *SendError[K, V]) Unwrap() error { return e.Err }

// Retriable reports whether sending the same record again may succeed: a
// retriable Kafka error, a broker that could not be reached, a full buffer, a
// delivery timeout. A serializer failure, a record too large, a cancelled
// context or a closed template are not retriable.
func (e *SendError[K, V]) Retriable() bool { return e.retriable }

// kafkaError pairs sarama's error for a Kafka error code with franz-go's, so
// both errors.Is(err, sarama.ErrX) and errors.As(err, **kerr.Error) work.
type kafkaError struct {
	code  *kerr.Error
	saram sarama.KError
}

func (e *kafkaError) Error() string   { return e.code.Error() }
func (e *kafkaError) Unwrap() []error { return []error{e.code, e.saram} }

// kafkaCause gives a sarama Kafka error code its kerr form.
func kafkaCause(err error) error {
	var ke sarama.KError
	if errors.As(err, &ke) {
		if _, ok := errors.AsType[*kafkaError](err); ok {
			return err
		}
		if code := kerr.TypedErrorForCode(int16(ke)); code != nil {
			k := &kafkaError{code: code, saram: ke}
			if err == error(ke) {
				return k
			}
			return fmt.Errorf("%w: %w", k, err)
		}
	}
	return err
}

func retriable(err error) bool {
	if ke, ok := errors.AsType[*kerr.Error](err); ok {
		return ke.Retriable
	}
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, ErrClosed), errors.Is(err, sarama.ErrShuttingDown), errors.Is(err, sarama.ErrClosedClient):
		return false
	case errors.Is(err, ErrBufferFull), errors.Is(err, ErrDeliveryTimeout),
		errors.Is(err, sarama.ErrOutOfBrokers), errors.Is(err, sarama.ErrNotConnected),
		errors.Is(err, sarama.ErrIncompleteResponse), errors.Is(err, breaker.ErrBreakerOpen):
		return true
	}
	var ne net.Error
	return errors.As(err, &ne)
}
