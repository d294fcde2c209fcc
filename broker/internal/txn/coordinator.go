package txn

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"go.uber.org/zap"

	"github.com/kspring/kspring/broker/internal/group"
)

// Coordinator is the transaction coordinator of one broker. Create it with
// [New], start its background sweeps with [Coordinator.Start], and give it
// the __transaction_state partitions this broker leads with
// [Coordinator.Load] / [Coordinator.Unload]. It is safe for concurrent use.
type Coordinator struct {
	cfg     Config
	store   Store
	markers Markers
	pids    func(context.Context) (int64, error)
	exists  func(topic string, partition int32) bool
	logger  *zap.Logger
	now     func() time.Time
	// pendingWait is how long an AddPartitionsToTxn waits for the
	// previous transaction to complete (the constant; tests change it).
	pendingWait time.Duration

	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc
	bg     sync.WaitGroup

	mu      sync.Mutex // guards shards, started and closed
	shards  map[int32]*shard
	started bool
	closed  bool
}

// shard is one loaded __transaction_state partition.
type shard struct {
	index int32
	epoch int32              // the coordinator epoch: the partition's leader epoch
	ctx   context.Context    // cancelled when the partition is unloaded
	stop  context.CancelFunc //

	mu      sync.Mutex // guards loading and txns
	loading bool
	txns    map[string]*txnMeta
}

// txnMeta is one transactional id's state in memory.
type txnMeta struct {
	id string

	mu sync.Mutex // guards the fields below
	m  Metadata
	// lastEpoch is the epoch before the last bump (-1: none), so that a
	// KIP-360 producer retrying InitProducerId after a lost answer gets the
	// same id and epoch again rather than being fenced.
	lastEpoch int16
	// pending is set while a transition is being written, and from
	// PrepareCommit/PrepareAbort until the markers are written and the
	// CompleteCommit/CompleteAbort is: other requests get
	// CONCURRENT_TRANSACTIONS meanwhile.
	pending bool
	idle    chan struct{} // closed when pending clears; nil while not pending
}

// setPending marks a transition under way. The caller holds t.mu.
func (t *txnMeta) setPending() {
	if !t.pending {
		t.pending, t.idle = true, make(chan struct{})
	}
}

// clearPending ends it, waking whoever waits for it. The caller holds t.mu.
func (t *txnMeta) clearPending() {
	if t.pending {
		close(t.idle)
		t.pending, t.idle = false, nil
	}
}

// pendingWait bounds how long AddPartitionsToTxn and AddOffsetsToTxn wait
// for the transaction before to complete (its markers written) before
// answering CONCURRENT_TRANSACTIONS: a producer that begins its next
// transaction right after EndTxn would otherwise back off (franz-go and
// the Java client: 20 ms) for markers that take well under a millisecond.
const pendingWait = time.Second

// awaitIdle waits until t has no transition under way, at most wait or
// until ctx ends; it reports whether t is idle.
func (t *txnMeta) awaitIdle(ctx context.Context, wait time.Duration) bool {
	t.mu.Lock()
	ch := t.idle
	t.mu.Unlock()
	if ch == nil {
		return true
	}
	tm := time.NewTimer(wait)
	defer tm.Stop()
	select {
	case <-ch:
		return true
	case <-tm.C:
	case <-ctx.Done():
	}
	return false
}

// Option configures behaviour of a Coordinator.
type Option func(*Coordinator)

// WithPartitionCheck makes AddPartitionsToTxn refuse partitions for which
// exists is false with UNKNOWN_TOPIC_OR_PARTITION, as Kafka does.
func WithPartitionCheck(exists func(topic string, partition int32) bool) Option {
	return func(c *Coordinator) { c.exists = exists }
}

// WithClock replaces time.Now.
func WithClock(now func() time.Time) Option { return func(c *Coordinator) { c.now = now } }

