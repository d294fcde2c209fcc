package template

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"
	"go.uber.org/zap"

	"github.com/kspring/kspring/serde"
)

// Template sends typed records and returns a Future for each, as Spring's
// KafkaTemplate. Build one with New (over a sarama.Client you own) or Dial
// (which owns its client), send with the Send methods, and Close it when done.
//
// A Template is safe for concurrent use. Records sent from one goroutine to
// one partition are written in the order sent.
type Template[K, V any] struct {
	client    sarama.Client
	ownClient bool
	producer  sarama.AsyncProducer
	input     chan<- *sarama.ProducerMessage

	keySer       serde.Serializer[K]
	valueSer     serde.Serializer[V]
	defaultTopic string
	listeners    []ProducerListener[K, V]
	interceptors []Interceptor[K, V]
	partitioner  Partitioner
	log          *zap.Logger
	epoch        time.Time // clock's zero
	quiet        bool      // a success runs no user code: no interceptors, default listener only
	obs          observation

	maxRecord       int   // the producer's Producer.MaxMessageBytes
	bufferMemory    int64 // budget of bytes in flight
	noAcks          bool
	maxBlock        time.Duration
	deliveryTimeout time.Duration

	fl     flight[K, V]
	spares spares[K, V]
	txn    *txnState[K, V] // nil unless transactional; then producer and input are nil

	// sendMu is read-held by a Send while it hands its record to the
	// producer; Close takes it to wait until no Send is doing so.
	sendMu     sync.RWMutex
	closed     atomic.Bool
	closing    chan struct{} // closed by Close: wakes blocked Sends
	closeOnce  sync.Once
	dispatched chan struct{} // closed when the completer has returned
	settleNow  chan struct{} // capacity 1: the completer should release what is held
	held       held[K, V]
	draining   atomic.Int32 // drain goroutines still running
	pulse      atomic.Pointer[pulse]
	returns    backQueue
}

// pulse is a channel the completer closes, and replaces, on every tick: a
// shared, allocation-free clock for Sends waiting on the producer. Close
// closes the last one and puts closedPulse in its place, so it also wakes
// Sends when the template closes.
type pulse struct{ c chan struct{} }

var closedPulse = &pulse{c: closedChan}

// tick closes the current pulse and starts the next one, unless the template
// has closed.
func (t *Template[K, V]) tick() {
	next := &pulse{c: make(chan struct{})}
	for {
		cur := t.pulse.Load()
		if cur == closedPulse {
			return
		}
		if t.pulse.CompareAndSwap(cur, next) {
			close(cur.c)
			return
		}
	}
}

// New returns a template that sends through a new sarama AsyncProducer on
// client. The template owns the producer; the caller keeps owning client and
// must close it only after Close.
//
// client's config must have Producer.Return.Successes and Return.Errors on,
// Producer.Partitioner set to NewPartitioner and Version at least 0.11, as
// Config.Sarama makes it; New fails with ErrConfig otherwise. Template
// settings (buffer-memory, max-block-ms, delivery-timeout-ms) come from
// WithConfig, or Kafka's defaults.
func New[K, V any](client sarama.Client, opts ...Option) (*Template[K, V], error) {
	return newTemplate[K, V](client, false, opts)
}

// Dial connects to brokers with cfg and returns a template that owns its
// client: Close closes both producer and client. Like the Java producer it
// does not wait for the brokers; a send to a cluster that cannot be reached
// fails within the configured timeouts.
func Dial[K, V any](brokers []string, cfg Config, opts ...Option) (*Template[K, V], error) {
	sc, err := cfg.Sarama()
	if err != nil {
		return nil, err
	}
	client, err := sarama.NewClient(brokers, sc)
	if err != nil {
		return nil, fmt.Errorf("template: connect to %v: %w", brokers, err)
	}
	t, err := newTemplate[K, V](client, true, append([]Option{WithConfig(cfg)}, opts...))
	if err != nil {
		return nil, errors.Join(err, client.Close())
	}
	return t, nil
}

