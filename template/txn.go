package template

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/IBM/sarama"
)

// Transactions.
//
// A template whose Config has a transaction-id-prefix is transactional, as
// Spring's KafkaTemplate over a transactional producer factory:
//
//   - ExecuteInTransaction runs a function in a Kafka transaction (Spring's
//     executeInTransaction): it begins, runs the function, waits for the
//     futures of the sends made in it, and commits; it aborts when the
//     function returns an error or panics (the panic goes on, after the
//     abort, in the caller's goroutine), when a send in it failed, or when
//     the commit fails. Offsets of consumed records go with the transaction
//     through Tx.SendOffsets (consume-process-produce).
//   - A send whose context carries the template's transaction (Tx.Context,
//     or a listener container running a record in a transaction) joins it.
//     A transactional template of other types joins the transaction of a
//     template of bytes ([]byte, []byte, whose serializers pass bytes
//     through, as serde.Bytes) that the context carries: it serializes the
//     record and sends it through that template, so the record is in the
//     transaction. (The framework's listener containers run their
//     transactions on its template of bytes, so a handler's sends through
//     any template of the application join them, as in Spring, where
//     templates of one producer factory share its transactions.)
//   - Any other send on a transactional template runs in a transaction of its
//     own, committed before its future completes. That costs a transaction
//     (a few round trips to the coordinator) per record: send records that
//     belong together in one ExecuteInTransaction. (Spring's KafkaTemplate
//     refuses such sends unless allowNonTransactional is set; kspring makes
//     "every send transactional", as spring.kafka.producer.transaction-id-prefix
//     promises, and has no non-transactional mode on a transactional
//     template: WithAllowNonTransactional(true) fails with ErrConfig. Use a
//     second template without the prefix for sends outside transactions.)
//
// The template keeps a pool of transactional producers, as Spring's
// DefaultKafkaProducerFactory caches them, each with a transactional.id =
// prefix + n (see Config.TransactionIDPrefix) and a client of its own: a
// transaction takes an idle one, or a new one while there are fewer than 16,
// else waits up to max-block-ms, or until its context ends, for one to be
// free. (A template over a client whose config names a transactional.id has
// just that one producer, so its transactions run one at a time.) A
// producer the broker fenced (PRODUCER_FENCED: another producer with the
// same transactional.id started), or left unable to go on, is replaced by a
// new one with the same id on its next transaction; the new one fences the
// other in turn.
//
// A future of a send inside a transaction completes when the broker has the
// record, before the commit: its success says the record was written, not
// that the transaction committed. ExecuteInTransaction returns nil only once
// the transaction committed.

// GroupMetadata identifies the consumer whose offsets a transaction commits:
// Kafka's ConsumerGroupMetadata. The broker checks the generation and member
// of a group member, which fences a zombie member whose partitions moved
// (KIP-447); GroupOnly gives metadata without them, for a consumer outside
// group management.
type GroupMetadata struct {
	GroupID         string
	GenerationID    int32
	MemberID        string
	GroupInstanceID string // static membership; "" for none
}

// GroupOnly returns metadata naming only the group: generation -1, no member.
func GroupOnly(groupID string) GroupMetadata {
	return GroupMetadata{GroupID: groupID, GenerationID: -1}
}

// PartitionOffset is the position to commit for one partition: the offset of
// the next record to consume (the last one processed + 1).
type PartitionOffset struct {
	Topic     string
	Partition int32
	Offset    int64
	Metadata  string
}

// Transaction is what a transaction offers beyond typed sends, so that code
// that does not know the template's types (a listener container) can drive
// one: see Template.RunInTransaction.
type Transaction interface {
	// SendOffsets adds consumed offsets to the transaction: they are
	// committed for the group if, and when, the transaction commits.
	SendOffsets(ctx context.Context, offsets []PartitionOffset, group GroupMetadata) error
}

// Tx is a transaction in progress on a Template, as ExecuteInTransaction
// hands it out. Its Send methods send in the transaction; so do the
// template's own Send methods given a context from Tx.Context. A Tx is safe
// for concurrent use while the transaction runs; once it ended, sends fail
// with ErrTransactionDone.
type Tx[K, V any] struct {
	t       *Template[K, V]
	p       *txnProducer // held from begin until the transaction ends
	mu      sync.Mutex
	ended   bool
	futures []*Future[K, V]
}

// Context returns ctx carrying tx: sends through the template with it join
// the transaction.
func (tx *Tx[K, V]) Context(ctx context.Context) context.Context {
	ctx = context.WithValue(ctx, tx.t.txn, tx)
	if bt, ok := any(tx).(byteTx); ok {
		ctx = context.WithValue(ctx, joinKey{}, bt)
	}
	return ctx
}

