package txn

import "github.com/twmb/franz-go/pkg/kmsg"

// The states of a transactional id, Kafka's TransactionState, with the
// values __transaction_state stores.
const (
	TxnEmpty             = kmsg.TransactionStateEmpty
	TxnOngoing           = kmsg.TransactionStateOngoing
	TxnPrepareCommit     = kmsg.TransactionStatePrepareCommit
	TxnPrepareAbort      = kmsg.TransactionStatePrepareAbort
	TxnCompleteCommit    = kmsg.TransactionStateCompleteCommit
	TxnCompleteAbort     = kmsg.TransactionStateCompleteAbort
	TxnDead              = kmsg.TransactionStateDead
	TxnPrepareEpochFence = kmsg.TransactionStatePrepareEpochFence
)

// maxEpoch: an epoch at or past it is exhausted, and the next bump takes a
// new producer id (Kafka's Short.MaxValue - 1).
const maxEpoch = 1<<15 - 2

// fenced is PRODUCER_FENCED, or INVALID_PRODUCER_EPOCH for request versions
// older than since, which predate PRODUCER_FENCED (KIP-588).
func fenced(version, since int16) int16 {
	if version < since {
		return 47 // INVALID_PRODUCER_EPOCH
	}
	return 90 // PRODUCER_FENCED
}
