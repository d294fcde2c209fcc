package broker

import (
	"context"
	"maps"
	"net"
	"strconv"
	"time"

	"go.uber.org/zap"

	"github.com/kspring/kspring/broker/internal/cluster"
	"github.com/kspring/kspring/broker/internal/replica"
	"github.com/kspring/kspring/broker/internal/wire"
)

// reconciler makes this broker's partitions follow the metadata, as a KRaft
// broker's metadata publisher does: it opens the partitions this broker
// holds a replica of, makes it their leader or a follower at the epoch the
// metadata says, applies topic configs, deletes what is gone, and loads or
// unloads the group coordinator's __consumer_offsets partitions and the
// transaction coordinator's __transaction_state partitions with their
// leadership.
type reconciler struct {
	b *Broker

	mu      chan struct{} // a one-slot lock: reconcile runs one at a time
	applied uint64        // the metadata offset last applied
	configs map[string]map[string]string
	ids     map[string][16]byte // the id of each topic last applied
	leads   map[int32]bool      // __consumer_offsets partitions whose groups are loaded
}

func newReconciler(b *Broker) *reconciler {
	return &reconciler{b: b, mu: make(chan struct{}, 1), configs: map[string]map[string]string{}, ids: map[string][16]byte{}, leads: map[int32]bool{}}
}

// run applies every metadata change until ctx ends.
func (r *reconciler) run(ctx context.Context) {
	for {
		changed := r.b.meta.Changed()
		r.sync()
		select {
		case <-ctx.Done():
			return
		case <-changed:
		}
	}
}

// sync applies the current metadata now, if it has not been yet.
func (r *reconciler) sync() {
	r.mu <- struct{}{}
	defer func() { <-r.mu }()
	st := r.b.meta.State()
	if st.Offset == r.applied && r.applied != 0 {
		return
	}
	r.apply(st)
	r.applied = st.Offset
}

func (r *reconciler) apply(st *cluster.State) {
	b, self := r.b, r.b.cfg.NodeID
	// Topics that are gone, or gone and created again under their name,
	// go first, so that a topic created again starts with new logs.
	deleted := map[string]bool{}
	for name, id := range r.ids {
		if t, ok := st.Topics[name]; !ok || t.ID != id {
			deleted[name] = true
		}
	}
	for _, p := range b.parts.All() {
		if _, ok := st.Topics[p.Topic]; ok && !deleted[p.Topic] {
			continue
		}
		r.unlead(p.Topic, p.Index)
		delete(r.configs, p.Topic)
		if err := b.parts.DeleteTopic(p.Topic); err != nil {
			b.logger.Warn("deleting partitions of a deleted topic failed", zap.String("topic", p.Topic), zap.Error(err))
		}
	}
	clear(r.ids)
	for name, t := range st.Topics {
		r.ids[name] = t.ID
	}
	for name, t := range st.Topics {
		if !maps.Equal(r.configs[name], t.Configs) || r.configs[name] == nil {
			if s, err := b.topics.settings(t.Configs); err == nil {
				for _, p := range b.parts.Partitions(name) {
					p.SetSettings(s)
				}
				r.configs[name] = maps.Clone(t.Configs)
				if r.configs[name] == nil {
					r.configs[name] = map[string]string{}
				}
			} else {
				b.logger.Error("topic configs cannot be applied", zap.String("topic", name), zap.Error(err))
			}
		}
		for i, ps := range t.Assignment {
			idx := int32(i)
			if !ps.HasReplica(self) {
				if _, ok := b.parts.Get(name, idx); ok {
					b.logger.Info("replica moved away: deleting it", zap.String("topic", name), zap.Int32("partition", idx))
					r.unlead(name, idx)
					if err := b.parts.DeletePartition(name, idx); err != nil {
						b.logger.Warn("deleting a moved replica failed", zap.String("topic", name), zap.Int32("partition", idx), zap.Error(err))
					}
				}
				continue
			}
			p, ok := b.parts.Get(name, idx)
			if !ok {
				s, err := b.topics.settings(t.Configs)
				if err == nil {
					p, err = b.parts.Open(name, idx, t.ID, s)
				}
				if err != nil {
					b.logger.Error("opening partition failed", zap.String("topic", name), zap.Int32("partition", idx), zap.Error(err))
					continue
				}
			}
			b.parts.SetState(p, replica.State{
				Leader: ps.Leader, LeaderEpoch: ps.LeaderEpoch, PartitionEpoch: ps.PartitionEpoch,
				Replicas: ps.Replicas, ISR: ps.ISR,
			})
			switch name {
			case wire.OffsetsTopic:
				if ps.Leader == self {
					r.lead(idx)
				} else {
					r.unlead(name, idx)
				}
			case wire.TransactionTopic:
				if ps.Leader == self {
					b.txns.Load(idx, ps.LeaderEpoch)
				} else {
					b.txns.Unload(idx, -1)
				}
			}
		}
	}
	if len(deleted) > 0 {
		r.removeOffsets(func(topic string, _ int32) bool { return deleted[topic] })
	}
}