// New returns a coordinator that stores its state with store, writes
// markers with markers and takes new producer ids from pids. A nil logger
// logs nothing.
func New(cfg Config, store Store, markers Markers, pids func(context.Context) (int64, error), logger *zap.Logger, opts ...Option) *Coordinator {
	if logger == nil {
		logger = zap.NewNop()
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &Coordinator{
		cfg: cfg.withDefaults(), store: store, markers: markers, pids: pids, logger: logger, now: time.Now,
		ctx: ctx, cancel: cancel, shards: map[int32]*shard{}, pendingWait: pendingWait,
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

// ErrClosed is returned by Start after Close.
var ErrClosed = errors.New("transaction coordinator closed")

// Start runs the sweeps that abort timed-out transactions and remove
// expired transactional ids, until Close.
func (c *Coordinator) Start() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return ErrClosed
	}
	if c.started {
		return nil
	}
	c.started = true
	c.bg.Go(func() { c.every(c.cfg.AbortTimedOutInterval, c.abortTimedOut) })
	c.bg.Go(func() { c.every(c.cfg.IDExpirationCheckInterval, c.expireIDs) })
	return nil
}

func (c *Coordinator) every(d time.Duration, fn func()) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-t.C:
			fn()
		}
	}
}

// Close unloads every partition and stops the background work (sweeps,
// marker writes in progress), returning once none runs. A transaction left
// between PrepareCommit/PrepareAbort and its completion is completed by
// whoever loads its partition next. Close is idempotent.
func (c *Coordinator) Close() error {
	c.mu.Lock()
	c.closed = true
	shards := c.shards
	c.shards = map[int32]*shard{}
	c.mu.Unlock()
	c.cancel()
	for _, sh := range shards {
		sh.stop()
	}
	c.bg.Wait()
	return nil
}

// PartitionFor returns the __transaction_state partition of a
// transactional id, as Kafka computes it (abs(hashCode) % partitions).
func (c *Coordinator) PartitionFor(id string) int32 { return group.Partition(id, c.cfg.Partitions) }

// Partitions returns transaction.state.log.num.partitions.
func (c *Coordinator) Partitions() int32 { return c.cfg.Partitions }

// Load makes this coordinator own __transaction_state partition p, which
// this broker leads at leader epoch epoch (the coordinator epoch of its
// markers). The partition is replayed in the background; its ids get
// COORDINATOR_LOAD_IN_PROGRESS until then. Transactions found between
// PrepareCommit/PrepareAbort and their completion get their markers written
// again and are completed; ongoing ones are left to their timeout. Loading a
// partition already loaded at the same epoch does nothing.
func (c *Coordinator) Load(p int32, epoch int32) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	if old, ok := c.shards[p]; ok {
		if old.epoch == epoch {
			c.mu.Unlock()
			return
		}
		old.stop()
	}
	ctx, stop := context.WithCancel(c.ctx)
	sh := &shard{index: p, epoch: epoch, ctx: ctx, stop: stop, loading: true, txns: map[string]*txnMeta{}}
	c.shards[p] = sh
	c.bg.Go(func() { c.load(sh) }) // under c.mu: Close cannot be waiting yet
	c.mu.Unlock()
}

// spawn runs fn in a goroutine Close waits for, unless the coordinator is
// closed.
func (c *Coordinator) spawn(fn func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.closed {
		c.bg.Go(fn)
	}
}

func (c *Coordinator) load(sh *shard) {
	txns := map[string]*Metadata{}
	err := c.store.Load(sh.ctx, sh.index, func(key, value []byte) error {
		if len(key) >= 2 && key[0] == 0 && key[1] > 0 {
			return nil // a key of a later schema version: not ours to read
		}
		id, m, err := DecodeRecord(key, value)
		if err != nil {
			c.logger.Error("skipping a record of __transaction_state that does not decode",
				zap.Int32("partition", sh.index), zap.Error(err))
			return nil
		}
		if m == nil {
			delete(txns, id)
		} else {
			txns[id] = m
		}
		return nil
	})
	if err != nil {
		if sh.ctx.Err() == nil {
			c.logger.Error("loading __transaction_state failed; the partition is not served",
				zap.Int32("partition", sh.index), zap.Error(err))
			c.Unload(sh.index, sh.epoch)
		}
		return
	}
	var complete []*txnMeta
	sh.mu.Lock()
	for id, m := range txns {
		if m.State == TxnDead {
			continue
		}
		t := &txnMeta{id: id, m: *m, lastEpoch: -1}
		if m.State == TxnPrepareCommit || m.State == TxnPrepareAbort {
			t.setPending()
			complete = append(complete, t)
		}
		sh.txns[id] = t
	}
	sh.loading = false
	sh.mu.Unlock()
	c.logger.Info("loaded __transaction_state partition", zap.Int32("partition", sh.index),
		zap.Int32("coordinator.epoch", sh.epoch), zap.Int("transactional.ids", len(txns)), zap.Int("completing", len(complete)))
	for _, t := range complete {
		c.spawn(func() { c.complete(sh, t) })
	}
}