// Send sends value with a null key to topic in the transaction.
func (tx *Tx[K, V]) Send(ctx context.Context, topic string, value V) *Future[K, V] {
	return tx.SendRecord(ctx, ProducerRecord[K, V]{Topic: topic, Value: value})
}

// SendKey sends value with key to topic in the transaction.
func (tx *Tx[K, V]) SendKey(ctx context.Context, topic string, key K, value V) *Future[K, V] {
	f := tx.t.newFuture()
	f.key = key
	f.rec = ProducerRecord[K, V]{Topic: topic, Key: &f.key, Value: value}
	tx.t.sendIn(ctx, f, tx)
	return f
}

// SendPartition sends value with key to the partition of topic in the
// transaction.
func (tx *Tx[K, V]) SendPartition(ctx context.Context, topic string, partition int32, key K, value V) *Future[K, V] {
	f := tx.t.newFuture()
	f.key, f.partition = key, partition
	f.rec = ProducerRecord[K, V]{Topic: topic, Partition: &f.partition, Key: &f.key, Value: value}
	tx.t.sendIn(ctx, f, tx)
	return f
}

// SendRecord sends rec in the transaction; an empty Topic means the default
// topic.
func (tx *Tx[K, V]) SendRecord(ctx context.Context, rec ProducerRecord[K, V]) *Future[K, V] {
	f := tx.t.newFuture()
	f.rec = rec
	tx.t.sendIn(ctx, f, tx)
	return f
}

// SendDefault sends value with a null key to the default topic in the
// transaction.
func (tx *Tx[K, V]) SendDefault(ctx context.Context, value V) *Future[K, V] {
	return tx.SendRecord(ctx, ProducerRecord[K, V]{Value: value})
}

// SendOffsets adds offsets to the transaction for group (Java's
// sendOffsetsToTransaction): the broker commits them with the transaction,
// and drops them if it aborts. The producer sends them (AddOffsetsToTxn,
// TxnOffsetCommit) when the transaction commits; an error there aborts it.
func (tx *Tx[K, V]) SendOffsets(ctx context.Context, offsets []PartitionOffset, group GroupMetadata) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if group.GroupID == "" {
		return fmt.Errorf("%w: send offsets: no group id", ErrConfig)
	}
	byTopic := make(map[string][]*sarama.PartitionOffsetMetadata)
	for _, o := range offsets {
		md := o.Metadata
		byTopic[o.Topic] = append(byTopic[o.Topic], &sarama.PartitionOffsetMetadata{Partition: o.Partition, Offset: o.Offset, Metadata: &md})
	}
	gm := &sarama.ConsumerGroupMetadata{GroupID: group.GroupID, GenerationID: group.GenerationID, MemberID: group.MemberID}
	if group.GroupInstanceID != "" {
		id := group.GroupInstanceID
		gm.GroupInstanceID = &id
	}
	tx.mu.Lock()
	defer tx.mu.Unlock()
	if tx.ended {
		return ErrTransactionDone
	}
	if err := tx.p.producer.AddOffsetsToTxnWithGroupMetadata(byTopic, gm); err != nil {
		return fmt.Errorf("template: send offsets of group %q to the transaction: %w", group.GroupID, kafkaCause(err))
	}
	return nil
}

// track adds f to the transaction's sends; it reports false once the
// transaction has ended.
func (tx *Tx[K, V]) track(f *Future[K, V]) bool {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	if tx.ended {
		return false
	}
	tx.futures = append(tx.futures, f)
	return true
}

// IsTransactional reports whether the template has a transaction-id-prefix
// (Spring's isTransactional).
func (t *Template[K, V]) IsTransactional() bool { return t.txn != nil }

// InTransaction reports whether ctx carries a transaction of t: whether a
// send with ctx joins it (Spring's inTransaction).
func (t *Template[K, V]) InTransaction(ctx context.Context) bool { return t.txFrom(ctx) != nil }

func (t *Template[K, V]) txFrom(ctx context.Context) *Tx[K, V] {
	if t.txn == nil {
		return nil
	}
	tx, _ := ctx.Value(t.txn).(*Tx[K, V])
	return tx
}

