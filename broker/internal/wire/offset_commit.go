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
	if s.allCommitPartitionsExist(body) { // the common case, without copies
		return s.groups.OffsetCommit(ctx, body), nil
	}

	known := *body
	known.Topics = nil
	exists := make([][]bool, len(body.Topics))
	for i, t := range body.Topics {
		kt := t
		kt.Partitions = nil
		exists[i] = make([]bool, len(t.Partitions))
		count := s.partitionCount(t.Topic)
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
		for j, p := range t.Partitions {
			rp := kmsg.NewOffsetCommitResponseTopicPartition()
			rp.Partition = p.Partition
			rp.ErrorCode = kerr.UnknownTopicOrPartition.Code
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
