package broker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/kspring/kspring/broker/internal/batch"
	"github.com/kspring/kspring/broker/internal/group"
	"github.com/kspring/kspring/broker/internal/log"
	"github.com/kspring/kspring/broker/internal/replica"
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
	return s.appendBatch(ctx, p, partition, batch.Build(nil, 0, now.UnixMilli(), brs), now)
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
	return s.appendBatch(ctx, p, partition, group.TxnBatch(producerID, epoch, recs, now.UnixMilli()), now)
}

// appendBatch appends b to __consumer_offsets partition p and waits for
// the ISR, mapping failures to the codes the coordinator expects.
func (s *offsetsStore) appendBatch(ctx context.Context, p *replica.Partition, partition int32, b []byte, now time.Time) error {
	res, err := p.Append(b, -1, now)
	if err == nil {
		// Kafka's offsets.commit.timeout.ms: an ISR that cannot take
		// the records (a dead follower not yet dropped) answers in time.
		wctx, cancel := context.WithTimeout(ctx, offsetsCommitTimeout)
		err = p.WaitReplicated(wctx, res.LastOffset+1)
		cancel()
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, replica.ErrNotLeader), errors.Is(err, replica.ErrDeleted):
		return fmt.Errorf("__consumer_offsets-%d: %w", partition, kerr.NotLeaderForPartition)
	case errors.Is(err, replica.ErrNotEnoughReplicas):
		return fmt.Errorf("__consumer_offsets-%d: %w", partition, kerr.NotEnoughReplicas)
	case errors.Is(err, replica.ErrNotEnoughReplicasAfterAppend):
		return fmt.Errorf("__consumer_offsets-%d: %w", partition, kerr.NotEnoughReplicasAfterAppend)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return fmt.Errorf("__consumer_offsets-%d: %w", partition, kerr.RequestTimedOut)
	case errors.Is(err, log.ErrInvalidProducerEpoch):
		return fmt.Errorf("__consumer_offsets-%d: %w", partition, kerr.InvalidProducerEpoch)
	case errors.Is(err, log.ErrInvalidTxnState):
		return fmt.Errorf("__consumer_offsets-%d: %w", partition, kerr.InvalidTxnState)
	}
	return fmt.Errorf("__consumer_offsets-%d: %w: %v", partition, kerr.KafkaStorageError, err)
}

// Load replays a partition of __consumer_offsets in offset order, up to
// its log end: the coordinator loads on becoming the partition's leader,
// and the leader's log is what every replica will hold.
func (s *offsetsStore) Load(ctx context.Context, partition int32, fn func(group.Record) error) error {
	p, ok := s.topics.parts.Get(wire.OffsetsTopic, partition)
	if !ok {
		return nil // not created yet: nothing stored
	}
	off := p.StartOffset()
	for off < p.EndOffset() {
		if err := ctx.Err(); err != nil {
			return err
		}
		data, err := p.Log().Read(off, 1<<20, p.EndOffset())
		if err != nil {
			return fmt.Errorf("__consumer_offsets-%d at %d: %w", partition, off, err)
		}
		if len(data) == 0 {
			break
		}
		err = batch.Split(data, func(b []byte) error {
			h, err := batch.ParseHeader(b)
			if err != nil {
				return err
			}
			off = h.LastOffset() + 1
			return group.BatchRecords(b, fn)
		})
		if err != nil {
			return fmt.Errorf("__consumer_offsets-%d: %w", partition, err)
		}
	}
	return nil
}
