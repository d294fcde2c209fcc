package txn

import (
	"go.uber.org/zap"
)

// loaded returns the loaded shards and their transactions, for the sweeps.
func (c *Coordinator) loaded() map[*shard][]*txnMeta {
	c.mu.Lock()
	shards := make([]*shard, 0, len(c.shards))
	for _, sh := range c.shards {
		shards = append(shards, sh)
	}
	c.mu.Unlock()
	out := map[*shard][]*txnMeta{}
	for _, sh := range shards {
		sh.mu.Lock()
		if !sh.loading {
			for _, t := range sh.txns {
				out[sh] = append(out[sh], t)
			}
		}
		sh.mu.Unlock()
	}
	return out
}

// abortTimedOut aborts every ongoing transaction older than its timeout
// (transaction.timeout.ms), as Kafka's abortTimedOutTransactions does: the
// epoch is bumped, so the producer that let it time out is fenced, and the
// transaction is aborted with markers at the new epoch.
func (c *Coordinator) abortTimedOut() {
	now := c.now()
	for sh, txns := range c.loaded() {
		for _, t := range txns {
			t.mu.Lock()
			if t.pending || t.m.State != TxnOngoing || now.Sub(t.m.Started) <= t.m.Timeout {
				t.mu.Unlock()
				continue
			}
			next := t.m
			if next.ProducerEpoch < maxEpoch {
				next.ProducerEpoch++
			}
			next.State, next.Updated = TxnPrepareAbort, now
			t.setPending()
			t.mu.Unlock()
			if code := c.persist(sh, t, next, true); code != 0 {
				c.logger.Warn("could not abort a timed-out transaction; trying again at the next sweep",
					zap.String("transactional.id", t.id), zap.Int16("code", code))
				continue
			}
			c.logger.Info("aborting a transaction past its timeout", zap.String("transactional.id", t.id),
				zap.Int64("producer.id", next.ProducerID), zap.Int16("epoch", next.ProducerEpoch), zap.Duration("timeout", next.Timeout))
			c.spawn(func() { c.complete(sh, t) })
		}
	}
}

// expireIDs removes transactional ids with no transaction that have not
// been used for transactional.id.expiration.ms, with a tombstone.
func (c *Coordinator) expireIDs() {
	now := c.now()
	for sh, txns := range c.loaded() {
		for _, t := range txns {
			t.mu.Lock()
			switch t.m.State {
			case TxnEmpty, TxnCompleteCommit, TxnCompleteAbort:
			default:
				t.mu.Unlock()
				continue
			}
			if t.pending || t.m.ProducerID < 0 || now.Sub(t.m.Updated) <= c.cfg.IDExpiration {
				t.mu.Unlock()
				continue
			}
			next := t.m
			next.State = TxnDead
			t.setPending()
			t.mu.Unlock()
			if code := c.persist(sh, t, next, true); code != 0 {
				continue
			}
			sh.mu.Lock()
			if sh.txns[t.id] == t {
				delete(sh.txns, t.id)
			}
			sh.mu.Unlock()
			c.logger.Info("transactional id expired", zap.String("transactional.id", t.id))
		}
	}
}
