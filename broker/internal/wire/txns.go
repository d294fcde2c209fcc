package wire

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Txns is the transaction coordinator (package txn) as the handlers use
// it. Each method answers one request; none blocks beyond writing to
// __transaction_state, but for AddPartitionsToTxn and AddOffsetsToTxn,
// which may wait (bounded by ctx) for the previous transaction to complete.
type Txns interface {
	PartitionFor(transactionalID string) int32
	InitProducerID(ctx context.Context, req *kmsg.InitProducerIDRequest) *kmsg.InitProducerIDResponse
	AddPartitionsToTxn(ctx context.Context, req *kmsg.AddPartitionsToTxnRequest) *kmsg.AddPartitionsToTxnResponse
	AddOffsetsToTxn(ctx context.Context, req *kmsg.AddOffsetsToTxnRequest, offsetsPartition int32) *kmsg.AddOffsetsToTxnResponse
	EndTxn(req *kmsg.EndTxnRequest) *kmsg.EndTxnResponse
	DescribeTransactions(req *kmsg.DescribeTransactionsRequest) *kmsg.DescribeTransactionsResponse
	ListTransactions(req *kmsg.ListTransactionsRequest) *kmsg.ListTransactionsResponse
}

// WithTransactions serves the transactional APIs through t; ensureTopic
// creates __transaction_state on first need (a FindCoordinator for a
// transactional id). Without it transactional producers are refused with
// TRANSACTIONAL_ID_AUTHORIZATION_FAILED.
func WithTransactions(t Txns, ensureTopic func(context.Context) error) Option {
	return func(s *Server) { s.txns, s.ensureTxnTopic = t, ensureTopic }
}

// noTxns is the code transactional requests get from a server without a
// coordinator: non-retriable, so a client fails at once rather than retry.
var noTxns = kerr.TransactionalIDAuthorizationFailed.Code
