package txn

import (
	"context"
	"time"
)

// Config holds the coordinator's settings under Kafka's broker property
// names. A zero field takes Kafka's default.
type Config struct {
	// Partitions is transaction.state.log.num.partitions (50): the
	// partition count of __transaction_state, which decides PartitionFor.
	// It must not change once transactions have been stored.
	Partitions int32
	// MaxTimeout is transaction.max.timeout.ms (15 min): InitProducerId
	// with a longer transaction timeout gets INVALID_TRANSACTION_TIMEOUT.
	MaxTimeout time.Duration
	// AbortTimedOutInterval is
	// transaction.abort.timed.out.transaction.cleanup.interval.ms (10 s):
	// how often transactions older than their timeout are looked for and
	// aborted.
	AbortTimedOutInterval time.Duration
	// IDExpiration is transactional.id.expiration.ms (7 days): a
	// transactional id with no transaction that has not been used this long
	// is removed.
	IDExpiration time.Duration
	// IDExpirationCheckInterval is
	// transaction.remove.expired.transaction.cleanup.interval.ms (1 hour).
	IDExpirationCheckInterval time.Duration
	// MarkerRetryBackoff is how long the coordinator waits before writing
	// again the markers a partition refused (a leader moving, a replica
	// set short of min.insync.replicas); Kafka's retry.backoff.ms (100 ms).
	MarkerRetryBackoff time.Duration
}

func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if c.Partitions <= 0 {
		c.Partitions = 50
	}
	def(&c.MaxTimeout, 15*time.Minute)
	def(&c.AbortTimedOutInterval, 10*time.Second)
	def(&c.IDExpiration, 7*24*time.Hour)
	def(&c.IDExpirationCheckInterval, time.Hour)
	def(&c.MarkerRetryBackoff, 100*time.Millisecond)
	return c
}

// Store persists the coordinator's records in __transaction_state. The
// broker implements it over its partitions.
//
// Append writes one record and returns once the in-sync replicas have it
// (acks=all, min.insync.replicas honoured); a nil value is a tombstone.
// Load replays a partition in offset order; the slices passed to fn are only
// valid during the call. Both honour ctx and are called concurrently for
// different ids, also of one partition. An error that wraps a *kerr.Error
// is mapped to the client's code as Kafka maps append errors.
type Store interface {
	Append(ctx context.Context, partition int32, key, value []byte) error
	Load(ctx context.Context, partition int32, fn func(key, value []byte) error) error
}

// Marker is a commit or abort marker the coordinator writes to the
// partitions of a transaction.
type Marker struct {
	ProducerID       int64
	ProducerEpoch    int16
	Commit           bool
	CoordinatorEpoch int32
}

// Markers writes markers to partitions at their leaders: the broker
// implements it with WriteTxnMarkers, in process where it leads, over the
// Kafka protocol elsewhere, as Kafka's TransactionMarkerChannelManager does.
//
// Write returns the partitions that did not take the marker, with why; the
// coordinator writes those again after MarkerRetryBackoff. A partition whose
// topic is gone counts as done (nothing is left to mark). It is called
// concurrently for different transactions and must honour ctx.
type Markers interface {
	Write(ctx context.Context, m Marker, partitions []TopicPartition) map[TopicPartition]error
}
