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

var _ group.Store = (*offsetsStore)(nil)

// Append writes recs as one uncompressed batch; on one broker the append is
// acknowledged by the whole ISR once it is in the log.
func (s *offsetsStore) Append(ctx context.Context, partition int32, recs []group.Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := s.topics.EnsureOffsetsTopic(ctx); err != nil {
		return fmt.Errorf("__consumer_offsets: %w", err)
	}
	p, ok := s.topics.parts.Get(wire.OffsetsTopic, partition)
	if !ok {
		return fmt.Errorf("__consumer_offsets-%d: %w", partition, kerr.UnknownTopicOrPartition)
	}
	now := time.Now()
	brs := make([]batch.Record, len(recs))
	for i, r := range recs {
		brs[i] = batch.Record{OffsetDelta: int32(i), Key: r.Key, Value: r.Value}
	}
	b := batch.Build(nil, 0, now.UnixMilli(), brs)
	if _, err := p.Append(b, now); err != nil {
		return fmt.Errorf("__consumer_offsets-%d: %w", partition, kerr.KafkaStorageError)
	}
	return nil
}

// Load replays a partition of __consumer_offsets in offset order.
func (s *offsetsStore) Load(ctx context.Context, partition int32, fn func(group.Record) error) error {
	p, ok := s.topics.parts.Get(wire.OffsetsTopic, partition)
	if !ok {
		return nil // not created yet: nothing stored
	}
	off := p.StartOffset()
	for off < p.HighWatermark() {
		if err := ctx.Err(); err != nil {
			return err
		}
		data, err := p.Read(off, 1<<20)
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
			if h.IsControl() {
				return nil
			}
			return batch.Records(b, func(r batch.Record) error {
				return fn(group.Record{Key: r.Key, Value: r.Value})
			})
		})
		if err != nil {
			return fmt.Errorf("__consumer_offsets-%d: %w", partition, err)
		}
	}
	return nil
}
