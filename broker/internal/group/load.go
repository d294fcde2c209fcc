package group

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"
)

// loaded is what replaying one group's records yields.
type loaded struct {
	meta    *kmsg.GroupMetadataValue // nil: none, or tombstoned
	offsets map[topicPartition]*offset
	pending map[int64]map[topicPartition]*offset // transactional, by producer id; nil if none
}

// loadPartition replays __consumer_offsets partition p and installs its
// groups: a group with members comes back Stable in its generation (its
// members keep their assignments and must heartbeat within their session
// timeout), one without is Empty, and offsets without group metadata form
// an offsets-only group. Records that cannot be read are logged and
// skipped, so one bad record cannot keep a coordinator from starting.
func (c *Coordinator) loadPartition(ctx context.Context, p int32) error {
	start := time.Now()
	groups := make(map[string]*loaded)
	get := func(id string) *loaded {
		l := groups[id]
		if l == nil {
			l = &loaded{offsets: make(map[topicPartition]*offset)}
			groups[id] = l
		}
		return l
	}
	var records, skipped int
	skip := func(what string, err error) {
		skipped++
		c.logger.Error("skipping unreadable __consumer_offsets record", zap.Int32("partition", p),
			zap.String("record", what), zap.Error(err))
	}
	err := c.store.Load(ctx, p, func(r Record) error {
		records++
		if r.Control {
			// A marker decides its producer's transactional offsets in
			// every group of the partition.
			for _, l := range groups {
				if pend := l.pending[r.ProducerID]; pend != nil {
					if r.Commit {
						maps.Copy(l.offsets, pend)
					}
					delete(l.pending, r.ProducerID)
				}
			}
			return nil
		}
		kind, err := kindOf(r.Key)
		if err != nil {
			skip("key", err)
			return nil
		}
		switch kind {
		case kindOffset:
			var k kmsg.OffsetCommitKey
			if err := k.ReadFrom(r.Key); err != nil {
				skip("offset commit key", err)
				return nil
			}
			l, tp := get(k.Group), topicPartition{k.Topic, k.Partition}
			if r.Value == nil {
				delete(l.offsets, tp)
				return nil
			}
			var v kmsg.OffsetCommitValue
			if err := v.ReadFrom(r.Value); err != nil {
				skip("offset commit value", err)
				return nil
			}
			o := &offset{offset: v.Offset, leaderEpoch: -1, metadata: v.Metadata, commitMillis: v.CommitTimestamp}
			if v.Version >= 3 {
				o.leaderEpoch = v.LeaderEpoch
			}
			if v.Version == 1 {
				o.expireMillis = v.ExpireTimestamp
			}
			if r.Transactional {
				if l.pending == nil {
					l.pending = make(map[int64]map[topicPartition]*offset)
				}
				if l.pending[r.ProducerID] == nil {
					l.pending[r.ProducerID] = make(map[topicPartition]*offset)
				}
				l.pending[r.ProducerID][tp] = o
				return nil
			}
			l.offsets[tp] = o
		case kindGroup:
			var k kmsg.GroupMetadataKey
			if err := k.ReadFrom(r.Key); err != nil {
				skip("group metadata key", err)
				return nil
			}
			l := get(k.Group)
			if r.Value == nil {
				l.meta = nil
				return nil
			}
			v := kmsg.NewGroupMetadataValue()
			if err := v.ReadFrom(r.Value); err != nil {
				skip("group metadata value", err)
				return nil
			}
			for i := range v.Members {
				v.Members[i].Subscription = bytes.Clone(v.Members[i].Subscription)
				v.Members[i].Assignment = bytes.Clone(v.Members[i].Assignment)
			}
			l.meta = &v
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("group coordinator: load __consumer_offsets-%d: %w", p, err)
	}

	now := c.now()
	built := make(map[string]*group, len(groups))
	for id, l := range groups {
		if l.meta == nil && len(l.offsets) == 0 && len(l.pending) == 0 {
			continue
		}
		if q := c.PartitionFor(id); q != p {
			c.logger.Warn("group found in the wrong __consumer_offsets partition (was offsets.topic.num.partitions changed?)",
				zap.String("group", id), zap.Int32("partition", p), zap.Int32("expected", q))
		}
		g := newGroup(id, p, now)
		g.offsets = l.offsets
		if len(l.pending) > 0 {
			g.txnOffsets = l.pending // transactions still open: their markers come later
		}
		if l.meta != nil {
			c.restore(g, l.meta)
		}
		built[id] = g
	}

	s := c.shards[p]
	s.mu.Lock()
	if s.state != shardLoading {
		// Closed or unloaded while loading.
		s.mu.Unlock()
		return nil
	}
	s.groups = built
	s.state = shardActive
	late := s.late
	s.late = nil
	// From here requests add groups to s.groups: walk a copy.
	loadedGroups := make([]*group, 0, len(built))
	for _, g := range built {
		loadedGroups = append(loadedGroups, g)
	}
	s.mu.Unlock()
	// Markers written while loading; those the replay read already
	// find nothing pending.
	applyTxnOutcomes(loadedGroups, late)
	// Sessions start now: members that do not heartbeat in time (they
	// may be gone with the old broker) are removed as usual.
	for _, g := range loadedGroups {
		g.mu.Lock()
		if g.state != stateDead {
			for _, m := range g.members {
				c.touch(g, m, m.sessionTimeout)
			}
		}
		g.mu.Unlock()
	}
	c.logger.Debug("loaded __consumer_offsets partition", zap.Int32("partition", p), zap.Int("groups", len(loadedGroups)),
		zap.Int("records", records), zap.Int("skipped", skipped), zap.Duration("took", time.Since(start)))
	return nil
}

// restore applies stored group metadata to a fresh group.
func (c *Coordinator) restore(g *group, v *kmsg.GroupMetadataValue) {
	g.protocolType = v.ProtocolType
	g.generation = v.Generation
	if v.Protocol != nil {
		g.protocol = *v.Protocol
	}
	if v.CurrentStateTimestamp >= 0 {
		g.stateTime = time.UnixMilli(v.CurrentStateTimestamp)
	} else {
		g.stateTime = time.Time{} // unknown: offsets expire by commit time
	}
	for _, vm := range v.Members {
		m := &member{
			id:               vm.MemberID,
			instanceID:       vm.InstanceID,
			clientID:         vm.ClientID,
			clientHost:       vm.ClientHost,
			rebalanceTimeout: time.Duration(vm.RebalanceTimeoutMillis) * time.Millisecond,
			sessionTimeout:   time.Duration(vm.SessionTimeoutMillis) * time.Millisecond,
			protocolType:     v.ProtocolType,
			protocols:        []protocol{{name: g.protocol, metadata: vm.Subscription}},
			assignment:       vm.Assignment,
		}
		if m.rebalanceTimeout <= 0 {
			m.rebalanceTimeout = m.sessionTimeout
		}
		g.addMember(m)
	}
	if v.Leader != nil && g.members[*v.Leader] != nil {
		g.leader = *v.Leader
	}
	if len(g.members) > 0 {
		g.state = stateStable
	}
	g.computeSubscribed()
}
