package wire

// OffsetCommit (key 8), versions 0-8.
// A partition the cluster does not have gets UNKNOWN_TOPIC_OR_PARTITION here,
// as in Kafka, and is not committed; the others go to the group coordinator,
// which acknowledges them once the commit is in __consumer_offsets. A request
// naming only unknown partitions does not reach the coordinator (Kafka does
// the same), so it gets no group-level error.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kspring/kspring/broker/internal/group"
)

func init() { register(8, 0, 8, handler((*Server).handleOffsetCommit)) }

func (s *Server) handleOffsetCommit(ctx context.Context, req *Request, body *kmsg.OffsetCommitRequest) (kmsg.Response, error) {
	ctx = group.WithClient(ctx, clientID(req), req.ClientHost())
	if !s.authorizeGroup(req, body.Group, kmsg.ACLOperationRead) {
		return offsetCommitFailed(body, kerr.GroupAuthorizationFailed), nil
	}
	readable := func(topic string) bool { return s.authorizeTopic(req, topic, kmsg.ACLOperationRead) }
	if s.allCommitPartitionsExist(body) && (!s.authz.Enabled || allTopics(body.Topics, func(t kmsg.OffsetCommitRequestTopic) bool { return readable(t.Topic) })) {
		return s.groups.OffsetCommit(ctx, body), nil // the common case, without copies
	}

	known := *body
	known.Topics = nil
	exists := make([][]bool, len(body.Topics))
	for i, t := range body.Topics {
		kt := t
		kt.Partitions = nil
		exists[i] = make([]bool, len(t.Partitions))
		count := s.partitionCount(t.Topic)
		if !readable(t.Topic) {
			count = 0
		}
		for j, p := range t.Partitions {
			if exists[i][j] = p.Partition >= 0 && p.Partition < count; exists[i][j] {
				kt.Partitions = append(kt.Partitions, p)
			}
		}
		if len(kt.Partitions) > 0 {
			known.Topics = append(known.Topics, kt)
		}
	}
	resp := body.ResponseKind().(*kmsg.OffsetCommitResponse)
	resp.SetVersion(body.Version)
	var committed []kmsg.OffsetCommitResponseTopic
	if len(known.Topics) > 0 {
		cr := s.groups.OffsetCommit(ctx, &known)
		resp.ThrottleMillis = cr.ThrottleMillis
		committed = cr.Topics
	}
	// The coordinator answers the known partitions in request order.
	ti, pi := 0, 0
	for i, t := range body.Topics {
		rt := kmsg.NewOffsetCommitResponseTopic()
		rt.Topic = t.Topic
		missing := kerr.UnknownTopicOrPartition.Code
		if !readable(t.Topic) {
			missing = kerr.TopicAuthorizationFailed.Code
		}
		for j, p := range t.Partitions {
			rp := kmsg.NewOffsetCommitResponseTopicPartition()
			rp.Partition = p.Partition
			rp.ErrorCode = missing
			if exists[i][j] && ti < len(committed) {
				rp.ErrorCode = committed[ti].Partitions[pi].ErrorCode
				if pi++; pi == len(committed[ti].Partitions) {
					ti, pi = ti+1, 0
				}
			}
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp, nil
}

// offsetCommitFailed answers every partition of body with e.
func offsetCommitFailed(body *kmsg.OffsetCommitRequest, e *kerr.Error) *kmsg.OffsetCommitResponse {
	resp := body.ResponseKind().(*kmsg.OffsetCommitResponse)
	resp.SetVersion(body.Version)
	for _, t := range body.Topics {
		rt := kmsg.NewOffsetCommitResponseTopic()
		rt.Topic = t.Topic
		for _, p := range t.Partitions {
			rp := kmsg.NewOffsetCommitResponseTopicPartition()
			rp.Partition, rp.ErrorCode = p.Partition, e.Code
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}

// allTopics reports whether ok holds for every topic.
func allTopics[T any](topics []T, ok func(T) bool) bool {
	for _, t := range topics {
		if !ok(t) {
			return false
		}
	}
	return true
}

func (s *Server) allCommitPartitionsExist(body *kmsg.OffsetCommitRequest) bool {
	for _, t := range body.Topics {
		count := s.partitionCount(t.Topic)
		for _, p := range t.Partitions {
			if p.Partition < 0 || p.Partition >= count {
				return false
			}
		}
	}
	return true
}

// partitionCount returns how many partitions topic has (0: no such topic).
func (s *Server) partitionCount(topic string) int32 { return s.meta.PartitionCount(topic) }
