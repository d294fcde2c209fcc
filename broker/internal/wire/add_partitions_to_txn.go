package wire

// AddPartitionsToTxn (key 24), versions 0-4.
// Served by the transaction coordinator of the transactional id (package
// txn). v4 is KIP-890's batched form, with VerifyOnly transactions; Kafka
// takes it from brokers only (CLUSTER_ACTION), kspring from anyone, as it
// has no ACLs. PRODUCER_FENCED is INVALID_PRODUCER_EPOCH before v2, as in
// Kafka.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(24, 0, 4, handler((*Server).handleAddPartitionsToTxn)) }

func (s *Server) handleAddPartitionsToTxn(ctx context.Context, _ *Request, body *kmsg.AddPartitionsToTxnRequest) (kmsg.Response, error) {
	if s.txns != nil {
		return s.txns.AddPartitionsToTxn(ctx, body), nil
	}
	resp := body.ResponseKind().(*kmsg.AddPartitionsToTxnResponse)
	resp.SetVersion(body.Version)
	if body.Version >= 4 {
		resp.ErrorCode = noTxns
		return resp, nil
	}
	for _, t := range body.Topics {
		rt := kmsg.NewAddPartitionsToTxnResponseTopic()
		rt.Topic = t.Topic
		for _, p := range t.Partitions {
			rp := kmsg.NewAddPartitionsToTxnResponseTopicPartition()
			rp.Partition, rp.ErrorCode = p, noTxns
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp, nil
}
