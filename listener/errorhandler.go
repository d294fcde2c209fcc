package listener

import (
	"context"
	"errors"
	"time"

	"go.uber.org/zap"

	"github.com/kspring/kspring/serde"
)

// Failure describes a failed delivery for an ErrorHandler.
type Failure struct {
	// Records are the records the failure is about: the record of a record
	// listener; for a batch listener the failed record when the handler
	// returned BatchFailed, else the records of the batch that were not
	// processed. They are in offset order and from one partition.
	Records []*RawRecord
	// Err is the handler's error (a *serde.DeserializationError when the
	// value did not deserialize, a *PanicError when the handler panicked).
	Err error
	// Attempt counts the deliveries of Records so far, this one included.
	Attempt int
}

// ErrorHandler decides what happens after a failed delivery, as Spring's
// CommonErrorHandler. HandleError returns retry=true with the time to wait
// before the records are delivered again, or retry=false when it is done
// with them (recovered, skipped or logged): they then count as processed and
// their offsets are committed.
//
// The container calls HandleError on the goroutine that delivered the
// records, and waits its back-off without holding the member: a rebalance or
// a stop during the wait abandons the records uncommitted, to be delivered
// again. Implementations must be safe for concurrent use.
type ErrorHandler interface {
	HandleError(ctx context.Context, f *Failure) (retry bool, after time.Duration)
}

// ErrorHandlerFunc adapts a function to an ErrorHandler.
type ErrorHandlerFunc func(ctx context.Context, f *Failure) (retry bool, after time.Duration)

// HandleError calls fn.
func (fn ErrorHandlerFunc) HandleError(ctx context.Context, f *Failure) (bool, time.Duration) {
	return fn(ctx, f)
}

// Retryable reports whether delivering a record again might succeed after
// err: false for a value that did not deserialize (*serde.DeserializationError)
// and for errors marked with NotRetryable.
func Retryable(err error) bool {
	var de *serde.DeserializationError
	return !errors.As(err, &de) && !IsNotRetryable(err)
}

// DefaultErrorHandler is Spring's DefaultErrorHandler: it delivers a failed
// record again after the back-off, up to its bound, then hands it to the
// recoverer. Not-retryable errors (see Retryable, NotRetryableErrors) go to
// the recoverer at once. If the recoverer fails, the record is delivered
// again after RecoveryRetryInterval and recovered again when that fails too.
//
// Build one with NewDefaultErrorHandler; it is safe for concurrent use.
type DefaultErrorHandler struct {
	backOff      BackOff
	recoverer    Recoverer
	notRetryable []error
	classify     func(error) bool
	retryRecover time.Duration
	log          *zap.Logger
}

// ErrorHandlerOption configures a DefaultErrorHandler.
type ErrorHandlerOption func(*DefaultErrorHandler)

// WithBackOff sets the back-off. Default FixedBackOff{0, 9}: ten deliveries.
func WithBackOff(b BackOff) ErrorHandlerOption {
	return func(h *DefaultErrorHandler) { h.backOff = b }
}

// WithRecoverer sets what happens to a record that will not be delivered
// again. Default: LoggingRecoverer.
func WithRecoverer(r Recoverer) ErrorHandlerOption {
	return func(h *DefaultErrorHandler) { h.recoverer = r }
}

// NotRetryableErrors adds errors (matched with errors.Is) that go to the
// recoverer without retries, as Spring's addNotRetryableExceptions.
func NotRetryableErrors(errs ...error) ErrorHandlerOption {
	return func(h *DefaultErrorHandler) { h.notRetryable = append(h.notRetryable, errs...) }
}

// RetryableIf replaces the classification of errors: retry returns whether
// an error may be retried. Default: Retryable.
func RetryableIf(retry func(error) bool) ErrorHandlerOption {
	return func(h *DefaultErrorHandler) { h.classify = retry }
}

// RecoveryRetryInterval sets the wait before a record whose recovery failed
// is delivered again. Default 1s.
func RecoveryRetryInterval(d time.Duration) ErrorHandlerOption {
	return func(h *DefaultErrorHandler) { h.retryRecover = d }
}

// ErrorHandlerLogger sets the logger. Default zap.L().
func ErrorHandlerLogger(l *zap.Logger) ErrorHandlerOption {
	return func(h *DefaultErrorHandler) { h.log = l }
}

// NewDefaultErrorHandler returns a DefaultErrorHandler.
func NewDefaultErrorHandler(opts ...ErrorHandlerOption) *DefaultErrorHandler {
	h := &DefaultErrorHandler{
		backOff:      FixedBackOff{Interval: 0, MaxRetries: 9},
		classify:     Retryable,
		retryRecover: time.Second,
	}
	for _, o := range opts {
		o(h)
	}
	if h.log == nil {
		h.log = zap.L()
	}
	if h.recoverer == nil {
		h.recoverer = LoggingRecoverer(h.log)
	}
	return h
}

// HandleError implements ErrorHandler.
func (h *DefaultErrorHandler) HandleError(ctx context.Context, f *Failure) (bool, time.Duration) {
	if h.retryable(f.Err) {
		if d, ok := h.backOff.NextBackOff(f.Attempt); ok {
			return true, d
		}
	}
	for i, rec := range f.Records {
		if err := h.recoverer.Recover(ctx, rec, f.Err); err != nil {
			h.log.Error("kafka listener: recovery failed; the record will be delivered again",
				zap.String("topic", rec.Topic), zap.Int32("partition", rec.Partition),
				zap.Int64("offset", rec.Offset), zap.Error(err))
			// The records before i are recovered; deliver the rest again.
			f.Records = f.Records[i:]
			return true, h.retryRecover
		}
	}
	return false, 0
}

func (h *DefaultErrorHandler) retryable(err error) bool {
	for _, target := range h.notRetryable {
		if errors.Is(err, target) {
			return false
		}
	}
	return h.classify(err)
}
