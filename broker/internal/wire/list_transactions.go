package wire

// ListTransactions (key 66), versions 0-1.
// Lists the transactions of the __transaction_state partitions this broker
// leads (admin clients ask every broker and merge), filtered by state,
// producer id and (v1) duration. v2's transactional id pattern is not served.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(66, 0, 1, handler((*Server).handleListTransactions)) }

func (s *Server) handleListTransactions(_ context.Context, _ *Request, body *kmsg.ListTransactionsRequest) (kmsg.Response, error) {
	if s.txns == nil {
		resp := body.ResponseKind().(*kmsg.ListTransactionsResponse)
		resp.SetVersion(body.Version)
		return resp, nil
	}
	return s.txns.ListTransactions(body), nil
}
