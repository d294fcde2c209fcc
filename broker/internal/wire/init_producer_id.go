package wire

// InitProducerId (key 22), versions 0-4.
// Idempotent producers get a fresh producer id at epoch 0, from a block of
// ids the active controller gave this broker (AllocateProducerIds), so ids
// are unique across the cluster and restarts. A producer that
// sends its current id and epoch (v3+, KIP-360) gets the epoch bumped, or a
// new id when the epoch is exhausted. A transactional id is served by its
// transaction coordinator (package txn): NOT_COORDINATOR on a broker that
// does not lead the id's __transaction_state partition.

import (
	"context"
	"math"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"
)

func init() { register(22, 0, 4, handler((*Server).handleInitProducerID)) }

func (s *Server) handleInitProducerID(ctx context.Context, req *Request, body *kmsg.InitProducerIDRequest) (kmsg.Response, error) {
	resp := body.ResponseKind().(*kmsg.InitProducerIDResponse)
	resp.SetVersion(body.Version)
	resp.ProducerID, resp.ProducerEpoch = -1, -1
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
