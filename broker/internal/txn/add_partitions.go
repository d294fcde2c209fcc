package txn

import (
	"context"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// AddPartitionsToTxn answers AddPartitionsToTxn v0-3: the partitions join
// the producer's transaction, which becomes Ongoing, once the ISR of
// __transaction_state has the new state. A request that adds nothing new to
// an ongoing transaction writes nothing. A request that arrives while the
// previous transaction's markers are being written waits for them (up to a
// second, or until ctx ends) rather than answer CONCURRENT_TRANSACTIONS at
// once, so that a producer beginning its next transaction does not back off.
//
// Version 4 (KIP-890) carries several transactions, as brokers send it; one
// marked VerifyOnly changes nothing and answers, per partition, whether it
// is in the producer's ongoing transaction (INVALID_TXN_STATE if not, as
// Kafka 3.6 does).
func (c *Coordinator) AddPartitionsToTxn(ctx context.Context, req *kmsg.AddPartitionsToTxnRequest) *kmsg.AddPartitionsToTxnResponse {
	resp := req.ResponseKind().(*kmsg.AddPartitionsToTxnResponse)
	resp.SetVersion(req.Version)
	if req.Version < 4 {
		codes := c.addTopics(ctx, req.TransactionalID, req.ProducerID, req.ProducerEpoch, false, fenced(req.Version, 2), topicsOf(req.Topics))
		for _, t := range req.Topics {
			rt := kmsg.NewAddPartitionsToTxnResponseTopic()
			rt.Topic = t.Topic
			for _, p := range t.Partitions {
				rp := kmsg.NewAddPartitionsToTxnResponseTopicPartition()
				rp.Partition, rp.ErrorCode = p, codes(TopicPartition{t.Topic, p})
				rt.Partitions = append(rt.Partitions, rp)
			}
			resp.Topics = append(resp.Topics, rt)
		}
		return resp
	}
	for _, tx := range req.Transactions {
		var topics []TopicPartition
		for _, t := range tx.Topics {
			for _, p := range t.Partitions {
				topics = append(topics, TopicPartition{t.Topic, p})
			}
		}
		codes := c.addTopics(ctx, tx.TransactionalID, tx.ProducerID, tx.ProducerEpoch, tx.VerifyOnly, kerr.ProducerFenced.Code, topics)
		rtx := kmsg.NewAddPartitionsToTxnResponseTransaction()
		rtx.TransactionalID = tx.TransactionalID
		for _, t := range tx.Topics {
			rt := kmsg.NewAddPartitionsToTxnResponseTransactionTopic()
			rt.Topic = t.Topic
			for _, p := range t.Partitions {
				rp := kmsg.NewAddPartitionsToTxnResponseTransactionTopicPartition()
				rp.Partition, rp.ErrorCode = p, codes(TopicPartition{t.Topic, p})
				rt.Partitions = append(rt.Partitions, rp)
			}
			rtx.Topics = append(rtx.Topics, rt)
		}
		resp.Transactions = append(resp.Transactions, rtx)
	}
	return resp
}

func topicsOf(ts []kmsg.AddPartitionsToTxnRequestTopic) []TopicPartition {
	var out []TopicPartition
	for _, t := range ts {
		for _, p := range t.Partitions {
			out = append(out, TopicPartition{t.Topic, p})
		}
	}
	return out
}

// addTopics adds tps to id's transaction (or with verify, checks they are
// in it) and returns each partition's code: UNKNOWN_TOPIC_OR_PARTITION for
// partitions that do not exist and OPERATION_NOT_ATTEMPTED for the others
// then, as Kafka answers.
func (c *Coordinator) addTopics(ctx context.Context, id string, pid int64, epoch int16, verify bool, fencedCode int16, tps []TopicPartition) func(TopicPartition) int16 {
	unknown := map[TopicPartition]bool{}
	for _, tp := range tps {
		if c.exists != nil && !c.exists(tp.Topic, tp.Partition) {
			unknown[tp] = true
		}
	}
	if len(unknown) > 0 {
		return func(tp TopicPartition) int16 {
			if unknown[tp] {
				return kerr.UnknownTopicOrPartition.Code
			}
			return kerr.OperationNotAttempted.Code
		}
	}
	if verify {
		return c.verifyPartitions(id, pid, epoch, tps)
	}
	code := c.addPartitions(ctx, id, pid, epoch, fencedCode, tps)
	return func(TopicPartition) int16 { return code }
}

// verifyPartitions answers a VerifyOnly transaction of AddPartitionsToTxn
// v4: per partition, whether it is in the producer's ongoing transaction.
func (c *Coordinator) verifyPartitions(id string, pid int64, epoch int16, tps []TopicPartition) func(TopicPartition) int16 {
	all := func(code int16) func(TopicPartition) int16 { return func(TopicPartition) int16 { return code } }
	_, t, code := c.lookup(id, false)
	switch {
	case code != 0:
		return all(code)
	case t == nil:
		return all(kerr.InvalidProducerIDMapping.Code)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case t.m.ProducerID < 0 || pid != t.m.ProducerID:
		return all(kerr.InvalidProducerIDMapping.Code)
	case epoch != t.m.ProducerEpoch:
		return all(kerr.ProducerFenced.Code)
	case t.m.State == TxnPrepareCommit || t.m.State == TxnPrepareAbort:
		return all(kerr.ConcurrentTransactions.Code)
	}
	in := map[TopicPartition]bool{}
	if t.m.State == TxnOngoing {
		for _, tp := range t.m.Partitions {
			in[tp] = true
		}
	}
	return func(tp TopicPartition) int16 {
		if in[tp] {
			return 0
		}
		return kerr.InvalidTxnState.Code
	}
}

// AddOffsetsToTxn answers AddOffsetsToTxn v0-3: the group's
// __consumer_offsets partition joins the transaction, so that the offsets
// the producer commits with TxnOffsetCommit are committed or aborted with it.
func (c *Coordinator) AddOffsetsToTxn(ctx context.Context, req *kmsg.AddOffsetsToTxnRequest, offsetsPartition int32) *kmsg.AddOffsetsToTxnResponse {
	resp := req.ResponseKind().(*kmsg.AddOffsetsToTxnResponse)
	resp.SetVersion(req.Version)
	resp.ErrorCode = c.addPartitions(ctx, req.TransactionalID, req.ProducerID, req.ProducerEpoch, fenced(req.Version, 2),
		[]TopicPartition{{OffsetsTopic, offsetsPartition}})
	return resp
}

// OffsetsTopic is the group coordinator's topic, whose partitions join a
// transaction with AddOffsetsToTxn.
const OffsetsTopic = "__consumer_offsets"

// checkProducer returns the code for a request of producer pid at epoch
// against t's state, which the caller holds: INVALID_PRODUCER_ID_MAPPING
// for another producer id, fencedCode for another epoch,
// CONCURRENT_TRANSACTIONS while a transition is under way.
func checkProducer(t *txnMeta, pid int64, epoch int16, fencedCode int16) int16 {
	switch {
	case t.m.ProducerID < 0 || pid != t.m.ProducerID:
		return kerr.InvalidProducerIDMapping.Code
	case epoch != t.m.ProducerEpoch:
		return fencedCode
	case t.pending, t.m.State == TxnPrepareCommit, t.m.State == TxnPrepareAbort, t.m.State == TxnPrepareEpochFence:
		return kerr.ConcurrentTransactions.Code
	case t.m.State == TxnDead:
		return kerr.InvalidProducerIDMapping.Code
	}
	return 0
}

func (c *Coordinator) addPartitions(ctx context.Context, id string, pid int64, epoch int16, fencedCode int16, tps []TopicPartition) int16 {
	sh, t, code := c.lookup(id, false)
	switch {
	case code != 0:
		return code
	case t == nil:
		return kerr.InvalidProducerIDMapping.Code
	}
	for waited := false; ; waited = true {
		t.mu.Lock()
		code := checkProducer(t, pid, epoch, fencedCode)
		if code == 0 {
			break
		}
		t.mu.Unlock()
		if code != kerr.ConcurrentTransactions.Code || waited || !t.awaitIdle(ctx, c.pendingWait) {
			return code
		}
	}
	next := t.m
	next.Partitions = slices.Clone(t.m.Partitions)
	added := false
	for _, tp := range tps {
		if i, found := slices.BinarySearchFunc(next.Partitions, tp, compareTP); !found {
			next.Partitions = slices.Insert(next.Partitions, i, tp)
			added = true
		}
	}
	if !added && t.m.State == TxnOngoing {
		t.mu.Unlock()
		return 0
	}
	now := c.now()
	if t.m.State != TxnOngoing {
		next.Started = now
	}
	next.State, next.Updated = TxnOngoing, now
	t.setPending()
	t.mu.Unlock()
	return c.persist(sh, t, next, false)
}
