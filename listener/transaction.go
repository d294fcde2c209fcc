package listener

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/kspring/kspring/template"
)

// TransactionManager runs a function in a Kafka transaction: Spring's
// KafkaTransactionManager on a container factory. A *template.Template with
// a transaction-id-prefix is one (any K, V): fn's context carries the
// transaction, so sends through that template with it join the transaction,
// and tx adds the consumed offsets to it. Containers call it from several
// goroutines at once (one per member), so implementations must be safe for
// concurrent use; a template runs up to 16 transactions at once.
type TransactionManager interface {
	RunInTransaction(ctx context.Context, fn func(ctx context.Context, tx template.Transaction) error) error
}

// Transactional listeners.
//
// A container with a TransactionManager ([WithTransactionManager] on the
// registry, or [Transactions] on the endpoint) runs each record (or batch)
// in a transaction: the handler's sends through the transaction manager's
// template with the handler's context, a reply, and the record's offset
// (through TxnOffsetCommit, with the member's generation, never a plain
// commit) commit together or not at all: consume-process-produce, exactly
// once for readers with isolation.level=read_committed. The container's
// consumers default to read_committed.
//
// When the transaction rolls back, the record is delivered again, as
// Spring's DefaultAfterRollbackProcessor seeks back to it. If the handler
// failed, the error handler decides, in a transaction of its own,
// whether to deliver it again after its back-off or to recover it; a
// recovered record's offset commits in that transaction, with what the
// recoverer sent: a DeadLetterRecoverer publishing through the transaction
// manager's template puts the dead letter in the same transaction. A batch
// listener's batch is one transaction and is retried or recovered whole. If
// the handler succeeded but the transaction could not begin or commit (the
// broker away, a coordinator moving), the record is delivered again after
// half a second without counting as a failed delivery, so no record is
// recovered (skipped) for the broker's sake. A commit whose outcome is
// unknown (template.ErrTransactionOutcomeUnknown: the coordinator out of
// reach for the producer's whole retry budget, about 45 s) is handled the
// same way, so in that case alone a record may be processed twice.
//
// Ack modes do not apply: offsets go with the transactions, and a manual
// Acknowledgment does nothing. Transactions do not mix with RetryTopics,
// which publish and commit on their own.

// groupMetadata is the member's group metadata for transactional offsets.
func (s *groupScope) groupMetadata() template.GroupMetadata {
	return template.GroupMetadata{GroupID: s.m.c.groupID, GenerationID: s.sess.GenerationID(),
		MemberID: s.sess.MemberID(), GroupInstanceID: s.m.c.consumer.instanceID}
}

func (s *manualScope) groupMetadata() template.GroupMetadata {
	return template.GroupOnly(s.m.c.groupID)
}

// inTx runs fn in a transaction that also commits the offset after last,
// unless fn reports it should not (commit false).
func (w *worker) inTx(ctx context.Context, last *RawRecord, fn func(ctx context.Context) (commit bool, err error)) error {
	return w.c.txm.RunInTransaction(ctx, func(ctx context.Context, tx template.Transaction) error {
		commit, err := fn(ctx)
		if err != nil || !commit {
			return err
		}
		return tx.SendOffsets(ctx, []template.PartitionOffset{{Topic: w.tp.Topic, Partition: w.tp.Partition, Offset: last.Offset + 1}},
			w.sc.groupMetadata())
	})
}

// commitSkipped commits, in a transaction of its own, the offset after a
// record that was filtered out, so that the partition's position moves.
func (w *worker) commitSkipped(raw *RawRecord) {
	if err := w.inTx(w.m.ctx, raw, func(context.Context) (bool, error) { return true, nil }); err != nil {
		w.m.log.Warn("kafka listener: could not commit the offset of a skipped record; a later transaction will",
			zap.String("topic", raw.Topic), zap.Int32("partition", raw.Partition), zap.Int64("offset", raw.Offset), zap.Error(err))
	}
}

// deliverRecordTx delivers raw in a transaction until it is processed or
// recovered. It reports false when the session ended first.
func (w *worker) deliverRecordTx(raw *RawRecord) bool {
	if w.c.filter != nil && w.filtered(raw) {
		w.commitSkipped(raw)
		return !w.sessionDone()
	}
	var ack Acknowledgment
	if w.c.ackMode.manual() {
		ack = txAck{}
	}
	attempt := w.firstAttempt(raw)
	for {
		ctx, ok := w.intercept(w.m.ctx, raw)
		if !ok {
			w.commitSkipped(raw)
			return true
		}
		var herr error
		err := w.inTx(ctx, raw, func(ctx context.Context) (bool, error) {
			out, err := w.c.del.record(ctx, raw, attempt, ack)
			if err == nil && out.ok {
				err = w.sendReply(ctx, raw, out)
			}
			herr = err
			return true, err
		})
		w.after(ctx, raw, err)
		if err == nil {
			return true
		}
		if herr == nil {
			if !w.txFailed(raw, err) {
				return false
			}
			continue
		}
		retry, after := w.afterRollback(&Failure{Records: []*RawRecord{raw}, Err: cmpErr(herr, err), Attempt: attempt}, raw)
		if !retry {
			return true
		}
		if !w.sleep(after) {
			return false
		}
		attempt++
	}
}

