package wire

// TxnOffsetCommit (key 28), versions 0-3.
// A transactional producer's offsets for a group, committed with its
// transaction (see package group's TxnOffsetCommit): held pending until
// the transaction's marker reaches the group's partition of
// __consumer_offsets. As with OffsetCommit, a partition the cluster does
// not have gets UNKNOWN_TOPIC_OR_PARTITION and is not committed; the
// others go to the group coordinator.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kspring/kspring/broker/internal/group"
)

func init() { register(28, 0, 3, handler((*Server).handleTxnOffsetCommit)) }

func (s *Server) handleTxnOffsetCommit(ctx context.Context, req *Request, body *kmsg.TxnOffsetCommitRequest) (kmsg.Response, error) {
	ctx = group.WithClient(ctx, clientID(req), req.ClientHost())
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
	resp := body.ResponseKind().(*kmsg.TxnOffsetCommitResponse)
	var committed []kmsg.TxnOffsetCommitResponseTopic
	if len(known.Topics) > 0 {
		cr := s.groups.TxnOffsetCommit(ctx, &known)
		resp.ThrottleMillis = cr.ThrottleMillis
		committed = cr.Topics
	}
	// The coordinator answers the known partitions in request order.
	ti, pi := 0, 0
	for i, t := range body.Topics {
		rt := kmsg.NewTxnOffsetCommitResponseTopic()
		rt.Topic = t.Topic
		for j, p := range t.Partitions {
			rp := kmsg.NewTxnOffsetCommitResponseTopicPartition()
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
