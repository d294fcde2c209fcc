package group

// Deleted partitions, Kafka's GroupCoordinator.onPartitionsDeleted: when a
// topic is deleted, every group loses its committed offsets of the topic's
// partitions, with tombstones in __consumer_offsets, and an empty group
// left without offsets is removed. A topic created again under the same
// name then starts with nothing committed, so consumers apply
// auto.offset.reset instead of resuming at the old topic's offsets.

import (
	"context"
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"
	"go.uber.org/zap"
)

// PartitionsDeleted removes from every group of the loaded partitions of
// __consumer_offsets the committed offsets of the partitions for which
// deleted reports true, as Kafka's GroupCoordinator.onPartitionsDeleted
// does: the offsets are tombstoned, and an empty group left without
// offsets is removed (with a tombstone of its metadata if it had a
// generation). Call it once the partitions are gone from the cluster
// metadata, so that no commit for them is accepted afterwards; deleted
// may be called with any group's lock held, and must not block.
//
// The offsets leave memory even when their tombstones cannot be appended,
// as in Kafka: a topic created again at once must not resume at the old
// offsets. PartitionsDeleted then returns the append errors (one per
// group, joined), and the offsets come back if the broker restarts before
// anything else removes them; the broker calls PartitionsDeleted again
// after a restart for every partition missing from its metadata.
func (c *Coordinator) PartitionsDeleted(ctx context.Context, deleted func(topic string, partition int32) bool) error {
	var (
		errs           []error
		groups, offset int
	)
	for _, s := range c.shards {
		s.mu.RLock()
		var gs []*group
		if s.state == shardActive {
			gs = make([]*group, 0, len(s.groups))
			for _, g := range s.groups {
				gs = append(gs, g)
			}
		}
		s.mu.RUnlock()
		for _, g := range gs {
			if !s.enter() {
				return errors.Join(append(errs, ErrClosed)...)
			}
			n, removed, err := c.removePartitions(ctx, g, deleted)
			s.exit()
			offset += n
			if removed {
				groups++
			}
			if err != nil {
				errs = append(errs, err)
			}
		}
	}
	if offset > 0 || groups > 0 {
		c.logger.Info("removed offsets of deleted partitions", zap.Int("offsets", offset), zap.Int("groups_removed", groups))
	}
	return errors.Join(errs...)
}

// removePartitions removes g's offsets of the deleted partitions, and g
// itself if that leaves it empty without offsets, as Kafka's
// cleanupGroupMetadata does. It returns how many offsets it removed and
// whether it removed the group.
func (c *Coordinator) removePartitions(ctx context.Context, g *group, deleted func(string, int32) bool) (int, bool, error) {
	g.wmu.Lock()
	defer g.wmu.Unlock()
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.state == stateDead {
		return 0, false, nil
	}
	var gone []topicPartition
	for tp := range g.offsets {
		if deleted(tp.topic, tp.partition) {
			gone = append(gone, tp)
		}
	}
	dies := g.state == stateEmpty && len(gone) == len(g.offsets) && len(g.pending) == 0
	if len(gone) == 0 && !dies {
		return 0, false, nil
	}
	recs := make([]Record, 0, len(gone)+1)
	for _, tp := range gone {
		recs = append(recs, Record{Key: offsetCommitKey(g.id, tp.topic, tp.partition)})
	}
	if dies && g.generation > 0 {
		recs = append(recs, Record{Key: groupMetadataKey(g.id)})
	}
	var err error
	if len(recs) > 0 {
		g.mu.Unlock()
		err = c.append(ctx, g, recs)
		g.mu.Lock()
		if g.state == stateDead { // unloaded meanwhile
			return 0, false, err
		}
	}
	for _, tp := range gone {
		delete(g.offsets, tp)
	}
	if dies {
		c.unload(g, kerr.CoordinatorNotAvailable.Code)
		c.drop(g)
	}
	return len(gone), dies, err
}
