package group

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"go.uber.org/zap"
)

// ErrStarted is returned by a second call to Start.
var ErrStarted = errors.New("group coordinator already started")

// ErrClosed is returned by Start after Close.
var ErrClosed = errors.New("group coordinator closed")

// Coordinator is the group coordinator of one broker: it serves the classic
// group protocol and the offset APIs for the groups whose __consumer_offsets
// partition it holds, persisting through a Store. All methods are safe for
// concurrent use. Requests are answered with Kafka error codes, never Go
// errors: COORDINATOR_LOAD_IN_PROGRESS before Start has loaded a group's
// partition, COORDINATOR_NOT_AVAILABLE after Close.
type Coordinator struct {
	cfg    Config
	store  Store
	logger *zap.Logger
	topics TopicIDs
	now    func() time.Time

	noInitialLoad bool // see WithoutInitialLoad

	shards []*shard

	ctx    context.Context // cancelled by Close; bounds background appends
	cancel context.CancelFunc

	life      sync.Mutex // guards started and Start against Close
	started   bool
	closed    atomic.Bool
	bg        sync.WaitGroup // the retention loop
	done      chan struct{}  // closed by Close; releases waiting requests
	closeOnce sync.Once
}

// shard holds the groups of one __consumer_offsets partition.
type shard struct {
	mu     sync.RWMutex
	state  shardState
	groups map[string]*group
	// late holds the markers reported (CompleteTxn) while the shard
	// loads, which its replay may have read before they were written;
	// the load applies them once its groups are in.
	late []txnOutcome

	// inflight counts the requests and timer callbacks working on the
	// shard's groups (see enter); Close waits for them. Per shard, so
	// that requests for different partitions share no lock or counter.
	inflight sync.WaitGroup

	// ctx is cancelled by Close to abort the shard's appends; one per
	// shard so that appends of different partitions share no lock.
	ctx    context.Context
	cancel context.CancelFunc
}

type shardState int8

const (
	shardLoading shardState = iota
	shardActive
	shardUnowned // unloaded: another broker coordinates these groups
	shardClosed
)

// Option configures code the coordinator calls (see WithTopicIDs).
type Option func(*Coordinator)

// TopicIDs resolves topic IDs for OffsetCommit and OffsetFetch v10+, which
// name topics by ID. Implementations must be safe for concurrent use.
type TopicIDs interface {
	TopicName(id [16]byte) (string, bool)
	TopicID(name string) ([16]byte, bool)
}

// WithTopicIDs lets OffsetCommit and OffsetFetch v10+ resolve topic IDs.
// Without it those versions answer UNKNOWN_TOPIC_ID for every topic.
func WithTopicIDs(t TopicIDs) Option { return func(c *Coordinator) { c.topics = t } }

// withClock replaces time.Now (tests of offset expiry).
func withClock(now func() time.Time) Option { return func(c *Coordinator) { c.now = now } }

