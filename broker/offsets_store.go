package broker

import (
	"context"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/kspring/kspring/broker/internal/batch"
	"github.com/kspring/kspring/broker/internal/group"
	"github.com/kspring/kspring/broker/internal/wire"
)

// offsetsStore keeps the group coordinator's records in __consumer_offsets,
// an ordinary compacted partitioned topic created on first use. It
// implements group.Store.
type offsetsStore struct {
	topics *topics
}

var _ group.TxnStore = (*offsetsStore)(nil)

// offsetsCommitTimeout is Kafka's offsets.commit.timeout.ms default.
const offsetsCommitTimeout = 5 * time.Second

// Append writes recs as one uncompressed batch and returns once the whole
// ISR has it (acks=all), as Kafka's coordinator appends.
func (s *offsetsStore) Append(ctx context.Context, partition int32, recs []group.Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	// No creation here: the coordinator appends only for groups of a
	// partition it loaded, which this broker leads, so the topic exists;
	// and the reconciler appends tombstones while it applies metadata,
	// where creating a topic (which waits for that same reconciler) could
	// not finish.
	p, ok := s.topics.parts.Get(wire.OffsetsTopic, partition)
	if !ok {
		return fmt.Errorf("__consumer_offsets-%d: %w", partition, kerr.UnknownTopicOrPartition)
	}
	now := time.Now()
	brs := make([]batch.Record, len(recs))
	for i, r := range recs {
		brs[i] = batch.Record{OffsetDelta: int32(i), Key: r.Key, Value: r.Value}
	}
	return appendToISR(ctx, p, wire.OffsetsTopic, partition, batch.Build(nil, 0, now.UnixMilli(), brs), now, offsetsCommitTimeout)
}

// AppendTxn writes recs as one transactional batch of producer producerID
// at epoch (TxnOffsetCommit), with Append's semantics.
func (s *offsetsStore) AppendTxn(ctx context.Context, partition int32, producerID int64, epoch int16, recs []group.Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p, ok := s.topics.parts.Get(wire.OffsetsTopic, partition)
	if !ok {
		return fmt.Errorf("__consumer_offsets-%d: %w", partition, kerr.UnknownTopicOrPartition)
	}
	now := time.Now()
	return appendToISR(ctx, p, wire.OffsetsTopic, partition, group.TxnBatch(producerID, epoch, recs, now.UnixMilli()), now, offsetsCommitTimeout)
}

// Load replays a partition of __consumer_offsets in offset order, up to
// its log end: the coordinator loads on becoming the partition's leader,
// and the leader's log is what every replica will hold.
func (s *offsetsStore) Load(ctx context.Context, partition int32, fn func(group.Record) error) error {
	p, ok := s.topics.parts.Get(wire.OffsetsTopic, partition)
	if !ok {
		return nil // not created yet: nothing stored
	}
	return replayPartition(ctx, p, wire.OffsetsTopic, partition, func(_ batch.Header, b []byte) error {
		return group.BatchRecords(b, fn)
	})
}
