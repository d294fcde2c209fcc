package group

import (
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"go.uber.org/zap"
)

// retentionLoop expires offsets every offsets.retention.check.interval.ms
// until Close.
func (c *Coordinator) retentionLoop() {
	t := time.NewTicker(c.cfg.OffsetsRetentionCheckInterval)
	defer t.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-t.C:
			c.expireOffsets()
		}
	}
}

// expireOffsets deletes expired offsets with tombstones, and removes empty
// groups left without offsets, as Kafka's cleanupGroupMetadata does.
func (c *Coordinator) expireOffsets() {
	for _, s := range c.shards {
		s.mu.RLock()
		var groups []*group
		if s.state == shardActive {
			groups = make([]*group, 0, len(s.groups))
			for _, g := range s.groups {
				groups = append(groups, g)
			}
		}
		s.mu.RUnlock()
		for _, g := range groups {
			if !s.enter() {
				return
			}
			c.expireGroup(g)
			s.exit()
		}
	}
}

func (c *Coordinator) expireGroup(g *group) {
	g.wmu.Lock()
	defer g.wmu.Unlock()
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.state == stateDead {
		return
	}
	now := c.now()
	expired := g.expiredOffsets(now, c.cfg.OffsetsRetention)
	dies := g.state == stateEmpty && len(expired) == len(g.offsets) && len(g.pending) == 0 && len(g.txnOffsets) == 0
	if len(expired) == 0 && !dies {
		return
	}
	recs := make([]Record, 0, len(expired)+1)
	for _, tp := range expired {
		recs = append(recs, Record{Key: offsetCommitKey(g.id, tp.topic, tp.partition)})
	}
	if dies && g.generation > 0 {
		recs = append(recs, Record{Key: groupMetadataKey(g.id)})
	}
	if len(recs) > 0 {
		g.mu.Unlock()
		err := c.append(c.background(), g, recs)
		g.mu.Lock()
		if err != nil {
			c.logger.Warn("failed to expire offsets", zap.String("group", g.id), zap.Error(err))
			return
		}
		if g.state == stateDead {
			return
		}
	}
	for _, tp := range expired {
		delete(g.offsets, tp)
	}
	c.logger.Info("expired offsets", zap.String("group", g.id), zap.Int("offsets", len(expired)), zap.Bool("group_removed", dies))
	if dies {
		c.unload(g, kerr.CoordinatorNotAvailable.Code)
		c.drop(g)
	}
}

// expiredOffsets is Kafka's GroupMetadata.removeExpiredOffsets without the
// removal: offsets of an empty group expire a retention period after the
// group became empty; a stable consumer group's offsets of topics no
// member subscribes to, and an offsets-only group's, a retention period
// after their commit. Offsets committed with an explicit retention (old
// clients) expire at their own time. The caller holds g.mu.
func (g *group) expiredOffsets(now time.Time, retention time.Duration) []topicPartition {
	var base func(*offset) int64
	var skipSubscribed bool
	switch {
	case g.protocolType != "" && g.state == stateEmpty:
		base = func(o *offset) int64 {
			if g.stateTime.IsZero() {
				return o.commitMillis
			}
			return g.stateTime.UnixMilli()
		}
	case g.protocolType == consumerProtocolType && g.subscribedKnown && g.state == stateStable:
		base = func(o *offset) int64 { return o.commitMillis }
		skipSubscribed = true
	case g.protocolType == "":
		base = func(o *offset) int64 { return o.commitMillis }
	default:
		return nil
	}
	nowMs, retMs := now.UnixMilli(), retention.Milliseconds()
	var out []topicPartition
	for tp, o := range g.offsets {
		if skipSubscribed && g.isSubscribed(tp.topic) {
			continue
		}
		if o.expireMillis > 0 && nowMs >= o.expireMillis ||
			o.expireMillis <= 0 && nowMs-base(o) >= retMs {
			out = append(out, tp)
		}
	}
	return out
}
