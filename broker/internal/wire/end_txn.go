package wire

// EndTxn (key 26), versions 0-3.
// Served by the transaction coordinator of the transactional id (package
// txn): answered once PrepareCommit/PrepareAbort is in __transaction_state;
// the markers follow in the background. PRODUCER_FENCED is
// INVALID_PRODUCER_EPOCH before v2, as in Kafka.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(26, 0, 3, handler((*Server).handleEndTxn)) }

func (s *Server) handleEndTxn(_ context.Context, _ *Request, body *kmsg.EndTxnRequest) (kmsg.Response, error) {
	if s.txns == nil {
		resp := body.ResponseKind().(*kmsg.EndTxnResponse)
		resp.SetVersion(body.Version)
		resp.ErrorCode = noTxns
		return resp, nil
	}
	return s.txns.EndTxn(body), nil
}