// New returns a coordinator over store. It serves nothing until Start has
// loaded its partitions. A nil logger logs nothing.
func New(cfg Config, store Store, logger *zap.Logger, opts ...Option) *Coordinator {
	if logger == nil {
		logger = zap.NewNop()
	}
	cfg = cfg.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	c := &Coordinator{
		cfg:    cfg,
		store:  store,
		logger: logger,
		now:    time.Now,
		shards: make([]*shard, cfg.OffsetsTopicPartitions),
		ctx:    ctx,
		cancel: cancel,
		done:   make(chan struct{}),
	}
	for i := range c.shards {
		sctx, scancel := context.WithCancel(ctx)
		c.shards[i] = &shard{groups: make(map[string]*group), ctx: sctx, cancel: scancel}
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

// Start loads every partition of __consumer_offsets from the store, then
// starts the members' session timers and the offset retention check.
// Requests for a partition get COORDINATOR_LOAD_IN_PROGRESS until it is
// loaded. Start returns the first load error, after loading the others; the
// partitions that failed stay loading until LoadPartition succeeds.
func (c *Coordinator) Start(ctx context.Context) error {
	c.life.Lock()
	switch {
	case c.closed.Load():
		c.life.Unlock()
		return ErrClosed
	case c.started:
		c.life.Unlock()
		return ErrStarted
	}
	c.started = true
	c.life.Unlock()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(c.ctx, cancel) // Close cancels the load
	defer stop()

	const loaders = 4
	var (
		wg    sync.WaitGroup
		errMu sync.Mutex
		first error
		next  = make(chan int32)
	)
	for range loaders {
		wg.Go(func() {
			for p := range next {
				if err := c.loadPartition(ctx, p); err != nil {
					errMu.Lock()
					if first == nil {
						first = err
					}
					errMu.Unlock()
				}
			}
		})
	}
	for p := range c.cfg.OffsetsTopicPartitions {
		if c.noInitialLoad {
			c.UnloadPartition(p)
			continue
		}
		next <- p
	}
	close(next)
	wg.Wait()

	c.life.Lock()
	defer c.life.Unlock()
	if c.closed.Load() {
		return ErrClosed
	}
	c.bg.Go(c.retentionLoop)
	return first
}

// Close stops the coordinator: requests waiting in a join or sync get
// NOT_COORDINATOR, appends in progress are cancelled, timers stop, and Close
// returns once no request or timer of the coordinator is running. Later
// requests get COORDINATOR_NOT_AVAILABLE. Close is idempotent.
func (c *Coordinator) Close() error {
	c.closeOnce.Do(func() {
		c.life.Lock()
		c.closed.Store(true)
		c.life.Unlock()
		close(c.done)
		c.cancel()

		for _, s := range c.shards {
			s.cancel()
			s.mu.Lock()
			s.state = shardClosed
			groups := s.groups
			s.groups = map[string]*group{}
			s.mu.Unlock()
			for _, g := range groups {
				g.mu.Lock()
				c.unload(g, kerr.NotCoordinator.Code)
				g.mu.Unlock()
			}
		}
		for _, s := range c.shards {
			s.inflight.Wait()
		}
		c.bg.Wait()
	})
	return nil
}

// LoadPartition loads __consumer_offsets partition p again after
// UnloadPartition, when this broker becomes the partition's leader.
// Requests for its groups get COORDINATOR_LOAD_IN_PROGRESS meanwhile.
// Loading a loaded partition does nothing.
func (c *Coordinator) LoadPartition(ctx context.Context, p int32) error {
	if p < 0 || int(p) >= len(c.shards) {
		return fmt.Errorf("group coordinator: load __consumer_offsets-%d: no such partition", p)
	}
	s := c.shards[p]
	s.mu.Lock()
	switch s.state {
	case shardClosed:
		s.mu.Unlock()
		return ErrClosed
	case shardActive:
		s.mu.Unlock()
		return nil
	}
	s.state = shardLoading
	s.mu.Unlock()
	return c.loadPartition(ctx, p)
}

// UnloadPartition drops the groups of __consumer_offsets partition p from
// memory, when this broker stops leading it: requests waiting in a join or
// sync get NOT_COORDINATOR, and so do later requests for its groups, until
// LoadPartition. Appends already under way finish or fail in the Store.
func (c *Coordinator) UnloadPartition(p int32) {
	if p < 0 || int(p) >= len(c.shards) {
		return
	}
	s := c.shards[p]
	s.mu.Lock()
	if s.state == shardClosed {
		s.mu.Unlock()
		return
	}
	s.state = shardUnowned
	groups := s.groups
	s.groups = map[string]*group{}
	s.late = nil
	s.mu.Unlock()
	for _, g := range groups {
		g.mu.Lock()
		c.unload(g, kerr.NotCoordinator.Code)
		g.mu.Unlock()
	}
	if len(groups) > 0 {
		c.logger.Info("unloaded __consumer_offsets partition", zap.Int32("partition", p), zap.Int("groups", len(groups)))
	}
}

// unload marks g dead, answers its waiting requests with code and stops its
// timers. The caller holds g.mu.
func (c *Coordinator) unload(g *group, code int16) {
	for _, m := range g.members {
		g.answerJoin(m, joinResult{code: code, memberID: m.id, generation: -1})
		g.answerSync(m, syncResult{code: code})
		if m.timer != nil {
			m.timer.Stop()
		}
	}
	for _, t := range g.pending {
		t.Stop()
	}
	g.stopJoinTimer()
	g.stopSyncTimer()
	g.transition(stateDead, c.now())
}

// enter registers a request or timer callback working on the shard's
// groups; it fails once Close began. Every successful enter is paired with
// exit. Adds happen under the read lock and Close flips the state under the
// write lock, so no Add follows Close's Wait.
func (s *shard) enter() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.state == shardClosed {
		return false
	}
	s.inflight.Add(1)
	return true
}

func (s *shard) exit() { s.inflight.Done() }

// afterFunc runs fn after d, as a callback of g's shard, unless the
// coordinator is closed by then.
func (c *Coordinator) afterFunc(g *group, d time.Duration, fn func()) *time.Timer {
	s := c.shards[g.partition]
	return time.AfterFunc(d, func() {
		if !s.enter() {
			return
		}
		defer s.exit()
		fn()
	})
}

// lookup finds group id, creating it when create is set, and enters its
// shard. With code 0 the caller must call s.exit when done (g may be nil);
// otherwise code is the partition-level error (load in progress, closed).
func (c *Coordinator) lookup(id string, create bool) (g *group, s *shard, code int16) {
	p := c.PartitionFor(id)
	s = c.shards[p]
	s.mu.RLock()
	st := s.state
	g = s.groups[id]
	if st == shardActive {
		s.inflight.Add(1)
	}
	s.mu.RUnlock()
	switch st {
	case shardLoading:
		return nil, nil, kerr.CoordinatorLoadInProgress.Code
	case shardUnowned:
		return nil, nil, kerr.NotCoordinator.Code
	case shardClosed:
		return nil, nil, kerr.CoordinatorNotAvailable.Code
	}
	if g != nil || !create {
		return g, s, 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if g = s.groups[id]; g == nil {
		g = newGroup(id, p, c.now())
		s.groups[id] = g
	}
	return g, s, 0
}

// drop removes a dead group from its shard. The caller holds g.mu.
func (c *Coordinator) drop(g *group) {
	s := c.shards[g.partition]
	s.mu.Lock()
	if s.groups[g.id] == g {
		delete(s.groups, g.id)
	}
	s.mu.Unlock()
}

// append writes recs for g, bounded by ctx and offsets.commit.timeout.ms.
// The caller holds g.wmu and not g.mu.
func (c *Coordinator) append(ctx context.Context, g *group, recs []Record) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.OffsetsCommitTimeout)
	defer cancel()
	stop := context.AfterFunc(c.shards[g.partition].ctx, cancel) // Close aborts it
	defer stop()
	if err := c.store.Append(ctx, g.partition, recs); err != nil {
		return fmt.Errorf("group %q: append to __consumer_offsets-%d: %w", g.id, g.partition, err)
	}
	return nil
}