// Unload drops partition p from memory when this broker stops leading it
// (at an epoch before epoch, or any if epoch is -1): its ids get
// NOT_COORDINATOR, and marker writes in progress stop, left to the next
// coordinator.
func (c *Coordinator) Unload(p int32, epoch int32) {
	c.mu.Lock()
	sh, ok := c.shards[p]
	if ok && (epoch < 0 || sh.epoch <= epoch) {
		delete(c.shards, p)
	} else {
		ok = false
	}
	c.mu.Unlock()
	if ok {
		sh.stop()
		c.logger.Info("unloaded __transaction_state partition", zap.Int32("partition", p))
	}
}

// current reports whether sh is still loaded.
func (c *Coordinator) current(sh *shard) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.shards[sh.index] == sh
}

// shardFor returns the loaded shard of id, or the code to answer.
func (c *Coordinator) shardFor(id string) (*shard, int16) {
	c.mu.Lock()
	sh, ok := c.shards[c.PartitionFor(id)]
	c.mu.Unlock()
	if !ok {
		return nil, kerr.NotCoordinator.Code
	}
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.loading {
		return nil, kerr.CoordinatorLoadInProgress.Code
	}
	return sh, 0
}

// lookup returns the state of id, creating it (empty, no producer id yet)
// when create is set, or the code to answer.
func (c *Coordinator) lookup(id string, create bool) (*shard, *txnMeta, int16) {
	sh, code := c.shardFor(id)
	if code != 0 {
		return nil, nil, code
	}
	sh.mu.Lock()
	defer sh.mu.Unlock()
	t, ok := sh.txns[id]
	if !ok {
		if !create {
			return sh, nil, 0
		}
		t = &txnMeta{id: id, m: Metadata{ProducerID: -1, ProducerEpoch: -1, PreviousProducerID: -1, State: TxnEmpty}, lastEpoch: -1}
		sh.txns[id] = t
	}
	return sh, t, 0
}

// persist writes next for t and applies it once the ISR has it. The caller
// has set t.pending; persist clears it unless keepPending (a
// PrepareCommit/PrepareAbort whose completion follows). It returns the code
// to answer.
func (c *Coordinator) persist(sh *shard, t *txnMeta, next Metadata, keepPending bool) int16 {
	var err error
	if next.State == TxnDead {
		err = c.store.Append(sh.ctx, sh.index, encodeKey(t.id), nil)
	} else {
		err = c.store.Append(sh.ctx, sh.index, encodeKey(t.id), encodeValue(&next))
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case err != nil:
		t.clearPending()
		c.logger.Warn("writing to __transaction_state failed", zap.String("transactional.id", t.id),
			zap.Stringer("state", next.State), zap.Error(err))
		return appendError(err)
	case !c.current(sh):
		t.clearPending()
		return kerr.NotCoordinator.Code
	}
	switch {
	case next.ProducerID != t.m.ProducerID:
		t.lastEpoch = -1
	case next.ProducerEpoch == t.m.ProducerEpoch:
	case next.State == TxnEmpty:
		// InitProducerId's bump: the producer may retry it.
		t.lastEpoch = t.m.ProducerEpoch
	default:
		// A fence (timeout, or a new incarnation aborting the ongoing
		// transaction): the fenced producer may not claim the new epoch,
		// as Kafka's prepareFenceProducerEpoch leaves no last epoch.
		t.lastEpoch = -1
	}
	t.m = next
	if !keepPending {
		t.clearPending()
	}
	return 0
}

// appendError maps a failed append to __transaction_state to the client's
// code, as Kafka's TransactionStateManager does.
func appendError(err error) int16 {
	var ke *kerr.Error
	if errors.As(err, &ke) {
		switch ke {
		case kerr.UnknownTopicOrPartition, kerr.NotEnoughReplicas, kerr.NotEnoughReplicasAfterAppend, kerr.RequestTimedOut:
			return kerr.CoordinatorNotAvailable.Code
		case kerr.NotLeaderForPartition, kerr.KafkaStorageError:
			return kerr.NotCoordinator.Code
		case kerr.MessageTooLarge, kerr.RecordListTooLarge:
			return kerr.UnknownServerError.Code
		}
		return ke.Code
	}
	if errors.Is(err, context.Canceled) {
		return kerr.NotCoordinator.Code
	}
	return kerr.CoordinatorNotAvailable.Code
}
