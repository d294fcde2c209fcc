package txn

import (
	"errors"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"
)

// EndTxn answers EndTxn v0-3: an ongoing transaction moves to
// PrepareCommit or PrepareAbort, the producer is answered once the ISR of
// __transaction_state has that, and the markers are then written to every
// partition of the transaction in the background before CompleteCommit or
// CompleteAbort is written. Until then the producer's next requests get
// CONCURRENT_TRANSACTIONS. Ending again a transaction already completed the
// same way succeeds (a retry); the other way gets INVALID_TXN_STATE.
func (c *Coordinator) EndTxn(req *kmsg.EndTxnRequest) *kmsg.EndTxnResponse {
	resp := req.ResponseKind().(*kmsg.EndTxnResponse)
	resp.SetVersion(req.Version)
	sh, t, code := c.lookup(req.TransactionalID, false)
	switch {
	case code != 0:
		resp.ErrorCode = code
		return resp
	case t == nil:
		resp.ErrorCode = kerr.InvalidProducerIDMapping.Code
		return resp
	}
	t.mu.Lock()
	if code := checkProducer(t, req.ProducerID, req.ProducerEpoch, fenced(req.Version, 2)); code != 0 {
		t.mu.Unlock()
		resp.ErrorCode = code
		return resp
	}
	switch t.m.State {
	case TxnCompleteCommit, TxnCompleteAbort:
		if (t.m.State == TxnCompleteCommit) != req.Commit {
			resp.ErrorCode = kerr.InvalidTxnState.Code
		}
		t.mu.Unlock()
		return resp
	case TxnOngoing:
	default:
		t.mu.Unlock()
		resp.ErrorCode = kerr.InvalidTxnState.Code
		return resp
	}
	next := t.m
	next.State, next.Updated = TxnPrepareAbort, c.now()
	if req.Commit {
		next.State = TxnPrepareCommit
	}
	t.setPending()
	t.mu.Unlock()
	if resp.ErrorCode = c.persist(sh, t, next, true); resp.ErrorCode == 0 {
		c.spawn(func() { c.complete(sh, t) })
	}
	return resp
}

// complete writes the markers of t, which is in PrepareCommit or
// PrepareAbort with t.pending set, to each of its partitions until all have
// them, then writes CompleteCommit or CompleteAbort and clears t.pending.
// It gives up when sh is unloaded: the next coordinator of the partition
// finds the prepared state and completes it.
func (c *Coordinator) complete(sh *shard, t *txnMeta) {
	t.mu.Lock()
	m := t.m
	t.mu.Unlock()
	marker := Marker{ProducerID: m.ProducerID, ProducerEpoch: m.ProducerEpoch, Commit: m.State == TxnPrepareCommit, CoordinatorEpoch: sh.epoch}
	log := c.logger.With(zap.String("transactional.id", t.id), zap.Int64("producer.id", m.ProducerID),
		zap.Int16("epoch", m.ProducerEpoch), zap.Bool("commit", marker.Commit))
	remaining := m.Partitions
	for attempt := 0; len(remaining) > 0; attempt++ {
		failed := c.markers.Write(sh.ctx, marker, remaining)
		if sh.ctx.Err() != nil {
			return
		}
		remaining = remaining[:0:0]
		for tp, err := range failed {
			if errors.Is(err, kerr.InvalidProducerEpoch) || errors.Is(err, kerr.TransactionCoordinatorFenced) {
				// The partition has moved past this transaction (a newer
				// epoch or coordinator wrote to it): nothing left to mark,
				// as Kafka's marker channel gives such a partition up.
				log.Warn("a partition refused the transaction marker as stale; leaving it", zap.Stringer("partition", tp), zap.Error(err))
				continue
			}
			remaining = append(remaining, tp)
			if attempt%50 == 0 {
				log.Info("a partition did not take the transaction marker; writing it again", zap.Stringer("partition", tp), zap.Error(err))
			}
		}
		if len(remaining) > 0 && !c.sleep(sh, c.cfg.MarkerRetryBackoff) {
			return
		}
	}
	next := m
	next.State = TxnCompleteAbort
	if marker.Commit {
		next.State = TxnCompleteCommit
	}
	next.Partitions, next.Started = nil, time.Time{}
	for {
		next.Updated = c.now()
		code := c.persist(sh, t, next, true)
		if code == 0 {
			break
		}
		if !c.current(sh) || code == kerr.NotCoordinator.Code {
			return
		}
		t.mu.Lock()
		t.setPending() // persist cleared it on the failure: the markers are written, the state is not
		t.mu.Unlock()
		if !c.sleep(sh, c.cfg.MarkerRetryBackoff) {
			return
		}
	}
	t.mu.Lock()
	t.clearPending()
	t.mu.Unlock()
	log.Debug("transaction completed")
}

// sleep waits d, or less if sh is unloaded; it reports whether sh is still
// loaded.
func (c *Coordinator) sleep(sh *shard, d time.Duration) bool {
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return true
	case <-sh.ctx.Done():
		return false
	}
}
