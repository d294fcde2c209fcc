package template

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/IBM/sarama"
	"go.uber.org/zap"
)

// txnState is the transactional side of a template: its pool of
// transactional producers, each used by one transaction at a time. The
// pointer is also the context key of the template's transactions.
//
// Lock order: sendMu (the template's), then mu.
type txnState[K, V any] struct {
	prefix string         // "" for a client whose config names the one transactional.id
	base   sarama.Client  // the client the template was given
	cfg    *sarama.Config // base's config made transactional, without an id
	max    int            // producers at most

	free chan *txnProducer // idle producers; capacity max

	mu      sync.Mutex
	all     []*txnProducer // guarded by mu and the template's sendMu: both to add
	pending int            // producers being created

	// Sends outside a transaction, each in a transaction of its own, whose
	// futures have not completed: Flush waits for them, Close for autoWG.
	autoMu sync.Mutex
	auto   map[*Future[K, V]]struct{}
	autoWG sync.WaitGroup
}

// txnProducer is one transactional producer of a pool, on a client of its
// own whose config holds its transactional.id. Only the transaction that
// took it from the pool uses it, so its fields need no lock.
type txnProducer struct {
	id        string
	client    sarama.Client
	ownClient bool
	producer  sarama.AsyncProducer
	input     chan<- *sarama.ProducerMessage
}

// maxTxnProducers bounds a template's pool of transactional producers: so
// many transactions of one template run at once, later ones wait for one to
// end (up to max-block-ms).
const maxTxnProducers = 16

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

// newTxnState prepares the pool: with a prefix, producers on clients of
// their own, on the brokers client knows, with client's config made
// transactional and numbered ids; else one producer on client itself,
// whose config names the transactional.id.
func newTxnState[K, V any](client sarama.Client, s settings) (*txnState[K, V], error) {
	ts := &txnState[K, V]{prefix: s.txnPrefix, base: client, max: 1, auto: map[*Future[K, V]]struct{}{}}
	if s.txnPrefix != "" {
		ts.max = maxTxnProducers
		cfg := *client.Config() // a shallow copy: TLS, SASL, metrics are shared
		cfg.Producer.Idempotent = true
		cfg.Producer.RequiredAcks = sarama.WaitForAll
		cfg.Producer.Retry.Max = max(cfg.Producer.Retry.Max, 1)
		cfg.Net.MaxOpenRequests = 1
		cfg.Producer.Transaction.Timeout = s.txnTimeout
		// Transaction requests refused with CONCURRENT_TRANSACTIONS (the
		// previous transaction's markers still being written, which takes
		// the broker about a millisecond) are retried after 5 ms, doubling
		// to a second. sarama's default waits 100 ms each time (Java's
		// producer 20 ms for AddPartitionsToTxn), which costs a transaction
		// that follows another at once far more than the markers do.
		cfg.Producer.Transaction.Retry.Max = max(cfg.Producer.Transaction.Retry.Max, 50)
		cfg.Producer.Transaction.Retry.BackoffFunc = func(retries, _ int) time.Duration {
			return expBackoff(txnRetryBackoff, time.Second, retries)
		}
		ts.cfg = &cfg
	}
	ts.free = make(chan *txnProducer, ts.max)
	return ts, nil
}

// dial makes a producer for the pool: its client, then the producer, whose
// InitProducerId fences an earlier producer with its id.
func (ts *txnState[K, V]) dial() (*txnProducer, error) {
	if ts.prefix == "" {
		sp, err := sarama.NewAsyncProducerFromClient(ts.base)
		if err != nil {
			return nil, fmt.Errorf("template: new producer: %w", err)
		}
		return &txnProducer{id: ts.base.Config().Producer.Transaction.ID, client: ts.base, producer: sp, input: sp.Input()}, nil
	}
	brokers := ts.base.Brokers()
	if len(brokers) == 0 {
		// A client that has fetched no topic's metadata yet knows only its
		// seed brokers, which it does not list.
		if err := ts.base.RefreshMetadata(); err != nil {
			return nil, fmt.Errorf("template: transactional producer: metadata: %w", err)
		}
		brokers = ts.base.Brokers()
	}
	var addrs []string
	for _, b := range brokers {
		addrs = append(addrs, b.Addr())
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("%w: transactional producer: the client knows no broker", ErrConfig)
	}
	cfg := *ts.cfg
	id := nextTxnID(ts.prefix)
	cfg.Producer.Transaction.ID = id
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("%w: transactional producer %s: sarama: %w", ErrConfig, id, err)
	}
	c, err := sarama.NewClient(addrs, &cfg)
	if err != nil {
		return nil, fmt.Errorf("template: transactional producer %s: connect to %v: %w", id, addrs, err)
	}
	sp, err := sarama.NewAsyncProducerFromClient(c)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("template: new producer %s: %w", id, err), c.Close())
	}
	return &txnProducer{id: id, client: c, ownClient: true, producer: sp, input: sp.Input()}, nil
}

// close closes p's client if p owns it; its producer must have closed.
func (p *txnProducer) close() error {
	if p.ownClient {
		return p.client.Close()
	}
	return nil
}

