package group

import (
	"context"
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"
)

// Record is one record of __consumer_offsets: a key and a value in Kafka's
// own schemas (kmsg.OffsetCommitKey/Value, kmsg.GroupMetadataKey/Value). A
// nil Value is a tombstone.
//
// Load also reports records of transactions: Transactional for a record of
// producer ProducerID's transaction (a TxnOffsetCommit), and Control for
// that producer's transaction marker (Commit or abort; Key and Value are
// then the control record's). Append's records carry none of these.
type Record struct {
	Key, Value []byte

	ProducerID    int64
	Transactional bool
	Control       bool
	Commit        bool
}

// TxnStore is a Store that can also append a producer's transactional
// records, as TxnOffsetCommit does: one transactional batch with the
// producer's id and epoch and no sequence (Kafka's coordinator writes), so
// that the partition's log tracks the transaction until its marker.
// AppendTxn has Append's semantics; an older producer epoch than the
// partition's fails with a *kerr.Error (INVALID_PRODUCER_EPOCH). Without
// it, TxnOffsetCommit answers COORDINATOR_NOT_AVAILABLE.
type TxnStore interface {
	Store
	AppendTxn(ctx context.Context, partition int32, producerID int64, producerEpoch int16, recs []Record) error
}

// Store persists the coordinator's records in __consumer_offsets. The broker
// implements it over its partitions.
//
// Append returns once the records are durably appended (acks=all semantics),
// all of them or none; the coordinator never modifies a Record after passing
// it. Load replays a partition in
// offset order; the Record passed to fn is only valid during the call. Both
// must honour ctx. One Append carries the records of one group and of one
// request; appends of different groups may run concurrently, also to the
// same partition. A Store error that wraps a *kerr.Error is mapped to the
// client's error code the way Kafka maps append errors; any other error is
// reported as COORDINATOR_NOT_AVAILABLE.
type Store interface {
	Append(ctx context.Context, partition int32, recs []Record) error
	Load(ctx context.Context, partition int32, fn func(Record) error) error
}

// commitError maps a failed offset-commit append to the code the client
// gets, as Kafka's GroupMetadataManager.storeOffsets does.
func commitError(err error) int16 {
	var ke *kerr.Error
	switch {
	case errors.As(err, &ke):
		switch ke {
		case kerr.UnknownTopicOrPartition, kerr.NotEnoughReplicas,
			kerr.NotEnoughReplicasAfterAppend, kerr.RequestTimedOut:
			return kerr.CoordinatorNotAvailable.Code
		case kerr.NotLeaderForPartition, kerr.KafkaStorageError:
			return kerr.NotCoordinator.Code
		case kerr.MessageTooLarge, kerr.RecordListTooLarge, kerr.InvalidFetchSize:
			return kerr.InvalidCommitOffsetSize.Code
		}
		return ke.Code
	default:
		return kerr.CoordinatorNotAvailable.Code
	}
}

// groupStoreError maps a failed group-metadata append to the code the client
// gets, as Kafka's GroupMetadataManager.storeGroup does.
func groupStoreError(err error) int16 {
	var ke *kerr.Error
	switch {
	case errors.As(err, &ke):
		switch ke {
		case kerr.UnknownTopicOrPartition, kerr.NotEnoughReplicas,
			kerr.NotEnoughReplicasAfterAppend:
			return kerr.CoordinatorNotAvailable.Code
		case kerr.NotLeaderForPartition, kerr.KafkaStorageError:
			return kerr.NotCoordinator.Code
		case kerr.RequestTimedOut:
			return kerr.RebalanceInProgress.Code
		case kerr.MessageTooLarge, kerr.RecordListTooLarge, kerr.InvalidFetchSize:
			return kerr.UnknownServerError.Code
		}
		return ke.Code
	case errors.Is(err, context.DeadlineExceeded):
		return kerr.RebalanceInProgress.Code
	default:
		return kerr.CoordinatorNotAvailable.Code
	}
}