func newTemplate[K, V any](client sarama.Client, own bool, opts []Option) (*Template[K, V], error) {
	if client == nil {
		return nil, fmt.Errorf("%w: nil client", ErrConfig)
	}
	if client.Closed() {
		return nil, fmt.Errorf("%w: client is closed", ErrConfig)
	}
	if err := checkClientConfig(client.Config()); err != nil {
		return nil, err
	}
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	cfg := Config{}
	if o.config != nil {
		cfg = *o.config
	}
	s, err := cfg.resolve()
	if err != nil {
		return nil, err
	}

	t := &Template[K, V]{
		client:          client,
		ownClient:       own,
		defaultTopic:    o.defaultTopic,
		partitioner:     o.partitioner,
		log:             o.logger,
		maxRecord:       client.Config().Producer.MaxMessageBytes,
		bufferMemory:    s.bufferMemory,
		noAcks:          client.Config().Producer.RequiredAcks == sarama.NoResponse,
		maxBlock:        s.maxBlock,
		deliveryTimeout: s.deliveryTimeout,
		closing:         make(chan struct{}),
		dispatched:      make(chan struct{}),
	}
	t.fl.avail.Store(s.bufferMemory)
	t.pulse.Store(&pulse{c: make(chan struct{})})
	if t.log == nil {
		t.log = zap.L()
	}
	t.epoch = time.Now()
	if t.keySer, err = serializer[K]("key serializer", o.keySer, s.keyClass, cfg.Properties, true); err != nil {
		return nil, err
	}
	if t.valueSer, err = serializer[V]("value serializer", o.valueSer, s.valueClass, cfg.Properties, false); err != nil {
		return nil, err
	}
	for _, l := range o.listeners {
		pl, err := typed[ProducerListener[K, V]]("producer listener", l)
		if err != nil {
			return nil, err
		}
		t.listeners = append(t.listeners, pl)
	}
	if len(o.listeners) == 0 {
		t.listeners = []ProducerListener[K, V]{LoggingProducerListener[K, V]{Logger: t.log}}
	}
	for _, i := range o.interceptors {
		pi, err := typed[Interceptor[K, V]]("interceptor", i)
		if err != nil {
			return nil, err
		}
		t.interceptors = append(t.interceptors, pi)
	}

	t.obs.init(&o)
	t.quiet = len(t.interceptors) == 0 && len(o.listeners) == 0

	if o.allowNonTxn != nil && *o.allowNonTxn && (s.txnPrefix != "" || client.Config().Producer.Transaction.ID != "") {
		return nil, fmt.Errorf("%w: non-transactional sends on a transactional template are not supported: "+
			"every send runs in a transaction; use a second template without transaction-id-prefix", ErrConfig)
	}
	t.returns.wake = make(chan struct{}, 1)
	t.settleNow = make(chan struct{}, 1)
	t.fl.short = t.settleNow
	if s.txnPrefix != "" || client.Config().Producer.Transaction.ID != "" {
		// The first transactional producer is made now, so that a broker
		// refusing transactions fails New; the pool grows on demand.
		if t.txn, err = newTxnState[K, V](client, s); err != nil {
			return nil, err
		}
		p, err := t.txn.dial()
		if err != nil {
			return nil, err
		}
		t.txn.all = []*txnProducer{p}
		t.txn.free <- p
		t.draining.Store(2)
		go t.drainSuccesses(p.producer)
		go t.drainErrors(p.producer)
		go t.completer()
		return t, nil
	}
	t.producer, err = sarama.NewAsyncProducerFromClient(client)
	if err != nil {
		return nil, fmt.Errorf("template: new producer: %w", err)
	}
	t.input = t.producer.Input()
	t.draining.Store(2)
	go t.drainSuccesses(t.producer)
	go t.drainErrors(t.producer)
	go t.completer()
	return t, nil
}

// serializer returns the serializer set by an option, else the one the
// configured Java class selects, else serde.For[T]().
func serializer[T any](what string, set any, class string, props map[string]string, isKey bool) (serde.Serializer[T], error) {
	if set == nil {
		s, err := serde.SerializerFor[T](class, props, isKey)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrConfig, what, err)
		}
		return s, nil
	}
	return typed[serde.Serializer[T]](what, set)
}