// removeOffsets removes the committed offsets of deleted partitions from
// the groups this broker coordinates, with tombstones, as Kafka's group
// coordinator does when partitions are deleted (onPartitionsDeleted). A
// failure to write the tombstones is logged: the offsets have left memory,
// and the next load removes them again.
func (r *reconciler) removeOffsets(deleted func(topic string, partition int32) bool) {
	ctx, cancel := context.WithTimeout(r.b.runCtx, 30*time.Second)
	defer cancel()
	if err := r.b.groups.PartitionsDeleted(ctx, deleted); err != nil && ctx.Err() == nil {
		r.b.logger.Warn("could not store the removal of deleted partitions' committed offsets", zap.Error(err))
	}
}

// removeOrphanOffsets removes, once a __consumer_offsets partition is
// loaded, the committed offsets of partitions the metadata does not have:
// a topic deleted while this broker was down or did not coordinate the
// groups, or tombstones lost to a crash. Commits for partitions that do not
// exist are refused, so nothing else is removed.
func (r *reconciler) removeOrphanOffsets() {
	st := r.b.meta.State()
	r.removeOffsets(func(topic string, partition int32) bool {
		t, ok := st.Topics[topic]
		return !ok || partition >= t.Partitions
	})
}

// lead loads the groups of __consumer_offsets partition idx, which this
// broker now leads. An empty partition is loaded at once; otherwise the
// load runs in the background, and requests for its groups get
// COORDINATOR_LOAD_IN_PROGRESS meanwhile.
func (r *reconciler) lead(idx int32) {
	if r.leads[idx] {
		return
	}
	r.leads[idx] = true
	g := r.b.groups
	if p, ok := r.b.parts.Get(wire.OffsetsTopic, idx); ok && p.EndOffset() == p.StartOffset() {
		if err := g.LoadPartition(r.b.runCtx, idx); err != nil && r.b.runCtx.Err() == nil {
			r.b.logger.Error("loading groups failed", zap.Int32("partition", idx), zap.Error(err))
		}
		return
	}
	g.BeginLoad(idx)
	r.b.bg.Go(func() {
		ctx, cancel := context.WithTimeout(r.b.runCtx, time.Minute)
		defer cancel()
		if err := g.LoadPartition(ctx, idx); err != nil {
			if ctx.Err() == nil {
				r.b.logger.Error("loading groups failed", zap.Int32("partition", idx), zap.Error(err))
			}
			return
		}
		r.removeOrphanOffsets()
	})
}

func (r *reconciler) unlead(topic string, idx int32) {
	if topic == wire.TransactionTopic {
		r.b.txns.Unload(idx, -1)
		return
	}
	if topic != wire.OffsetsTopic || !r.leads[idx] {
		return
	}
	delete(r.leads, idx)
	r.b.groups.UnloadPartition(idx)
}

// brokerAddr returns a registered broker's host:port.
func (b *Broker) brokerAddr(id int32) (string, bool) {
	br, ok := b.meta.State().Brokers[id]
	if !ok {
		return "", false
	}
	return net.JoinHostPort(br.Host, strconv.Itoa(int(br.Port))), true
}
