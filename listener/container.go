package listener

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"
	"go.uber.org/zap"
)

// Container runs one endpoint, as Spring's ConcurrentMessageListenerContainer:
// Concurrency consumers in the endpoint's group (or, with Partitions, over
// the partitions given), each on its own sarama client. Records of a
// partition are delivered one at a time in offset order; each consumer
// delivers one record (or batch) at a time, so a handler runs on at most
// Concurrency goroutines at once.
//
// Start, Stop, Pause, Resume and the seeks may be called at any time from
// any goroutine. A Container is safe for concurrent use.
type Container struct {
	reg         *Registry
	log         *zap.Logger
	id          string
	groupID     string
	topics      []string // subscribed topics, retry topics included
	pattern     *regexp.Regexp
	manual      []manualPartition
	concurrency int
	autoStartup bool
	settings    containerSettings
	ackMode     AckMode
	consumer    consumerSettings
	clientID    string // prefix of the members' client ids
	batch       bool
	del         delivery
	handler     ErrorHandler
	filter      func(*RawRecord) bool
	icpts       []RecordInterceptor
	replies     Sender
	txm         TransactionManager // nil: no transactions
	hooks       hooks
	retry       *retryPlan

	mu      sync.Mutex
	run     *run
	pauseCh chan struct{}                 // non-nil while paused; closed by Resume
	pausing atomic.Pointer[chan struct{}] // pauseCh, for workers to read without the lock
	seeks   map[TopicPartition]seekTarget
}

type hooks struct {
	assigned func(ctx context.Context, assigned []TopicPartition, s Seeker)
	revoked  func(ctx context.Context, revoked []TopicPartition)
	lost     func(ctx context.Context, lost []TopicPartition)
}

type manualPartition struct {
	tp      TopicPartition
	initial int64
}

// run is one start-to-stop life of a container.
type run struct {
	ctx     context.Context // ends when Stop begins
	cancel  context.CancelFunc
	hard    context.Context // handlers' base context; ends when Stop gives up waiting
	abort   context.CancelFunc
	members []*member
	done    chan struct{} // closed when every member has exited
	frozen  atomic.Bool   // tests: drop every commit, as a crashed process would
}

func newContainer(r *Registry, ep Endpoint) (*Container, error) {
	var s spec
	for _, o := range ep.opts {
		o(&s)
	}
	id, err := resolvePlaceholders(ep.id, r.resolve)
	if err != nil {
		return nil, fmt.Errorf("listener %q: id: %w", ep.id, err)
	}
	if id == "" {
		return nil, fmt.Errorf("%w: listener with an empty id", ErrConfig)
	}
	c, err := buildContainer(r, ep, id, &s)
	if err != nil {
		return nil, fmt.Errorf("listener %q: %w", id, err)
	}
	return c, nil
}

