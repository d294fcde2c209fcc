package group

// TxnOffsetCommit (key 28), versions 0-3.
// A transactional producer commits a group's offsets inside its
// transaction (Kafka's sendOffsetsToTransaction): they are written to
// __consumer_offsets as one transactional batch with the producer's id and
// epoch, and held pending, invisible to OffsetFetch, until the producer's
// marker reaches the group's partition (CompleteTxn): a commit makes them
// the group's committed offsets, an abort drops them. A group that does
// not exist is created, empty, as in Kafka. v3 carries the member's
// generation, id and instance id, checked as OffsetCommit checks them
// (UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION, FENCED_INSTANCE_ID); v0-2 are
// not checked against the group. That the producer added the group to its
// transaction (AddOffsetsToTxn) is the transaction coordinator's check.
// Departure: a commit marker makes every pending offset of the producer
// the committed one, even over a plain OffsetCommit appended after the
// transactional one (Kafka keeps whichever record is later in the log).

import (
	"context"
	"maps"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"
)

// TxnOffsetCommit serves a TxnOffsetCommitRequest. It returns once the
// offsets are durably appended, or failed.
func (c *Coordinator) TxnOffsetCommit(ctx context.Context, req *kmsg.TxnOffsetCommitRequest) *kmsg.TxnOffsetCommitResponse {
	resp := req.ResponseKind().(*kmsg.TxnOffsetCommitResponse)
	resp.Topics = make([]kmsg.TxnOffsetCommitResponseTopic, len(req.Topics))
	for i, t := range req.Topics {
		rt := &resp.Topics[i]
		rt.Topic = t.Topic
		rt.Partitions = make([]kmsg.TxnOffsetCommitResponseTopicPartition, len(t.Partitions))
		for j, p := range t.Partitions {
			rt.Partitions[j] = kmsg.TxnOffsetCommitResponseTopicPartition{Partition: p.Partition}
		}
	}
	if code := c.txnCommit(ctx, req, resp); code != 0 {
		for i := range resp.Topics {
			for j := range resp.Topics[i].Partitions {
				if p := &resp.Topics[i].Partitions[j]; p.ErrorCode == 0 {
					p.ErrorCode = code
				}
			}
		}
	}
	return resp
}

func (c *Coordinator) txnCommit(ctx context.Context, req *kmsg.TxnOffsetCommitRequest, resp *kmsg.TxnOffsetCommitResponse) int16 {
	store, ok := c.store.(TxnStore)
	if !ok {
		return kerr.CoordinatorNotAvailable.Code
	}
	g, s, code := c.lookup(req.Group, true)
	if code != 0 {
		return code
	}
	defer s.exit()

	g.wmu.Lock()
	defer g.wmu.Unlock()
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case g.state == stateDead:
		return kerr.CoordinatorNotAvailable.Code
	case g.staticFenced(req.InstanceID, req.MemberID):
		return kerr.FencedInstanceID.Code
	case req.MemberID != "" && g.members[req.MemberID] == nil:
		return kerr.UnknownMemberID.Code
	case req.Generation >= 0 && req.Generation != g.generation:
		return kerr.IllegalGeneration.Code
	}

	now := c.now().UnixMilli()
	var recs []Record
	writes := make(map[topicPartition]*offset)
	for i, t := range req.Topics {
		for j, p := range t.Partitions {
			rp := &resp.Topics[i].Partitions[j]
			var meta string
			if p.Metadata != nil {
				meta = *p.Metadata
			}
			if len(meta) > c.cfg.OffsetMetadataMaxBytes {
				rp.ErrorCode = kerr.OffsetMetadataTooLarge.Code
				continue
			}
			o := &offset{offset: p.Offset, leaderEpoch: p.LeaderEpoch, metadata: meta, commitMillis: now}
			tp := topicPartition{t.Topic, p.Partition}
			recs = append(recs, Record{Key: offsetCommitKey(g.id, tp.topic, tp.partition), Value: offsetCommitValue(o)})
			writes[tp] = o
		}
	}
	if len(recs) == 0 {
		return 0
	}

	g.mu.Unlock()
	err := c.appendTxn(ctx, store, g, req.ProducerID, req.ProducerEpoch, recs)
	g.mu.Lock()
	if err != nil {
		c.logger.Warn("transactional offset commit failed", zap.String("group", g.id), zap.Int64("producer_id", req.ProducerID), zap.Error(err))
		return commitError(err)
	}
	if g.state != stateDead {
		if g.txnOffsets == nil {
			g.txnOffsets = make(map[int64]map[topicPartition]*offset)
		}
		if g.txnOffsets[req.ProducerID] == nil {
			g.txnOffsets[req.ProducerID] = make(map[topicPartition]*offset, len(writes))
		}
		maps.Copy(g.txnOffsets[req.ProducerID], writes)
	}
	return 0
}

// appendTxn is append for a producer's transactional records.
func (c *Coordinator) appendTxn(ctx context.Context, store TxnStore, g *group, producerID int64, epoch int16, recs []Record) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.OffsetsCommitTimeout)
	defer cancel()
	stop := context.AfterFunc(c.shards[g.partition].ctx, cancel) // Close aborts it
	defer stop()
	return store.AppendTxn(ctx, g.partition, producerID, epoch, recs)
}

// CompleteTxn applies producerID's transaction marker, replicated on
// __consumer_offsets partition partition: with commit its pending
// transactional offsets in the partition's groups become their committed
// offsets, otherwise they are dropped. The broker calls it after writing
// the marker (WriteTxnMarkers). A partition this coordinator does not hold
// is ignored: loading it resolves its markers from the log. Safe for
// concurrent use.
func (c *Coordinator) CompleteTxn(partition int32, producerID int64, commit bool) {
	if partition < 0 || int(partition) >= len(c.shards) {
		return
	}
	s := c.shards[partition]
	if !s.enter() {
		return
	}
	defer s.exit()
	s.mu.Lock()
	switch s.state {
	case shardLoading:
		s.late = append(s.late, txnOutcome{producerID, commit})
		s.mu.Unlock()
		return
	case shardActive:
	default:
		s.mu.Unlock()
		return
	}
	groups := make([]*group, 0, len(s.groups))
	for _, g := range s.groups {
		groups = append(groups, g)
	}
	s.mu.Unlock()
	applyTxnOutcomes(groups, []txnOutcome{{producerID, commit}})
}

// txnOutcome is a transaction marker as CompleteTxn reports it.
type txnOutcome struct {
	producerID int64
	commit     bool
}

// applyTxnOutcomes commits or drops the pending offsets the markers
// decide. The caller holds no group lock.
func applyTxnOutcomes(groups []*group, outcomes []txnOutcome) {
	for _, g := range groups {
		g.mu.Lock()
		for _, o := range outcomes {
			if pend := g.txnOffsets[o.producerID]; pend != nil {
				if o.commit && g.state != stateDead {
					maps.Copy(g.offsets, pend)
				}
				delete(g.txnOffsets, o.producerID)
			}
		}
		g.mu.Unlock()
	}
}

// txnPending reports whether a transactional offset of tp waits for its
// transaction. The caller holds g.mu.
func (g *group) txnPending(tp topicPartition) bool {
	for _, pend := range g.txnOffsets {
		if _, ok := pend[tp]; ok {
			return true
		}
	}
	return false
}

// unstable is OffsetFetch's answer for a partition with a pending
// transactional offset under require_stable.
func unstable(partition int32) fetchedPartition {
	return fetchedPartition{partition: partition, offset: -1, leaderEpoch: -1, code: kerr.UnstableOffsetCommit.Code}
}
