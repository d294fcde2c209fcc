package template

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/IBM/sarama"
	"go.uber.org/zap"
)

// txnState is the transactional side of a template: the producer's
// transactional.id, the client it runs on, and the slot that lets one
// transaction at a time use the producer. The pointer is also the context
// key of the template's transactions.
type txnState[K, V any] struct {
	id        string
	client    sarama.Client // the producer's; its config has the transactional.id
	ownClient bool
	slot      chan struct{} // capacity 1: held from begin until commit or abort end

	// Sends outside a transaction, each in a transaction of its own, whose
	// futures have not completed: Flush waits for them, Close for autoWG.
	autoMu sync.Mutex
	auto   map[*Future[K, V]]struct{}
	autoWG sync.WaitGroup
}

// txnRetryBackoff is the first wait before a transaction request is retried.
const txnRetryBackoff = 5 * time.Millisecond

// txnIDs numbers the transactional producers per prefix in this process, as
// Spring's DefaultKafkaProducerFactory numbers its producers.
var txnIDs = struct {
	mu   sync.Mutex
	next map[string]int
}{next: map[string]int{}}

func nextTxnID(prefix string) string {
	txnIDs.mu.Lock()
	defer txnIDs.mu.Unlock()
	n := txnIDs.next[prefix]
	txnIDs.next[prefix] = n + 1
	return prefix + strconv.Itoa(n)
}

// newTxnState sets up the transactional producer's client: with a prefix, a
// client of the template's own, on the brokers client knows, with client's
// config made transactional; else client itself, whose config names the
// transactional.id.
func newTxnState[K, V any](client sarama.Client, s settings) (*txnState[K, V], error) {
	ts := &txnState[K, V]{slot: make(chan struct{}, 1), auto: map[*Future[K, V]]struct{}{}}
	if s.txnPrefix == "" {
		ts.id, ts.client = client.Config().Producer.Transaction.ID, client
		return ts, nil
	}
	cfg := *client.Config() // a shallow copy: TLS, SASL, metrics are shared
	cfg.Producer.Idempotent = true
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Producer.Retry.Max = max(cfg.Producer.Retry.Max, 1)
	cfg.Net.MaxOpenRequests = 1
	cfg.Producer.Transaction.Timeout = s.txnTimeout
	// Transaction requests refused with CONCURRENT_TRANSACTIONS (the
	// previous transaction's markers still being written, which takes the
	// broker about a millisecond) are retried after 5 ms, doubling to a
	// second. sarama's default waits 100 ms each time (Java's producer 20 ms
	// for AddPartitionsToTxn), which costs a transaction that follows another
	// at once far more than the markers do.
	cfg.Producer.Transaction.Retry.Max = max(cfg.Producer.Transaction.Retry.Max, 50)
	cfg.Producer.Transaction.Retry.BackoffFunc = func(retries, _ int) time.Duration {
		return expBackoff(txnRetryBackoff, time.Second, retries)
	}
	brokers := client.Brokers()
	if len(brokers) == 0 {
		// A client that has fetched no topic's metadata yet knows only its
		// seed brokers, which it does not list.
		if err := client.RefreshMetadata(); err != nil {
			return nil, fmt.Errorf("template: transactional producer: metadata: %w", err)
		}
		brokers = client.Brokers()
	}
	var addrs []string
	for _, b := range brokers {
		addrs = append(addrs, b.Addr())
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("%w: transactional producer: the client knows no broker", ErrConfig)
	}
	ts.id = nextTxnID(s.txnPrefix)
	cfg.Producer.Transaction.ID = ts.id
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("%w: transactional producer %s: sarama: %w", ErrConfig, ts.id, err)
	}
	c, err := sarama.NewClient(addrs, &cfg)
	if err != nil {
		return nil, fmt.Errorf("template: transactional producer %s: connect to %v: %w", ts.id, addrs, err)
	}
	ts.client, ts.ownClient = c, true
	return ts, nil
}