func buildContainer(r *Registry, ep Endpoint, id string, s *spec) (*Container, error) {
	var errs []error
	res := func(what, v string) string {
		out, err := resolvePlaceholders(v, r.resolve)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", what, err))
		}
		return strings.TrimSpace(out)
	}
	c := &Container{
		reg: r, id: id, batch: ep.batch, filter: s.filter, icpts: s.interceptors,
		replies: r.replies, seeks: map[TopicPartition]seekTarget{},
		hooks: hooks{assigned: s.onAssigned, revoked: s.onRevoked, lost: s.onLost},
	}
	c.log = r.log.With(zap.String("listener", id))

	for _, t := range s.topics {
		for name := range strings.SplitSeq(res("topics", t), ",") {
			if name = strings.TrimSpace(name); name != "" && !slices.Contains(c.topics, name) {
				c.topics = append(c.topics, name)
			}
		}
	}
	if s.pattern != "" {
		p := res("topic pattern", s.pattern)
		re, err := regexp.Compile("^(?:" + p + ")$")
		if err != nil {
			errs = append(errs, fmt.Errorf("%w: topic pattern %q: %w", ErrConfig, p, err))
		}
		c.pattern = re
	}
	for _, ps := range s.partitions {
		topic := res("partitions topic", ps.topic)
		for _, p := range slices.Sorted(maps.Keys(ps.offsets)) {
			tp := TopicPartition{topic, p}
			if slices.ContainsFunc(c.manual, func(m manualPartition) bool { return m.tp == tp }) {
				errs = append(errs, fmt.Errorf("%w: partition %s-%d given twice", ErrConfig, topic, p))
			}
			if p < 0 || ps.offsets[p] < OffsetCommitted {
				errs = append(errs, fmt.Errorf("%w: partition %s-%d: bad partition or initial offset %d", ErrConfig, topic, p, ps.offsets[p]))
			}
			c.manual = append(c.manual, manualPartition{tp, ps.offsets[p]})
		}
		if len(ps.offsets) == 0 {
			errs = append(errs, fmt.Errorf("%w: Partitions(%q) names no partition", ErrConfig, topic))
		}
	}
	switch {
	case len(c.topics) == 0 && c.pattern == nil && len(s.partitions) == 0:
		errs = append(errs, ErrNoTopics)
	case len(s.partitions) > 0 && (len(c.topics) > 0 || c.pattern != nil):
		errs = append(errs, fmt.Errorf("%w: Partitions cannot be mixed with Topics or TopicPattern", ErrConfig))
	case len(c.topics) > 0 && c.pattern != nil:
		errs = append(errs, fmt.Errorf("%w: Topics cannot be mixed with TopicPattern", ErrConfig))
	}

	// Consumer properties: Config, then the endpoint's, then its attributes.
	props := map[string]string{}
	for k, v := range s.props {
		props[k] = res("consumer property "+k, v)
	}
	if s.startOffset != "" {
		props["auto.offset.reset"] = res("start offset", s.startOffset)
	}
	switch {
	case s.groupID != "":
		props["group.id"] = res("group id", s.groupID)
	case s.idIsGroup == nil || *s.idIsGroup:
		if _, set := props["group.id"]; !set {
			props["group.id"] = id
		}
	}
	c.txm = r.txm
	if s.txm != nil {
		c.txm = s.txm
	}
	if s.noTxm {
		c.txm = nil
	}
	merged := r.cfg.Consumer.props(props)
	if _, set := merged["isolation.level"]; !set && c.txm != nil {
		// Spring Boot's consumers read committed data once producers are
		// transactional.
		merged["isolation.level"] = "read_committed"
	}
	cs, err := resolveConsumer(merged)
	if err != nil {
		errs = append(errs, err)
	}
	c.consumer = cs
	c.groupID = cs.groupID
	if c.groupID == "" && len(c.manual) == 0 {
		errs = append(errs, fmt.Errorf("%w: no group id (set GroupID, or a consumer group-id with IDIsGroup(false))", ErrConfig))
	}

	c.settings = r.container
	c.concurrency = cmp.Or(s.concurrency, r.container.concurrency)
	if s.concurrency < 0 {
		errs = append(errs, fmt.Errorf("%w: concurrency %d is negative", ErrConfig, s.concurrency))
	}
	c.autoStartup = r.container.autoStartup
	if s.autoStartup != nil {
		c.autoStartup = *s.autoStartup
	}
	c.ackMode = r.container.ackMode
	if s.ackMode != nil {
		c.ackMode = *s.ackMode
		if c.ackMode < AckRecord || c.ackMode > AckCountTime {
			errs = append(errs, fmt.Errorf("%w: %v", ErrConfig, c.ackMode))
		}
	}
	c.clientID = cmp.Or(res("client id prefix", s.clientIDPrefix), r.container.clientID, cs.clientID, "kspring-"+id)
	c.handler = r.handler
	if s.errorHandler != nil {
		c.handler = s.errorHandler
	}

	replyTo := res("reply topic", s.replyTo)
	if ep.reply && r.replies == nil {
		errs = append(errs, fmt.Errorf("%w: a reply listener needs the registry option WithReplyTemplate", ErrConfig))
	}
	if c.del, err = ep.bind(binding{valueDeser: s.valueDeser, props: merged, replySer: s.replySer, replyTo: replyTo}); err != nil {
		errs = append(errs, err)
	}
	if s.retry != nil {
		plan, err := newRetryPlan(r, c, *s.retry)
		if err != nil {
			errs = append(errs, err)
		}
		c.retry = plan
	}
	if err := c.checkTransactional(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return c, nil
}

// ID returns the endpoint id.
func (c *Container) ID() string { return c.id }

// GroupID returns the consumer group, empty for explicit partitions
// without one.
func (c *Container) GroupID() string { return c.groupID }

// Topics returns the topics the container subscribes to (retry and
// dead-letter topics included), or nil for a topic pattern.
func (c *Container) Topics() []string { return slices.Clone(c.topics) }

// AutoStartup reports whether Registry.Start starts the container.
func (c *Container) AutoStartup() bool { return c.autoStartup }

// Concurrency returns the number of consumers the container runs.
func (c *Container) Concurrency() int { return c.concurrency }

// AckMode returns the container's ack mode.
func (c *Container) AckMode() AckMode { return c.ackMode }

