package group

// OffsetDelete (key 47), version 0.
// Deletes committed offsets of an empty group, or of topics a consumer
// group's members do not subscribe to (GROUP_SUBSCRIBED_TO_TOPIC for those
// they do, read from the members' kmsg.ConsumerMemberMetadata). An empty
// group left without offsets is deleted, as in Kafka.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"
)

// OffsetDelete serves an OffsetDeleteRequest.
func (c *Coordinator) OffsetDelete(ctx context.Context, req *kmsg.OffsetDeleteRequest) *kmsg.OffsetDeleteResponse {
	resp := req.ResponseKind().(*kmsg.OffsetDeleteResponse)
	resp.Topics = make([]kmsg.OffsetDeleteResponseTopic, len(req.Topics))
	for i, t := range req.Topics {
		rt := &resp.Topics[i]
		rt.Topic = t.Topic
		rt.Partitions = make([]kmsg.OffsetDeleteResponseTopicPartition, len(t.Partitions))
		for j, p := range t.Partitions {
			rt.Partitions[j].Partition = p.Partition
		}
	}
	if resp.ErrorCode = c.deleteOffsets(ctx, req, resp); resp.ErrorCode != 0 {
		resp.Topics = nil
	}
	return resp
}

func (c *Coordinator) deleteOffsets(ctx context.Context, req *kmsg.OffsetDeleteRequest, resp *kmsg.OffsetDeleteResponse) int16 {
	g, s, code := c.lookup(req.Group, false)
	if code != 0 {
		return code
	}
	defer s.exit()
	if g == nil {
		return kerr.GroupIDNotFound.Code
	}
	g.wmu.Lock()
	defer g.wmu.Unlock()
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case g.state == stateDead:
		return kerr.GroupIDNotFound.Code
	case g.state != stateEmpty && g.protocolType != consumerProtocolType:
		return kerr.NonEmptyGroup.Code
	}

	var (
		recs    []Record
		removed = make(map[topicPartition]struct{})
		codes   []*int16 // the eligible partitions' codes, for a failed append
	)
	for i, t := range req.Topics {
		subscribed := g.state != stateEmpty && g.isSubscribed(t.Topic)
		for j, p := range t.Partitions {
			rp := &resp.Topics[i].Partitions[j]
			if subscribed {
				rp.ErrorCode = kerr.GroupSubscribedToTopic.Code
				continue
			}
			codes = append(codes, &rp.ErrorCode)
			tp := topicPartition{t.Topic, p.Partition}
			if _, dup := removed[tp]; g.offsets[tp] != nil && !dup {
				removed[tp] = struct{}{}
				recs = append(recs, Record{Key: offsetCommitKey(g.id, tp.topic, tp.partition)})
			}
		}
	}
	if len(removed) == 0 {
		return 0
	}
	dies := g.state == stateEmpty && len(removed) == len(g.offsets)
	if dies && g.generation > 0 {
		recs = append(recs, Record{Key: groupMetadataKey(g.id)})
	}

	g.mu.Unlock()
	err := c.append(ctx, g, recs)
	g.mu.Lock()
	if err != nil {
		c.logger.Warn("offset deletion failed", zap.String("group", g.id), zap.Error(err))
		for _, code := range codes {
			*code = commitError(err)
		}
		return 0
	}
	if g.state == stateDead {
		return 0
	}
	for tp := range removed {
		delete(g.offsets, tp)
	}
	if dies {
		c.unload(g, kerr.CoordinatorNotAvailable.Code)
		c.drop(g)
	}
	return 0
}