// ExecuteInTransaction runs fn in a transaction, as Spring's
// executeInTransaction: it commits if fn returns nil and every send made in
// the transaction succeeded, and aborts otherwise. It returns nil once the
// transaction committed; an error wrapping ErrTransactionAborted (and the
// cause: fn's error, the failed send's *SendError, the commit's Kafka error)
// if it aborted; or ErrTransactionOutcomeUnknown if ctx ended during the
// commit. ctx bounds the wait for the transactional producer and for the
// commit. If fn panics, the transaction aborts and the panic goes on.
//
// It is safe to call from many goroutines: each transaction takes a
// producer of the template's pool (up to 16 at once; more wait, up to
// max-block-ms). fn may send from other goroutines, until it returns. It fails with ErrNotTransactional on a
// template without a transaction-id-prefix and with ErrInTransaction if ctx
// already carries a transaction of t.
func (t *Template[K, V]) ExecuteInTransaction(ctx context.Context, fn func(tx *Tx[K, V]) error) error {
	if t.txn == nil {
		return ErrNotTransactional
	}
	if t.txFrom(ctx) != nil {
		return ErrInTransaction
	}
	tx, err := t.begin(ctx)
	if err != nil {
		return err
	}
	ok := false
	defer func() {
		if !ok {
			// fn panicked: abort, then let the panic go on.
			_ = tx.end(context.WithoutCancel(ctx), false)
		}
	}()
	ferr := fn(tx)
	ok = true
	if ferr != nil {
		if aerr := tx.end(ctx, false); aerr != nil && !errors.Is(aerr, ErrTransactionAborted) {
			return fmt.Errorf("%w: %w (abort: %w)", ErrTransactionAborted, ferr, aerr)
		}
		return fmt.Errorf("%w: %w", ErrTransactionAborted, ferr)
	}
	return tx.end(ctx, true)
}

// RunInTransaction is ExecuteInTransaction for code that does not know the
// template's types: fn gets a context carrying the transaction (sends
// through t with it join the transaction) and the Transaction for offsets.
// Package listener runs records in transactions through it.
func (t *Template[K, V]) RunInTransaction(ctx context.Context, fn func(ctx context.Context, tx Transaction) error) error {
	return t.ExecuteInTransaction(ctx, func(tx *Tx[K, V]) error {
		return fn(tx.Context(ctx), tx)
	})
}

// end commits or aborts the transaction on a goroutine of its own, which
// frees the producer for the next transaction when done, and waits for it
// or for ctx to end.
func (tx *Tx[K, V]) end(ctx context.Context, commit bool) error {
	tx.mu.Lock()
	tx.ended = true
	fs := tx.futures
	tx.futures = nil
	tx.mu.Unlock()
	t := tx.t
	result := make(chan error, 1)
	go func() {
		defer t.txn.release(tx.p)
		result <- t.endTxn(tx.p.producer, fs, commit)
	}()
	select {
	case err := <-result:
		return err
	case <-ctx.Done():
		if commit {
			return fmt.Errorf("%w: %w", ErrTransactionOutcomeUnknown, ctx.Err())
		}
		return fmt.Errorf("%w: %w", ErrTransactionAborted, ctx.Err())
	}
}

// endTxn waits for the transaction's sends to complete, then commits it if
// asked and they all succeeded, else aborts it. The caller holds p.
func (t *Template[K, V]) endTxn(p sarama.AsyncProducer, fs []*Future[K, V], commit bool) error {
	var sendErr error
	for _, f := range fs {
		<-f.Done() // delivery-timeout-ms bounds this
		if _, err := f.Result(); err != nil && sendErr == nil {
			sendErr = err
		}
	}
	if commit && sendErr == nil {
		err := p.CommitTxn()
		if err == nil {
			return nil
		}
		cause := kafkaCause(err)
		st := p.TxnStatus()
		switch {
		case st&sarama.ProducerTxnFlagAbortableError != 0:
			if aerr := p.AbortTxn(); aerr != nil {
				return fmt.Errorf("%w: commit: %w (abort: %v)", ErrTransactionAborted, cause, aerr)
			}
		case st&sarama.ProducerTxnFlagFatalError == 0:
			// Neither refused nor fenced: the coordinator could not be
			// reached for the whole retry budget and may have decided. The
			// next transaction on this producer replaces it, which completes
			// or aborts this one.
			return fmt.Errorf("%w: commit: %w", ErrTransactionOutcomeUnknown, cause)
		}
		// Fenced (or refused for good): a newer producer with the id
		// started, and the coordinator aborted this transaction.
		return fmt.Errorf("%w: commit: %w", ErrTransactionAborted, cause)
	}
	aerr := p.AbortTxn()
	switch {
	case sendErr != nil && aerr != nil:
		return fmt.Errorf("%w: %w (abort: %v)", ErrTransactionAborted, sendErr, kafkaCause(aerr))
	case sendErr != nil:
		return fmt.Errorf("%w: %w", ErrTransactionAborted, sendErr)
	case aerr != nil:
		// A fenced producer cannot abort; the broker aborts the
		// transaction when the next producer with the id starts.
		return fmt.Errorf("%w: abort: %w", ErrTransactionAborted, kafkaCause(aerr))
	}
	return nil
}