// Start connects the consumers and starts consuming; it returns once their
// clients are connected (for explicit partitions: once consumption has
// started from the initial offsets). Starting a running container does
// nothing. A stopped container can be started again.
func (c *Container) Start(ctx context.Context) error {
	r, err := c.launch(ctx)
	if err != nil || r == nil || len(c.manual) == 0 {
		return err
	}
	for _, m := range r.members {
		select {
		case <-m.ready:
		case <-r.done:
			return fmt.Errorf("listener %q: start: stopped while starting: %w", c.id, ErrNotRunning)
		case <-ctx.Done():
			stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer cancel()
			_ = c.Stop(stopCtx)
			return fmt.Errorf("listener %q: start: %w", c.id, ctx.Err())
		}
	}
	return nil
}

// launch creates the members and starts their loops; it returns nil for a
// container that was already running.
func (c *Container) launch(ctx context.Context) (*run, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.run != nil {
		return nil, nil
	}
	if c.retry != nil {
		if err := c.retry.prepare(ctx, c); err != nil {
			return nil, fmt.Errorf("listener %q: start: %w", c.id, err)
		}
	}
	if c.settings.missingTopicsFatal && len(c.topics) > 0 {
		if err := c.checkTopics(); err != nil {
			return nil, fmt.Errorf("listener %q: start: %w", c.id, err)
		}
	}
	r := &run{done: make(chan struct{})}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	r.hard, r.abort = context.WithCancel(context.Background())
	n := c.concurrency
	if len(c.manual) > 0 {
		n = min(n, len(c.manual))
	}
	for i := range n {
		m, err := newMember(c, r, i)
		if err != nil {
			r.cancel()
			r.abort()
			for _, m := range r.members {
				m.close()
			}
			return nil, fmt.Errorf("listener %q: start: %w", c.id, err)
		}
		r.members = append(r.members, m)
	}
	var wg sync.WaitGroup
	for _, m := range r.members {
		wg.Go(m.loop)
	}
	go func() { wg.Wait(); close(r.done) }()
	c.run = r
	c.log.Info("kafka listener started", zap.String("group", c.groupID), zap.Int("concurrency", n),
		zap.Strings("topics", c.topics), zap.Stringer("ack-mode", c.ackMode))
	return r, nil
}

// checkTopics fails with ErrMissingTopics when a subscribed topic does not
// exist (missing-topics-fatal).
func (c *Container) checkTopics() error {
	sc, err := c.consumer.saramaConfig(c.reg.base, c.clientID+"-admin")
	if err != nil {
		return err
	}
	sc.Metadata.AllowAutoTopicCreation = false
	client, err := sarama.NewClient(c.reg.brokers, sc)
	if err != nil {
		return fmt.Errorf("connect to %v: %w", c.reg.brokers, err)
	}
	defer client.Close()
	if err := client.RefreshMetadata(); err != nil {
		return err
	}
	have, err := client.Topics()
	if err != nil {
		return err
	}
	var missing []string
	for _, t := range c.topics {
		if !slices.Contains(have, t) {
			missing = append(missing, t)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: %s", ErrMissingTopics, strings.Join(missing, ", "))
	}
	return nil
}

// Stop stops the container gracefully: each consumer finishes the record
// (or batch) it is delivering, commits what was processed and leaves its
// group. If ctx ends first, the handlers' contexts are cancelled and Stop
// returns ctx's error; the consumers then finish on their own. Stopping a
// stopped container does nothing.
func (c *Container) Stop(ctx context.Context) error {
	c.mu.Lock()
	r := c.run
	c.run = nil
	c.mu.Unlock()
	if r == nil {
		return nil
	}
	r.cancel()
	select {
	case <-r.done:
		r.abort()
		c.log.Info("kafka listener stopped")
		return nil
	case <-ctx.Done():
		r.abort()
		return fmt.Errorf("listener %q: stop: %w", c.id, ctx.Err())
	}
}

// IsRunning reports whether the container was started and not stopped.
func (c *Container) IsRunning() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.run != nil
}

// Pause stops delivering records, as Spring's pause: deliveries in progress
// finish, then no record is delivered, and fetching stops, until Resume.
// The consumers stay in their group. Pause lasts across Stop and Start.
func (c *Container) Pause() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pauseCh == nil {
		ch := make(chan struct{})
		c.pauseCh = ch
		c.pausing.Store(&ch)
	}
	if c.run != nil {
		for _, m := range c.run.members {
			m.pauseFetch(true)
		}
	}
}

// Resume undoes Pause.
func (c *Container) Resume() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pauseCh != nil {
		close(c.pauseCh)
		c.pauseCh = nil
		c.pausing.Store(nil)
	}
	if c.run != nil {
		for _, m := range c.run.members {
			m.pauseFetch(false)
		}
	}
}

// IsPaused reports whether Pause was called without Resume since.
func (c *Container) IsPaused() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pauseCh != nil
}

// paused returns the channel Resume closes, or nil when not paused.
func (c *Container) paused() chan struct{} {
	if p := c.pausing.Load(); p != nil {
		return *p
	}
	return nil
}

