package wire

// InitProducerId (key 22), versions 0-4.
// Idempotent producers get a fresh producer id at epoch 0, from a block of
// ids the active controller gave this broker (AllocateProducerIds), so ids
// are unique across the cluster and restarts. A producer that
// sends its current id and epoch (v3+, KIP-360) gets the epoch bumped, or a
// new id when the epoch is exhausted. A transactional id is served by its
// transaction coordinator (package txn): NOT_COORDINATOR on a broker that
// does not lead the id's __transaction_state partition. With a transactional
// id the principal needs Write on it (TRANSACTIONAL_ID_AUTHORIZATION_FAILED),
// without one IdempotentWrite on the cluster or Write on some topic
// (CLUSTER_AUTHORIZATION_FAILED), as in Kafka.

import (
	"context"
	"math"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"

	"github.com/kspring/kspring/broker/internal/cluster"
)

func init() { register(22, 0, 4, handler((*Server).handleInitProducerID)) }

// mayWriteIdempotently reports whether req may get a producer id without
// a transactional id: IdempotentWrite on the cluster, or (as Kafka 2.8+,
// KIP-679) Write on any topic, existing or not, as an ACL allows it (a
// prefixed ACL of topics not yet created counts).
func (s *Server) mayWriteIdempotently(req *Request) bool {
	return !s.authz.Enabled || s.authorizeCluster(req, kmsg.ACLOperationIdempotentWrite) ||
		s.authorizeByResourceType(req, cluster.ResourceTopic, kmsg.ACLOperationWrite)
}

func (s *Server) handleInitProducerID(ctx context.Context, req *Request, body *kmsg.InitProducerIDRequest) (kmsg.Response, error) {
	resp := body.ResponseKind().(*kmsg.InitProducerIDResponse)
	resp.SetVersion(body.Version)
	resp.ProducerID, resp.ProducerEpoch = -1, -1
	switch {
	case body.TransactionalID != nil && !s.authorizeTransactionalID(req, *body.TransactionalID, kmsg.ACLOperationWrite):
		resp.ErrorCode = kerr.TransactionalIDAuthorizationFailed.Code
		return resp, nil
	case body.TransactionalID == nil && !s.mayWriteIdempotently(req):
		resp.ErrorCode = kerr.ClusterAuthorizationFailed.Code
		return resp, nil
	}
	if body.TransactionalID != nil {
		if s.txns == nil {
			s.logger.Warn("transactional producer refused: this broker has no transaction coordinator",
				zap.String("transactional.id", *body.TransactionalID), zap.String("client", clientID(req)))
			resp.ErrorCode = noTxns
			return resp, nil
		}
		return s.txns.InitProducerID(ctx, body), nil
	}
	if body.ProducerID >= 0 && body.ProducerEpoch >= 0 && body.ProducerEpoch < math.MaxInt16-1 {
		resp.ProducerID, resp.ProducerEpoch = body.ProducerID, body.ProducerEpoch+1
		return resp, nil
	}
	if s.pids == nil {
		resp.ErrorCode = kerr.CoordinatorNotAvailable.Code
		return resp, nil
	}
	id, err := s.pids(ctx)
	if err != nil {
		s.logger.Error("allocating a producer id failed", zap.Error(err))
		resp.ErrorCode = kerr.CoordinatorNotAvailable.Code
		return resp, nil
	}
	resp.ProducerID, resp.ProducerEpoch = id, 0
	return resp, nil
}
