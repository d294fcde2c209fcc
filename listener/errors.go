package listener

import (
	"errors"
	"fmt"
)

// Sentinel errors; test them with errors.Is.
var (
	// ErrConfig is wrapped by every error about an invalid Config, endpoint
	// or option. Register and NewRegistry return it with the listener id and
	// the setting that is wrong.
	ErrConfig = errors.New("listener: invalid config")
	// ErrDuplicateID: an endpoint with this id is already registered.
	ErrDuplicateID = errors.New("listener: duplicate listener id")
	// ErrNoTopics: an endpoint has neither topics, a topic pattern nor
	// explicit partitions.
	ErrNoTopics = errors.New("listener: no topics")
	// ErrUnresolvedPlaceholder: a ${property} placeholder names a property
	// that the resolver does not know, and has no default.
	ErrUnresolvedPlaceholder = errors.New("listener: unresolved placeholder")
	// ErrUnknownListener: no endpoint is registered with this id.
	ErrUnknownListener = errors.New("listener: unknown listener id")
	// ErrNotRunning: the container is not running.
	ErrNotRunning = errors.New("listener: container not running")
	// ErrNotAssigned: a seek names a partition the container does not hold.
	ErrNotAssigned = errors.New("listener: partition not assigned")
	// ErrMissingTopics: missing-topics-fatal is set and a topic does not
	// exist at start.
	ErrMissingTopics = errors.New("listener: missing topics")
	// ErrHandlerPanic is wrapped by the error of a handler that panicked.
	ErrHandlerPanic = errors.New("listener: handler panicked")
	// ErrNoReplyTopic: a reply handler returned a value, but the endpoint has
	// no ReplyTo topic and the request no kafka_replyTopic header.
	ErrNoReplyTopic = errors.New("listener: no reply topic")
	// ErrReplyTimeout: a request-reply exchange got no reply in time.
	ErrReplyTimeout = errors.New("listener: reply timed out")
	// ErrClosed: the replying template was closed.
	ErrClosed = errors.New("listener: closed")
)

// notRetryable marks an error that retrying cannot fix.
type notRetryable struct{ err error }

func (e *notRetryable) Error() string { return e.err.Error() }
func (e *notRetryable) Unwrap() error { return e.err }

// NotRetryable wraps err so that error handlers do not deliver the record
// again: the DefaultErrorHandler goes straight to its recoverer and retry
// topics straight to the dead-letter topic. errors.Is and errors.As see
// through the wrapper. NotRetryable(nil) is nil.
func NotRetryable(err error) error {
	if err == nil {
		return nil
	}
	return &notRetryable{err: err}
}

// IsNotRetryable reports whether err, or an error it wraps, was marked with
// NotRetryable.
func IsNotRetryable(err error) bool {
	var nr *notRetryable
	return errors.As(err, &nr)
}

// BatchFailedError is returned by a batch handler to say which record of the
// batch failed, as Spring's BatchListenerFailedException. The records before
// Index count as processed (their offsets are committed); the error handler
// deals with the record at Index; the records after it are delivered again
// in a later batch.
type BatchFailedError struct {
	Index int
	Err   error
}

// BatchFailed returns a *BatchFailedError for the record at index of the
// batch the handler got.
func BatchFailed(index int, err error) error {
	return &BatchFailedError{Index: index, Err: err}
}

func (e *BatchFailedError) Error() string {
	return fmt.Sprintf("listener: batch record %d failed: %v", e.Index, e.Err)
}

func (e *BatchFailedError) Unwrap() error { return e.Err }

// PanicError is the error of a handler (or interceptor) that panicked: the
// panic value and the stack of the goroutine that panicked. It wraps
// ErrHandlerPanic, and the value when it is an error.
type PanicError struct {
	Value any
	Stack []byte
}

func (e *PanicError) Error() string { return fmt.Sprintf("%v: %v", ErrHandlerPanic, e.Value) }

func (e *PanicError) Unwrap() []error {
	if err, ok := e.Value.(error); ok {
		return []error{ErrHandlerPanic, err}
	}
	return []error{ErrHandlerPanic}
}
