package txn

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"
)

// InitProducerID answers InitProducerId for a transactional id: a new
// producer id the first time, else the epoch bumped (fencing the previous
// incarnation), or a new producer id once the epoch is exhausted. A
// transaction the previous incarnation left ongoing is aborted first, with
// the epoch bumped; the producer gets CONCURRENT_TRANSACTIONS until that is
// done and asks again. A producer that sends its id and epoch (KIP-360, v3+)
// gets them bumped if they are current, the current ones again if it is
// retrying an answer it lost, and PRODUCER_FENCED otherwise.
func (c *Coordinator) InitProducerID(ctx context.Context, req *kmsg.InitProducerIDRequest) *kmsg.InitProducerIDResponse {
	resp := req.ResponseKind().(*kmsg.InitProducerIDResponse)
	resp.SetVersion(req.Version)
	resp.ProducerID, resp.ProducerEpoch = -1, -1
	if req.TransactionalID == nil || *req.TransactionalID == "" {
		resp.ErrorCode = kerr.InvalidRequest.Code // as Kafka answers an empty transactional id
		return resp
	}
	id := *req.TransactionalID
	timeout := time.Duration(req.TransactionTimeoutMillis) * time.Millisecond
	if req.TransactionTimeoutMillis <= 0 || timeout > c.cfg.MaxTimeout {
		resp.ErrorCode = kerr.InvalidTransactionTimeout.Code
		return resp
	}
	sh, t, code := c.lookup(id, true)
	if code != 0 {
		resp.ErrorCode = code
		return resp
	}
	t.mu.Lock()
	if t.pending {
		t.mu.Unlock()
		resp.ErrorCode = kerr.ConcurrentTransactions.Code
		return resp
	}
	m := t.m
	reqPID, reqEpoch := req.ProducerID, req.ProducerEpoch
	if req.Version < 3 {
		reqPID, reqEpoch = -1, -1
	}
	if reqPID >= 0 && m.ProducerID >= 0 {
		switch {
		case reqPID == m.ProducerID && reqEpoch == m.ProducerEpoch:
		case reqPID == m.ProducerID && reqEpoch == t.lastEpoch && m.State != TxnOngoing,
			reqPID == m.PreviousProducerID && m.ProducerEpoch == 0 && m.State != TxnOngoing:
			// A retry of an InitProducerId whose answer was lost.
			t.mu.Unlock()
			resp.ProducerID, resp.ProducerEpoch = m.ProducerID, m.ProducerEpoch
			return resp
		default:
			t.mu.Unlock()
			resp.ErrorCode = fenced(req.Version, 4)
			return resp
		}
	}
	now := c.now()
	switch m.State {
	case TxnPrepareCommit, TxnPrepareAbort, TxnPrepareEpochFence:
		t.mu.Unlock()
		resp.ErrorCode = kerr.ConcurrentTransactions.Code
		return resp
	case TxnOngoing:
		// Fence the previous incarnation and abort its transaction.
		next := m
		if next.ProducerEpoch < maxEpoch {
			next.ProducerEpoch++
		}
		next.State, next.Updated = TxnPrepareAbort, now
		t.setPending()
		t.mu.Unlock()
		if code := c.persist(sh, t, next, true); code != 0 {
			resp.ErrorCode = code
			return resp
		}
		c.logger.Info("aborting the ongoing transaction of a transactional id initialised again",
			zap.String("transactional.id", id), zap.Int64("producer.id", next.ProducerID), zap.Int16("epoch", next.ProducerEpoch))
		c.spawn(func() { c.complete(sh, t) })
		resp.ErrorCode = kerr.ConcurrentTransactions.Code
		return resp
	}
	// Empty, CompleteCommit, CompleteAbort: bump the epoch, or take a new id.
	t.setPending()
	t.mu.Unlock()
	next := m
	if m.ProducerID < 0 || m.ProducerEpoch >= maxEpoch {
		pid, err := c.pids(ctx)
		if err != nil {
			c.logger.Error("allocating a producer id failed", zap.Error(err))
			t.mu.Lock()
			t.clearPending()
			t.mu.Unlock()
			resp.ErrorCode = kerr.CoordinatorNotAvailable.Code
			return resp
		}
		next.PreviousProducerID, next.ProducerID, next.ProducerEpoch = m.ProducerID, pid, 0
	} else {
		next.ProducerEpoch++
	}
	next.Timeout, next.State, next.Partitions, next.Updated, next.Started = timeout, TxnEmpty, nil, now, time.Time{}
	if code := c.persist(sh, t, next, false); code != 0 {
		resp.ErrorCode = code
		return resp
	}
	resp.ProducerID, resp.ProducerEpoch = next.ProducerID, next.ProducerEpoch
	return resp
}