// Assignments returns the partitions the container's consumers hold now, by
// topic, sorted.
func (c *Container) Assignments() map[string][]int32 {
	c.mu.Lock()
	r := c.run
	c.mu.Unlock()
	out := map[string][]int32{}
	if r == nil {
		return out
	}
	for _, m := range r.members {
		for t, ps := range m.assigned() {
			out[t] = append(out[t], ps...)
		}
	}
	for t := range out {
		slices.Sort(out[t])
	}
	return out
}

// Health returns nil when the container is stopped or all its consumers
// are in their group; else an error naming the listener and the cause.
func (c *Container) Health() error {
	c.mu.Lock()
	r := c.run
	c.mu.Unlock()
	if r == nil {
		return nil
	}
	var errs []error
	for _, m := range r.members {
		if err := m.health(); err != nil {
			errs = append(errs, fmt.Errorf("listener %q: consumer %s: %w", c.id, m.clientID, err))
		}
	}
	return errors.Join(errs...)
}

// Seeks at run time.

type seekKind int

const (
	seekOffset seekKind = iota
	seekBeginning
	seekEnd
	seekTime
)

type seekTarget struct {
	kind   seekKind
	offset int64
	ts     time.Time
}

// Seek moves partition of topic to offset: the next record delivered from
// it is the one at offset. The consumer holding the partition finishes the
// record in hand, commits, and rejoins its group with the new position
// (only the group's leader causes a rebalance), so records delivered just
// before the seek takes effect are committed normally. It fails with
// ErrNotAssigned when no consumer of the container holds the partition and
// ErrNotRunning when the container is stopped. The beginning, end and
// timestamp forms resolve the offset when they are called.
func (c *Container) Seek(topic string, partition int32, offset int64) error {
	return c.seek(TopicPartition{topic, partition}, seekTarget{kind: seekOffset, offset: offset})
}

// SeekToBeginning moves partition of topic to its first record.
func (c *Container) SeekToBeginning(topic string, partition int32) error {
	return c.seek(TopicPartition{topic, partition}, seekTarget{kind: seekBeginning})
}

// SeekToEnd moves partition of topic past its last record.
func (c *Container) SeekToEnd(topic string, partition int32) error {
	return c.seek(TopicPartition{topic, partition}, seekTarget{kind: seekEnd})
}

// SeekToTimestamp moves partition of topic to the first record with a
// timestamp at or after ts, or to the end if there is none.
func (c *Container) SeekToTimestamp(topic string, partition int32, ts time.Time) error {
	return c.seek(TopicPartition{topic, partition}, seekTarget{kind: seekTime, ts: ts})
}

func (c *Container) seek(tp TopicPartition, t seekTarget) error {
	c.mu.Lock()
	r := c.run
	if r == nil {
		c.mu.Unlock()
		return fmt.Errorf("listener %q: seek %s-%d: %w", c.id, tp.Topic, tp.Partition, ErrNotRunning)
	}
	var owner *member
	for _, m := range r.members {
		if slices.Contains(m.assigned()[tp.Topic], tp.Partition) {
			owner = m
		}
	}
	c.mu.Unlock()
	if owner == nil {
		return fmt.Errorf("listener %q: seek %s-%d: %w", c.id, tp.Topic, tp.Partition, ErrNotAssigned)
	}
	// Resolve now: the end (or a timestamp) is where it is at the call.
	off, err := resolveSeek(owner.client, tp, t)
	if err != nil {
		return fmt.Errorf("listener %q: seek %s-%d: %w", c.id, tp.Topic, tp.Partition, err)
	}
	c.mu.Lock()
	c.seeks[tp] = seekTarget{kind: seekOffset, offset: off}
	c.mu.Unlock()
	owner.restartSession()
	return nil
}

// takeSeek removes and returns the pending seek of tp.
func (c *Container) takeSeek(tp TopicPartition) (seekTarget, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.seeks[tp]
	delete(c.seeks, tp)
	return t, ok
}

// resolveSeek turns a seek target into an offset with client.
func resolveSeek(client sarama.Client, tp TopicPartition, t seekTarget) (int64, error) {
	switch t.kind {
	case seekBeginning:
		return client.GetOffset(tp.Topic, tp.Partition, sarama.OffsetOldest)
	case seekEnd:
		return client.GetOffset(tp.Topic, tp.Partition, sarama.OffsetNewest)
	case seekTime:
		off, err := client.GetOffset(tp.Topic, tp.Partition, t.ts.UnixMilli())
		if err == nil && off < 0 {
			return client.GetOffset(tp.Topic, tp.Partition, sarama.OffsetNewest)
		}
		return off, err
	}
	return t.offset, nil
}