// addProducer dials a producer and adds it to the pool, in use by the
// caller, with its drain goroutines; it fails with ErrClosed once the
// template is closed.
func (t *Template[K, V]) addProducer() (*txnProducer, error) {
	p, err := t.txn.dial()
	if err != nil {
		return nil, err
	}
	t.sendMu.Lock()
	if t.closed.Load() {
		t.sendMu.Unlock()
		_ = p.producer.Close()
		return nil, errors.Join(ErrClosed, p.close())
	}
	t.txn.mu.Lock()
	t.txn.all = append(t.txn.all, p)
	t.txn.mu.Unlock()
	t.draining.Add(2)
	t.sendMu.Unlock()
	go t.drainSuccesses(p.producer)
	go t.drainErrors(p.producer)
	return p, nil
}

// acquire takes a producer for a transaction: an idle one, else a new one
// while the pool has room, else the first to come back, waiting at most
// max-block-ms, until ctx ends or the template closes.
func (t *Template[K, V]) acquire(ctx context.Context) (*txnProducer, error) {
	ts := t.txn
	select {
	case p := <-ts.free:
		return p, nil
	default:
	}
	ts.mu.Lock()
	grow := len(ts.all)+ts.pending < ts.max
	if grow {
		ts.pending++
	}
	ts.mu.Unlock()
	if grow {
		p, err := t.addProducer()
		ts.mu.Lock()
		ts.pending--
		ts.mu.Unlock()
		return p, err
	}
	timer := time.NewTimer(t.maxBlock)
	defer timer.Stop()
	select {
	case p := <-ts.free:
		return p, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-t.closing:
		return nil, ErrClosed
	case <-timer.C:
		return nil, fmt.Errorf("template: all %d transactional producers busy for max-block-ms %v: %w", ts.max, t.maxBlock, context.DeadlineExceeded)
	}
}

// release gives p back to the pool.
func (ts *txnState[K, V]) release(p *txnProducer) { ts.free <- p }

// begin takes a producer and begins a transaction on it, replacing the
// producer first if it cannot begin one (fenced, or left in error).
func (t *Template[K, V]) begin(ctx context.Context) (*Tx[K, V], error) {
	p, err := t.acquire(ctx)
	if err != nil {
		return nil, err
	}
	if t.closed.Load() {
		t.txn.release(p)
		return nil, ErrClosed
	}
	err = t.readyProducer(p)
	if err == nil {
		err = p.producer.BeginTxn()
	}
	if err != nil {
		t.txn.release(p)
		return nil, fmt.Errorf("template: begin transaction (transactional.id %s): %w", p.id, kafkaCause(err))
	}
	return &Tx[K, V]{t: t, p: p}, nil
}

// readyProducer makes p ready to begin a transaction. The caller holds p.
func (t *Template[K, V]) readyProducer(p *txnProducer) error {
	st := p.producer.TxnStatus()
	if st&sarama.ProducerTxnFlagReady != 0 {
		return nil
	}
	if st&sarama.ProducerTxnFlagAbortableError != 0 {
		if err := p.producer.AbortTxn(); err == nil && p.producer.TxnStatus()&sarama.ProducerTxnFlagReady != 0 {
			return nil
		}
	}
	t.log.Info("kafka template: replacing the transactional producer",
		zap.String("transactional.id", p.id), zap.Stringer("state", st))
	return t.renewProducer(p)
}

// renewProducer replaces p's producer with a new one on the same client and
// transactional.id: its InitProducerId bumps the epoch, which fences the old
// one and aborts a transaction it left open. The old producer's records
// still complete through its drain goroutines. The caller holds p.
func (t *Template[K, V]) renewProducer(p *txnProducer) error {
	np, err := sarama.NewAsyncProducerFromClient(p.client)
	if err != nil {
		return fmt.Errorf("new producer: %w", err)
	}
	t.sendMu.Lock()
	if t.closed.Load() {
		t.sendMu.Unlock()
		_ = np.Close()
		return ErrClosed
	}
	old := p.producer
	p.producer, p.input = np, np.Input()
	t.draining.Add(2)
	t.sendMu.Unlock()
	go t.drainSuccesses(np)
	go t.drainErrors(np)
	old.AsyncClose()
	return nil
}

// closeTransactional closes the producers once no transaction holds them:
// transactions in progress end first (their sends fail, as the template is
// closed, so they abort). It returns at once; the completer closes the
// producers' clients when their drain goroutines have finished.
func (t *Template[K, V]) closeTransactional() {
	// The template is closed, and Close waited for sendMu: no producer is
	// added from now on.
	t.txn.mu.Lock()
	n := len(t.txn.all)
	t.txn.mu.Unlock()
	go func() {
		t.txn.autoWG.Wait()
		for range n {
			(<-t.txn.free).producer.AsyncClose() // never given back
		}
	}()
}

// closeClients closes the producers' own clients; their producers have
// closed.
func (t *Template[K, V]) closeClients() {
	t.txn.mu.Lock()
	all := t.txn.all
	t.txn.mu.Unlock()
	for _, p := range all {
		if err := p.close(); err != nil {
			t.log.Warn("kafka template: close transactional client", zap.String("transactional.id", p.id), zap.Error(err))
		}
	}
}

// sendIn sends f in tx.
func (t *Template[K, V]) sendIn(ctx context.Context, f *Future[K, V], tx *Tx[K, V]) {
	if !tx.track(f) {
		t.finish(f, ErrTransactionDone)
		return
	}
	t.sendTo(ctx, f, tx.p.input)
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
	// Counted under sendMu, so that Close (which takes it after marking the
	// template closed) waits for every send it did not refuse.
	t.sendMu.RLock()
	if t.closed.Load() {
		t.sendMu.RUnlock()
		t.finish(f, ErrClosed)
		return
	}
	t.txn.autoWG.Add(1)
	t.sendMu.RUnlock()
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
