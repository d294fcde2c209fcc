package wire

// DescribeTransactions (key 65), version 0.
// Answered by this broker's transaction coordinator for the ids whose
// __transaction_state partition it leads; NOT_COORDINATOR for the others
// (admin clients ask each id's coordinator, found with FindCoordinator).

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(65, 0, 0, handler((*Server).handleDescribeTransactions)) }

func (s *Server) handleDescribeTransactions(_ context.Context, _ *Request, body *kmsg.DescribeTransactionsRequest) (kmsg.Response, error) {
	if s.txns == nil {
		resp := body.ResponseKind().(*kmsg.DescribeTransactionsResponse)
		resp.SetVersion(body.Version)
		for _, id := range body.TransactionalIDs {
			st := kmsg.NewDescribeTransactionsResponseTransactionState()
			st.TransactionalID, st.ErrorCode = id, noTxns
			resp.TransactionStates = append(resp.TransactionStates, st)
		}
		return resp, nil
	}
	return s.txns.DescribeTransactions(body), nil
}
