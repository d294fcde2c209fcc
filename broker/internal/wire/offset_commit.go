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
	known := *body
	known.Topics = nil
	exists := make([][]bool, len(body.Topics))
	for i, t := range body.Topics {
		kt := t
		kt.Partitions = nil
		exists[i] = make([]bool, len(t.Partitions))
		for j, p := range t.Partitions {
			if exists[i][j] = s.partitionExists(t.Topic, p.Partition); exists[i][j] {
				kt.Partitions = append(kt.Partitions, p)
			}
		}
		if len(kt.Partitions) > 0 {
			known.Topics = append(known.Topics, kt)
		}
	}
	if allTrue(exists) {
		return s.groups.OffsetCommit(group.WithClient(ctx, clientID(req), req.ClientHost()), body), nil
	}

	resp := body.ResponseKind().(*kmsg.OffsetCommitResponse)
	var committed []kmsg.OffsetCommitResponseTopic
	if len(known.Topics) > 0 {
		cr := s.groups.OffsetCommit(group.WithClient(ctx, clientID(req), req.ClientHost()), &known)
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

// partitionExists reports whether the cluster has partition p of topic.
func (s *Server) partitionExists(topic string, p int32) bool {
	t, ok := s.meta.Topic(topic)
	return ok && p >= 0 && p < t.Partitions
}

func allTrue(bs [][]bool) bool {
	for _, b := range bs {
		for _, ok := range b {
			if !ok {
				return false
			}
		}
	}
	return true
}
