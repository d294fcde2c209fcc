package txn

import (
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// AddPartitionsToTxn answers AddPartitionsToTxn v0-3: the partitions join
// the producer's transaction, which becomes Ongoing, once the ISR of
// __transaction_state has the new state. A request that adds nothing new to
// an ongoing transaction writes nothing.
func (c *Coordinator) AddPartitionsToTxn(req *kmsg.AddPartitionsToTxnRequest) *kmsg.AddPartitionsToTxnResponse {
	resp := req.ResponseKind().(*kmsg.AddPartitionsToTxnResponse)
	resp.SetVersion(req.Version)
	var tps []TopicPartition
	unknown := map[TopicPartition]bool{}
	for _, t := range req.Topics {
		for _, p := range t.Partitions {
			tp := TopicPartition{t.Topic, p}
			tps = append(tps, tp)
			if c.exists != nil && !c.exists(t.Topic, p) {
				unknown[tp] = true
			}
		}
	}
	code := int16(0)
	if len(unknown) > 0 {
		code = kerr.OperationNotAttempted.Code
	} else {
		code = c.addPartitions(req.TransactionalID, req.ProducerID, req.ProducerEpoch, fenced(req.Version, 2), tps)
	}
	for _, t := range req.Topics {
		rt := kmsg.NewAddPartitionsToTxnResponseTopic()
		rt.Topic = t.Topic
		for _, p := range t.Partitions {
			rp := kmsg.NewAddPartitionsToTxnResponseTopicPartition()
			rp.Partition, rp.ErrorCode = p, code
			if unknown[TopicPartition{t.Topic, p}] {
				rp.ErrorCode = kerr.UnknownTopicOrPartition.Code
			}
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}

// AddOffsetsToTxn answers AddOffsetsToTxn v0-3: the group's
// __consumer_offsets partition joins the transaction, so that the offsets
// the producer commits with TxnOffsetCommit are committed or aborted with it.
func (c *Coordinator) AddOffsetsToTxn(req *kmsg.AddOffsetsToTxnRequest, offsetsPartition int32) *kmsg.AddOffsetsToTxnResponse {
	resp := req.ResponseKind().(*kmsg.AddOffsetsToTxnResponse)
	resp.SetVersion(req.Version)
	resp.ErrorCode = c.addPartitions(req.TransactionalID, req.ProducerID, req.ProducerEpoch, fenced(req.Version, 2),
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

func (c *Coordinator) addPartitions(id string, pid int64, epoch int16, fencedCode int16, tps []TopicPartition) int16 {
	sh, t, code := c.lookup(id, false)
	switch {
	case code != 0:
		return code
	case t == nil:
		return kerr.InvalidProducerIDMapping.Code
	}
	t.mu.Lock()
	if code := checkProducer(t, pid, epoch, fencedCode); code != 0 {
		t.mu.Unlock()
		return code
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
	t.pending = true
	t.mu.Unlock()
	return c.persist(sh, t, next, false)
}