// acquire takes the producer for a transaction, waiting at most maxBlock,
// until ctx ends or closing is closed.
func (ts *txnState[K, V]) acquire(ctx context.Context, closing <-chan struct{}, maxBlock time.Duration) error {
	select {
	case ts.slot <- struct{}{}:
		return nil
	default:
	}
	timer := time.NewTimer(maxBlock)
	defer timer.Stop()
	select {
	case ts.slot <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-closing:
		return ErrClosed
	case <-timer.C:
		return fmt.Errorf("template: transactional producer %s busy for max-block-ms %v: %w", ts.id, maxBlock, context.DeadlineExceeded)
	}
}

func (ts *txnState[K, V]) release() { <-ts.slot }

// currentProducer returns the producer that transactions use now.
func (t *Template[K, V]) currentProducer() sarama.AsyncProducer {
	t.sendMu.RLock()
	defer t.sendMu.RUnlock()
	return t.producer
}

// begin takes the producer and begins a transaction on it, replacing the
// producer first if it cannot begin one (fenced, or left in error).
func (t *Template[K, V]) begin(ctx context.Context) (*Tx[K, V], error) {
	if err := t.txn.acquire(ctx, t.closing, t.maxBlock); err != nil {
		return nil, err
	}
	if t.closed.Load() {
		t.txn.release()
		return nil, ErrClosed
	}
	p, err := t.readyProducer()
	if err == nil {
		err = p.BeginTxn()
	}
	if err != nil {
		t.txn.release()
		return nil, fmt.Errorf("template: begin transaction (transactional.id %s): %w", t.txn.id, kafkaCause(err))
	}
	return &Tx[K, V]{t: t}, nil
}

// readyProducer returns a producer ready to begin a transaction. The caller
// holds the slot.
func (t *Template[K, V]) readyProducer() (sarama.AsyncProducer, error) {
	p := t.currentProducer()
	st := p.TxnStatus()
	if st&sarama.ProducerTxnFlagReady != 0 {
		return p, nil
	}
	if st&sarama.ProducerTxnFlagAbortableError != 0 {
		if err := p.AbortTxn(); err == nil && p.TxnStatus()&sarama.ProducerTxnFlagReady != 0 {
			return p, nil
		}
	}
	t.log.Info("kafka template: replacing the transactional producer",
		zap.String("transactional.id", t.txn.id), zap.Stringer("state", st))
	return t.renewProducer()
}

// renewProducer replaces the producer with a new one on the same client and
// transactional.id: its InitProducerId bumps the epoch, which fences the old
// one and aborts a transaction it left open. The old producer's records
// still complete through its drain goroutines. The caller holds the slot.
func (t *Template[K, V]) renewProducer() (sarama.AsyncProducer, error) {
	np, err := sarama.NewAsyncProducerFromClient(t.txn.client)
	if err != nil {
		return nil, fmt.Errorf("new producer: %w", err)
	}
	t.sendMu.Lock()
	if t.closed.Load() {
		t.sendMu.Unlock()
		_ = np.Close()
		return nil, ErrClosed
	}
	old := t.producer
	t.producer, t.input = np, np.Input()
	t.draining.Add(2)
	t.sendMu.Unlock()
	go t.drainSuccesses(np)
	go t.drainErrors(np)
	old.AsyncClose()
	return np, nil
}

// closeTransactional closes the producer once no transaction holds it: a
// transaction in progress ends first (its sends fail, as the template is
// closed, so it aborts).
func (t *Template[K, V]) closeTransactional() {
	go func() {
		t.txn.slot <- struct{}{} // never given back: the template is closed
		t.txn.autoWG.Wait()
		t.currentProducer().AsyncClose()
	}()
}

// sendIn sends f in tx.
func (t *Template[K, V]) sendIn(ctx context.Context, f *Future[K, V], tx *Tx[K, V]) {
	if !tx.track(f) {
		t.finish(f, ErrTransactionDone)
		return
	}
	t.sendNow(ctx, f)
}

