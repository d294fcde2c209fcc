package log

import (
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
)

// Sentinel errors. Those with a Kafka error code wrap the kerr value, so
// errors.As(err, new(*kerr.Error)) finds the code to answer with.
var (
	// ErrOffsetOutOfRange: an offset below the log start or above the log end.
	ErrOffsetOutOfRange = fmt.Errorf("offset out of range: %w", kerr.OffsetOutOfRange)
	// ErrOutOfOrderSequence: an idempotent batch whose sequence does not
	// follow the producer's last one.
	ErrOutOfOrderSequence = fmt.Errorf("out of order sequence: %w", kerr.OutOfOrderSequenceNumber)
	// ErrInvalidProducerEpoch: an idempotent batch from an older producer
	// epoch than the log has seen (a fenced producer).
	ErrInvalidProducerEpoch = fmt.Errorf("invalid producer epoch: %w", kerr.InvalidProducerEpoch)
	// ErrInvalidTxnState: a transactional producer's non-transactional
	// batch while its transaction is open.
	ErrInvalidTxnState = fmt.Errorf("invalid transaction state: %w", kerr.InvalidTxnState)
	// ErrOffsetMismatch: replicated batches that do not start at the log
	// end, or whose offsets do not increase from batch to batch.
	ErrOffsetMismatch = errors.New("offset mismatch")
	// ErrClosed: the log was closed or deleted.
	ErrClosed = errors.New("log closed")
)
