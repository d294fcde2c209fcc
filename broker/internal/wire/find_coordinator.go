package wire

// FindCoordinator (key 10), versions 0-4.
// A group's coordinator is the leader of its __consumer_offsets partition,
// a transactional id's (key type 1) the leader of its __transaction_state
// partition; each topic is created on first use, as in Kafka. While the
// partition has no leader the answer is COORDINATOR_NOT_AVAILABLE, and the
// client asks again. v4 looks up a batch of keys. A broker without a
// transaction coordinator answers key type 1 with
// TRANSACTIONAL_ID_AUTHORIZATION_FAILED, a non-retriable error.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"
)

func init() { register(10, 0, 4, handler((*Server).handleFindCoordinator)) }

func (s *Server) handleFindCoordinator(ctx context.Context, _ *Request, body *kmsg.FindCoordinatorRequest) (kmsg.Response, error) {
	resp := body.ResponseKind().(*kmsg.FindCoordinatorResponse)
	resp.SetVersion(body.Version)
	find := func(key string) (node int32, host string, port int32, code int16, msg *string) {
		topic, partition := OffsetsTopic, int32(0)
		switch body.CoordinatorType {
		case 0:
			if err := s.topics.EnsureOffsetsTopic(ctx); err != nil {
				s.logger.Error("creating __consumer_offsets failed", zap.Error(err))
				return -1, "", -1, kerr.CoordinatorNotAvailable.Code, nil
			}
			partition = s.groups.PartitionFor(key)
		case 1:
			if s.txns == nil {
				m := "this broker has no transaction coordinator"
				return -1, "", -1, noTxns, &m
			}
			if err := s.ensureTxnTopic(ctx); err != nil {
				s.logger.Error("creating __transaction_state failed", zap.Error(err))
				return -1, "", -1, kerr.CoordinatorNotAvailable.Code, nil
			}
			topic, partition = TransactionTopic, s.txns.PartitionFor(key)
		default:
			return -1, "", -1, kerr.InvalidRequest.Code, nil
		}
		st := s.meta.State()
		t, ok := st.Topics[topic]
		if !ok {
			return -1, "", -1, kerr.CoordinatorNotAvailable.Code, nil
		}
		ps, ok := t.PartitionState(partition)
		if !ok {
			return -1, "", -1, kerr.CoordinatorNotAvailable.Code, nil
		}
		host, port, alive := s.broker(st, ps.Leader)
		if !alive {
			return -1, "", -1, kerr.CoordinatorNotAvailable.Code, nil
		}
		return ps.Leader, host, port, 0, nil
	}
	if body.Version >= 4 {
		for _, key := range body.CoordinatorKeys {
			c := kmsg.NewFindCoordinatorResponseCoordinator()
			c.Key = key
			c.NodeID, c.Host, c.Port, c.ErrorCode, c.ErrorMessage = find(key)
			resp.Coordinators = append(resp.Coordinators, c)
		}
		return resp, nil
	}
	resp.NodeID, resp.Host, resp.Port, resp.ErrorCode, resp.ErrorMessage = find(body.CoordinatorKey)
	return resp, nil
}