// sendTransactional sends f on a transactional template: in the
// transaction of t that ctx carries, else in the transaction of a template
// of bytes that ctx carries, else in a transaction of its own.
func (t *Template[K, V]) sendTransactional(ctx context.Context, f *Future[K, V]) {
	if tx := t.txFrom(ctx); tx != nil {
		t.sendIn(ctx, f, tx)
		return
	}
	if bt, ok := ctx.Value(joinKey{}).(byteTx); ok {
		t.sendVia(ctx, f, bt)
		return
	}
	t.sendAlone(ctx, f)
}

// sendAlone sends f in a transaction of its own: the record goes out as an
// inner future, and f completes once the transaction has committed (with
// the inner one's metadata) or aborted.
func (t *Template[K, V]) sendAlone(ctx context.Context, f *Future[K, V]) {
	if err := ctx.Err(); err != nil {
		t.finish(f, err)
		return
	}
	t.txn.autoWG.Add(1)
	tx, err := t.begin(ctx)
	if err != nil {
		t.txn.autoWG.Done()
		t.finish(f, err)
		return
	}
	t.txn.autoMu.Lock()
	t.txn.auto[f] = struct{}{}
	t.txn.autoMu.Unlock()
	inner := t.newFuture()
	inner.silent = true
	inner.rec = f.rec
	t.sendIn(ctx, inner, tx)
	go func() {
		defer t.txn.autoWG.Done()
		err := tx.end(context.Background(), true)
		_, serr := inner.Result()
		if se, ok := serr.(*SendError[K, V]); ok {
			err = fmt.Errorf("%w: %w", ErrTransactionAborted, se.Err)
		}
		f.adopt(inner)
		t.txn.autoMu.Lock()
		delete(t.txn.auto, f)
		t.txn.autoMu.Unlock()
		t.finish(f, err)
	}()
}

// autoFutures returns the futures of sends in transactions of their own
// not yet completed.
func (t *Template[K, V]) autoFutures() []*Future[K, V] {
	if t.txn == nil {
		return nil
	}
	t.txn.autoMu.Lock()
	defer t.txn.autoMu.Unlock()
	out := make([]*Future[K, V], 0, len(t.txn.auto))
	for f := range t.txn.auto {
		out = append(out, f)
	}
	return out
}

// byteTx is a transaction of a template of bytes: templates of other types
// join it by sending their records, serialized, through it.
type byteTx interface {
	SendRecord(ctx context.Context, rec ProducerRecord[[]byte, []byte]) *Future[[]byte, []byte]
}

// joinKey is the context key of the byteTx a context carries.
type joinKey struct{}

// sendVia serializes f's record and sends it in bt, another template's
// transaction; f completes when that send does.
func (t *Template[K, V]) sendVia(ctx context.Context, f *Future[K, V], bt byteTx) {
	key, value, err := t.serialize(ctx, f)
	if err != nil {
		t.finish(f, err)
		return
	}
	rec := ProducerRecord[[]byte, []byte]{Topic: f.rec.Topic, Timestamp: f.rec.Timestamp, Headers: f.rec.Headers, Value: value}
	if p := f.rec.Partition; p != nil {
		f.partition, f.explicit = *p, true
		rec.Partition = &f.partition
	}
	if key != nil {
		rec.Key = &key
		f.keySize = int32(len(key))
	}
	if value != nil {
		f.valueSize = int32(len(value))
	}
	bt.SendRecord(ctx, rec).OnComplete(func(res SendResult[[]byte, []byte], err error) {
		if err != nil {
			if se, ok := err.(*SendError[[]byte, []byte]); ok {
				err = se.Err
			}
			t.finish(f, err)
			return
		}
		if f.claim() {
			md := res.Metadata
			f.wPartition, f.offset, f.timestamp = md.Partition, md.Offset, md.Timestamp.UnixMilli()
			t.finishClaimed(f, nil)
		}
	})
}
