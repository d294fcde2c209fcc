package group

// OffsetCommit (key 8), versions 0-10.
// Members commit with their generation; a group without members accepts
// "simple" commits with generation -1 and no member id (kcat, tools). Each
// commit is appended to __consumer_offsets before it is acknowledged.
// v1 carries a per-partition commit timestamp, v2-4 a retention time (the
// offset then expires on its own, as in Kafka), v10 names topics by ID
// (see WithTopicIDs). Topic existence and ACLs are the wire layer's.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"
)

// OffsetCommit serves an OffsetCommitRequest. It returns once the commit is
// durably appended, or failed.
func (c *Coordinator) OffsetCommit(ctx context.Context, req *kmsg.OffsetCommitRequest) *kmsg.OffsetCommitResponse {
	resp := req.ResponseKind().(*kmsg.OffsetCommitResponse)
	resp.Topics = make([]kmsg.OffsetCommitResponseTopic, len(req.Topics))
	names := make([]string, len(req.Topics))
	for i, t := range req.Topics {
		rt := &resp.Topics[i]
		rt.Topic, rt.TopicID = t.Topic, t.TopicID
		names[i] = t.Topic
		var code int16
		if req.Version >= 10 {
			if names[i], code = c.topicName(t.TopicID); code != 0 {
				names[i] = ""
			}
		}
		rt.Partitions = make([]kmsg.OffsetCommitResponseTopicPartition, len(t.Partitions))
		for j, p := range t.Partitions {
			rt.Partitions[j] = kmsg.OffsetCommitResponseTopicPartition{Partition: p.Partition, ErrorCode: code}
		}
	}
	if code := c.commit(ctx, req, names, resp); code != 0 {
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

func (c *Coordinator) topicName(id [16]byte) (string, int16) {
	if c.topics == nil {
		return "", kerr.UnknownTopicID.Code
	}
	name, ok := c.topics.TopicName(id)
	if !ok {
		return "", kerr.UnknownTopicID.Code
	}
	return name, 0
}

// commit validates and stores the commit; a non-zero return applies to
// every partition not already failed in resp.
func (c *Coordinator) commit(ctx context.Context, req *kmsg.OffsetCommitRequest, names []string, resp *kmsg.OffsetCommitResponse) int16 {
	// An offsets-only group is created by its first commit.
	g, s, code := c.lookup(req.Group, req.Generation < 0)
	if code != 0 {
		return code
	}
	defer s.exit()
	if g == nil {
		// A member of a generation this coordinator does not know.
		return kerr.IllegalGeneration.Code
	}

	g.wmu.Lock()
	defer g.wmu.Unlock()
	g.mu.Lock()
	defer g.mu.Unlock()
	if code := c.validateCommit(g, req); code != 0 {
		return code
	}

	now := c.now().UnixMilli()
	type pending struct {
		tp  topicPartition
		off *offset
	}
	var (
		recs   []Record
		writes []pending
	)
	for i, t := range req.Topics {
		for j, p := range t.Partitions {
			rp := &resp.Topics[i].Partitions[j]
			if rp.ErrorCode != 0 {
				continue
			}
			var meta string
			if p.Metadata != nil {
				meta = *p.Metadata
			}
			if len(meta) > c.cfg.OffsetMetadataMaxBytes {
				rp.ErrorCode = kerr.OffsetMetadataTooLarge.Code
				continue
			}
			o := &offset{offset: p.Offset, leaderEpoch: p.LeaderEpoch, metadata: meta, commitMillis: now}
			if req.Version == 1 && p.Timestamp != -1 {
				o.commitMillis = p.Timestamp
			}
			if req.Version >= 2 && req.Version <= 4 && req.RetentionTimeMillis != -1 {
				o.expireMillis = now + req.RetentionTimeMillis
			}
			tp := topicPartition{names[i], p.Partition}
			recs = append(recs, Record{Key: offsetCommitKey(g.id, tp.topic, tp.partition), Value: offsetCommitValue(o)})
			writes = append(writes, pending{tp, o})
		}
	}
	if len(recs) == 0 {
		return 0
	}

	g.mu.Unlock()
	err := c.append(ctx, g, recs)
	g.mu.Lock()
	if err != nil {
		c.logger.Warn("offset commit failed", zap.String("group", g.id), zap.Error(err))
		return commitError(err)
	}
	if g.state != stateDead {
		for _, w := range writes {
			g.offsets[w.tp] = w.off
		}
	}
	return 0
}

// validateCommit is Kafka's validateOffsetCommit plus the state checks of
// doCommitOffsets. The caller holds g.mu.
func (c *Coordinator) validateCommit(g *group, req *kmsg.OffsetCommitRequest) int16 {
	if g.state == stateDead {
		return kerr.CoordinatorNotAvailable.Code
	}
	if req.Generation < 0 && req.MemberID == "" && req.InstanceID == nil {
		// A simple commit: only while no member manages the group.
		if g.state != stateEmpty {
			return kerr.UnknownMemberID.Code
		}
		return 0
	}
	m := g.members[req.MemberID]
	switch {
	case g.staticFenced(req.InstanceID, req.MemberID):
		return kerr.FencedInstanceID.Code
	case m == nil:
		return kerr.UnknownMemberID.Code
	case req.Generation != g.generation:
		return kerr.IllegalGeneration.Code
	}
	switch g.state {
	case stateCompletingRebalance:
		// The member has its new generation but not yet its
		// assignment: it must not commit what it may no longer own.
		return kerr.RebalanceInProgress.Code
	default: // Stable, PreparingRebalance (the heartbeat tells it to rejoin)
		c.touch(g, m, m.sessionTimeout)
		return 0
	}
}
