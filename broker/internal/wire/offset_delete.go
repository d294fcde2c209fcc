package wire

// OffsetDelete (key 47), versions 0-0.
// A partition the cluster does not have gets UNKNOWN_TOPIC_OR_PARTITION
// here, as in Kafka; the group coordinator gets the others (possibly none: it
// still answers the group-level errors, such as GROUP_ID_NOT_FOUND).

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kspring/kspring/broker/internal/group"
)

func init() { register(47, 0, 0, handler((*Server).handleOffsetDelete)) }

func (s *Server) handleOffsetDelete(ctx context.Context, req *Request, body *kmsg.OffsetDeleteRequest) (kmsg.Response, error) {
	ctx = group.WithClient(ctx, clientID(req), req.ClientHost())
	if !s.authorizeGroup(req, body.Group, kmsg.ACLOperationDelete) {
		resp := body.ResponseKind().(*kmsg.OffsetDeleteResponse)
		resp.SetVersion(body.Version)
		resp.ErrorCode = kerr.GroupAuthorizationFailed.Code
		return resp, nil
	}
	readable := func(topic string) bool { return s.authorizeTopic(req, topic, kmsg.ACLOperationRead) }
	known := *body
	known.Topics = nil
	exists := make([][]bool, len(body.Topics))
	all := true
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
			} else {
				all = false
			}
		}
		if len(kt.Partitions) > 0 {
			known.Topics = append(known.Topics, kt)
		}
	}
	if all {
		return s.groups.OffsetDelete(ctx, body), nil
	}
	resp := s.groups.OffsetDelete(ctx, &known)
	if resp.ErrorCode != 0 {
		return resp, nil
	}
	// The coordinator answers the known partitions in request order.
	deleted := resp.Topics
	resp.Topics = nil
	ti, pi := 0, 0
	for i, t := range body.Topics {
		rt := kmsg.NewOffsetDeleteResponseTopic()
		rt.Topic = t.Topic
		missing := kerr.UnknownTopicOrPartition.Code
		if !readable(t.Topic) {
			missing = kerr.TopicAuthorizationFailed.Code
		}
		for j, p := range t.Partitions {
			rp := kmsg.NewOffsetDeleteResponseTopicPartition()
			rp.Partition = p.Partition
			rp.ErrorCode = missing
			if exists[i][j] && ti < len(deleted) {
				rp.ErrorCode = deleted[ti].Partitions[pi].ErrorCode
				if pi++; pi == len(deleted[ti].Partitions) {
					ti, pi = ti+1, 0
				}
			}
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp, nil
}