// flushEmpty appends the metadata of a group that a completed join left
// empty, if one did. The caller holds g.wmu and g.mu; mu is released during
// the append. Kafka only warns when this write fails: the previous
// generation then comes back after a restart and times out.
func (c *Coordinator) flushEmpty(ctx context.Context, g *group) {
	if !g.storeEmpty || g.state == stateDead {
		g.storeEmpty = false
		return
	}
	g.storeEmpty = false
	rec := Record{Key: groupMetadataKey(g.id), Value: groupMetadataValue(g)}
	g.mu.Unlock()
	err := c.append(ctx, g, []Record{rec})
	g.mu.Lock()
	if err != nil {
		c.logger.Warn("failed to store empty group metadata", zap.String("group", g.id), zap.Error(err))
	}
}

// background returns the context of appends no request waits for.
func (c *Coordinator) background() context.Context { return c.ctx }

// clientInfo is the identity of the client sending a request.
type clientInfo struct{ id, host string }

type clientKey struct{}

// WithClient returns ctx carrying the request's client.id and the client's
// host, which JoinGroup uses for new member ids and DescribeGroups shows.
// The wire layer sets it per request.
func WithClient(ctx context.Context, clientID, clientHost string) context.Context {
	return context.WithValue(ctx, clientKey{}, clientInfo{clientID, clientHost})
}

func clientFrom(ctx context.Context) clientInfo {
	ci, _ := ctx.Value(clientKey{}).(clientInfo)
	return ci
}
