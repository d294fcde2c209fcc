package wire

// AddOffsetsToTxn (key 25), versions 0-3.
// Served by the transaction coordinator of the transactional id (package
// txn): the group's __consumer_offsets partition joins the transaction.
// PRODUCER_FENCED is INVALID_PRODUCER_EPOCH before v2, as in Kafka.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(25, 0, 3, handler((*Server).handleAddOffsetsToTxn)) }

func (s *Server) handleAddOffsetsToTxn(ctx context.Context, _ *Request, body *kmsg.AddOffsetsToTxnRequest) (kmsg.Response, error) {
	if s.txns == nil {
		resp := body.ResponseKind().(*kmsg.AddOffsetsToTxnResponse)
		resp.SetVersion(body.Version)
		resp.ErrorCode = noTxns
		return resp, nil
	}
	return s.txns.AddOffsetsToTxn(ctx, body, s.groups.PartitionFor(body.Group)), nil
}