func checkClientConfig(c *sarama.Config) error {
	var errs []error
	if !c.Producer.Return.Successes || !c.Producer.Return.Errors {
		errs = append(errs, errors.New("Producer.Return.Successes and Producer.Return.Errors must be true"))
	}
	if c.Producer.Partitioner == nil {
		errs = append(errs, errors.New("Producer.Partitioner must be template.NewPartitioner"))
	} else if _, ok := c.Producer.Partitioner("").(*partitioner); !ok {
		errs = append(errs, errors.New("Producer.Partitioner must be template.NewPartitioner"))
	}
	if !c.Version.IsAtLeast(sarama.V0_11_0_0) {
		errs = append(errs, fmt.Errorf("Version %s is older than 0.11 (record headers, idempotence)", c.Version))
	}
	if c.Producer.Transaction.ID != "" && !c.Producer.Idempotent {
		errs = append(errs, errors.New("Producer.Transaction.ID needs Producer.Idempotent"))
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: client config (use Config.Sarama): %w", ErrConfig, errors.Join(errs...))
	}
	return nil
}

// Flush waits until every record sent before the call has completed, or ctx
// ends. Like the Java producer's flush it does not fail for records that
// failed; their futures say so. Unlike Java's, it cannot cut linger-ms short
// (sarama has no flush trigger): records waiting for a fuller batch leave when
// linger-ms passes. Flush must not be called from a callback.
func (t *Template[K, V]) Flush(ctx context.Context) error {
	for _, f := range append(t.fl.snapshot(), t.autoFutures()...) {
		select {
		case <-f.Done():
		case <-ctx.Done():
			return fmt.Errorf("template: flush: %w", ctx.Err())
		}
	}
	return nil
}

// Close stops the template: later sends fail with ErrClosed, the producer
// sends what it holds (batches waiting for linger-ms leave when it passes), and
// Close waits for every outstanding future to complete. If ctx ends first, every future not yet completed fails with
// ErrClosed (the records may still be written) and Close returns ctx's error
// while the producer finishes in the background within its timeouts. A
// template from Dial closes its client last. Close may be called more than
// once, but not from a callback.
func (t *Template[K, V]) Close(ctx context.Context) error {
	t.closeOnce.Do(func() {
		t.markClosed()
		// Wait for Sends handing a record to the producer; closing woke
		// any that were blocked.
		t.sendMu.Lock()
		t.sendMu.Unlock() //nolint:staticcheck // an empty critical section is the point
		if t.txn != nil {
			t.closeTransactional()
			return
		}
		t.producer.AsyncClose()
	})
	select {
	case <-t.dispatched:
		return nil
	case <-ctx.Done():
		t.failAll(fmt.Errorf("%w before the broker confirmed delivery: %w", ErrClosed, ctx.Err()))
		return fmt.Errorf("template: close: %w", ctx.Err())
	}
}

// markClosed makes later Sends fail with ErrClosed and wakes the ones
// waiting for budget or for the producer.
func (t *Template[K, V]) markClosed() {
	t.closed.Store(true)
	close(t.closing)
	close(t.pulse.Swap(closedPulse).c)
}

// failAll completes every outstanding future with err.
func (t *Template[K, V]) failAll(err error) {
	for _, f := range t.fl.drain() {
		t.finish(f, err)
	}
}

// clock is monotonic time since the template started.
func (t *Template[K, V]) clock() time.Duration { return time.Since(t.epoch) }

// safely runs fn, recovering and logging a panic in user code.
func (t *Template[K, V]) safely(what string, fn func()) {
	defer func() {
		if r := recover(); r != nil {
			t.panicked(what, r)
		}
	}()
	fn()
}

func (t *Template[K, V]) panicked(what string, r any) {
	t.log.Error("kafka template: recovered panic", zap.String("in", what), zap.Any("panic", r), zap.StackSkip("stack", 2))
}