// txRetryBackoff is the pause before delivering again a record whose
// transaction failed while its handler did not (the broker could not begin
// or commit it).
const txRetryBackoff = 500 * time.Millisecond

// txFailed logs a transaction that failed though its handler did not, and
// waits txRetryBackoff before the record is delivered again. Such failures
// (a broker restarting, a coordinator moving) are not failed deliveries:
// they do not count towards the error handler's attempts, so a record is
// never skipped because the broker was away. It reports false when the
// session ended meanwhile.
func (w *worker) txFailed(raw *RawRecord, err error) bool {
	w.m.log.Warn("kafka listener: transaction failed; delivering the record again",
		zap.String("topic", raw.Topic), zap.Int32("partition", raw.Partition), zap.Int64("offset", raw.Offset), zap.Error(err))
	return w.sleep(txRetryBackoff)
}

// afterRollback is Spring's DefaultAfterRollbackProcessor: the error
// handler decides in a transaction whether f's records are delivered again;
// if not (they were recovered), the offset after last commits in that
// transaction.
func (w *worker) afterRollback(f *Failure, last *RawRecord) (retry bool, after time.Duration) {
	err := w.inTx(w.m.ctx, last, func(ctx context.Context) (bool, error) {
		retry, after = w.handleIn(ctx, f)
		return !retry, nil
	})
	if err != nil && !retry {
		w.m.log.Warn("kafka listener: the transaction of a recovered record rolled back; delivering it again",
			zap.String("topic", last.Topic), zap.Int32("partition", last.Partition), zap.Int64("offset", last.Offset), zap.Error(err))
		return true, max(after, time.Second)
	}
	return retry, after
}

// processBatchTx delivers a batch in one transaction until it is processed
// or recovered.
func (w *worker) processBatchTx(raws []*RawRecord) bool {
	defer w.release()
	if !w.waitActive() || !w.acquire() {
		return false
	}
	last := raws[len(raws)-1]
	pending := make([]*RawRecord, 0, len(raws))
	for _, raw := range raws {
		if w.c.filter != nil && w.filtered(raw) {
			continue
		}
		if _, keep := w.intercept(w.m.ctx, raw); keep {
			pending = append(pending, raw)
		}
	}
	if len(pending) == 0 {
		w.commitSkipped(last)
		return true
	}
	var acks []Acknowledgment
	if w.c.ackMode.manual() {
		acks = make([]Acknowledgment, len(pending))
		for i := range acks {
			acks[i] = txAck{}
		}
	}
	for attempt := 1; ; attempt++ {
		var herr error
		err := w.inTx(w.m.ctx, last, func(ctx context.Context) (bool, error) {
			bad, err := w.c.del.batch(ctx, pending, attempt, acks)
			for _, b := range bad {
				// A record that cannot be deserialized is recovered, once,
				// in the batch's transaction.
				if retry, _ := w.handleIn(ctx, &Failure{Records: []*RawRecord{pending[b.index]}, Err: b.err, Attempt: 1}); retry {
					w.m.log.Error("kafka listener: a record that cannot be deserialized was not recovered; skipping it",
						zap.String("topic", w.tp.Topic), zap.Int32("partition", w.tp.Partition), zap.Int64("offset", pending[b.index].Offset))
				}
			}
			if bf, ok := errors.AsType[*BatchFailedError](err); ok {
				err = bf.Err
			}
			herr = err
			return true, err
		})
		for _, raw := range pending {
			w.after(w.m.ctx, raw, err)
		}
		if err == nil {
			return true
		}
		if herr == nil {
			if !w.txFailed(last, err) {
				return false
			}
			attempt--
			continue
		}
		retry, after := w.afterRollback(&Failure{Records: pending, Err: cmpErr(herr, err), Attempt: attempt}, last)
		if !retry {
			return true
		}
		if !w.sleep(after) {
			return false
		}
	}
}

// cmpErr is the handler's error if it failed, else the transaction's.
func cmpErr(handler, tx error) error {
	if handler != nil {
		return handler
	}
	return tx
}

// txAck is the Acknowledgment of a transactional listener: offsets go with
// the transaction, so acknowledging does nothing.
type txAck struct{}

func (txAck) Acknowledge()         {}
func (txAck) Nack(_ time.Duration) {}

// checkTransactional refuses what transactions do not mix with.
func (c *Container) checkTransactional() error {
	if c.txm == nil {
		return nil
	}
	if c.retry != nil {
		return fmt.Errorf("%w: transactions do not mix with RetryTopics", ErrConfig)
	}
	if c.groupID == "" {
		return fmt.Errorf("%w: transactional offsets need a group id", ErrConfig)
	}
	return nil
}
