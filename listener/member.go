package listener

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"
	"go.uber.org/zap"

	"github.com/kspring/kspring/template"
)

// member is one consumer of a container: a sarama client with a consumer
// group member on it (or, for explicit partitions, partition consumers).
//
// Its turn channel is the consumer's "thread": a worker holds it while it
// delivers records, so the member delivers one record or batch at a time.
type member struct {
	c        *Container
	r        *run
	n        int
	clientID string
	log      *zap.Logger
	client   sarama.Client
	cg       sarama.ConsumerGroup // group mode
	consumer sarama.Consumer      // explicit partitions
	offsets  *manualOffsets       // explicit partitions
	manual   []manualPartition
	turn     chan struct{}
	ctx      context.Context // handlers' context: r.hard with the ListenerInfo
	ready    chan struct{}   // explicit partitions: closed once consuming
	readyOne sync.Once

	mu         sync.Mutex
	claims     map[string][]int32
	cancelSess context.CancelFunc
	lastErr    error
	scope      scope // of the current session

	lags sync.Map // TopicPartition -> *partitionLag, of the partitions its workers hold

	ackMu      sync.Mutex // COUNT and TIME ack modes
	pending    int
	lastCommit time.Time
}

func newMember(c *Container, r *run, n int) (*member, error) {
	m := &member{
		c: c, r: r, n: n,
		clientID: c.clientID + "-" + strconv.Itoa(n),
		turn:     make(chan struct{}, 1),
		ready:    make(chan struct{}),
	}
	m.log = c.log.With(zap.String("client", m.clientID))
	m.ctx = withListenerInfo(r.hard, ListenerInfo{ID: c.id, GroupID: c.groupID, ClientID: m.clientID})
	cs := c.consumer
	if cs.instanceID != "" && c.concurrency > 1 {
		cs.instanceID += "-" + strconv.Itoa(n)
	}
	sc, err := cs.saramaConfig(c.reg.base, m.clientID)
	if err != nil {
		return nil, err
	}
	if m.client, err = sarama.NewClient(c.reg.brokers, sc); err != nil {
		return nil, fmt.Errorf("connect to %v: %w", c.reg.brokers, err)
	}
	if len(c.manual) == 0 {
		if m.cg, err = sarama.NewConsumerGroupFromClient(c.groupID, m.client); err != nil {
			_ = m.client.Close()
			return nil, fmt.Errorf("consumer group %q: %w", c.groupID, err)
		}
		go m.drainErrors(m.cg.Errors())
		return m, nil
	}
	for i, mp := range c.manual {
		if i%min(c.concurrency, len(c.manual)) == n {
			m.manual = append(m.manual, mp)
		}
	}
	if m.consumer, err = sarama.NewConsumerFromClient(m.client); err != nil {
		_ = m.client.Close()
		return nil, err
	}
	if m.offsets, err = newManualOffsets(m, c.groupID); err != nil {
		_ = m.consumer.Close()
		_ = m.client.Close()
		return nil, err
	}
	return m, nil
}

// close releases what newMember opened, for a member that never ran.
func (m *member) close() {
	if m.cg != nil {
		_ = m.cg.Close()
	}
	if m.offsets != nil {
		m.offsets.close()
	}
	if m.consumer != nil {
		_ = m.consumer.Close()
	}
	_ = m.client.Close()
}

func (m *member) drainErrors(errs <-chan error) {
	for err := range errs {
		m.log.Warn("kafka listener: consumer error", zap.Error(err))
	}
}

// loop runs sessions until the run ends, then leaves the group.
func (m *member) loop() {
	defer m.close()
	if m.cg != nil {
		m.groupLoop()
	} else {
		m.manualLoop()
	}
}

func (m *member) groupLoop() {
	for m.r.ctx.Err() == nil {
		topics, err := m.c.subscription(m.client)
		if err == nil {
			sctx, cancel := context.WithCancel(m.r.ctx)
			m.setCancel(cancel)
			if m.c.pattern != nil {
				go m.watchPattern(sctx, cancel, topics)
			}
			err = m.cg.Consume(sctx, topics, (*groupHandler)(m))
			cancel()
		}
		if m.r.ctx.Err() != nil || errors.Is(err, sarama.ErrClosedConsumerGroup) {
			return
		}
		if err != nil {
			m.setErr(err)
			m.log.Warn("kafka listener: consume failed; retrying", zap.Error(err))
			if !m.wait(time.Second) {
				return
			}
		}
	}
}

// wait sleeps d or until the run ends; it reports whether the run goes on.
func (m *member) wait(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-m.r.ctx.Done():
		return false
	}
}

// subscription returns the topics to subscribe to now: the fixed topics, or
// those matching the pattern.
func (c *Container) subscription(client sarama.Client) ([]string, error) {
	if c.pattern == nil {
		return c.topics, nil
	}
	if err := client.RefreshMetadata(); err != nil {
		return nil, err
	}
	all, err := client.Topics()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, t := range all {
		if !strings.HasPrefix(t, "__") && c.pattern.MatchString(t) {
			out = append(out, t)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no topic matches %s", c.pattern)
	}
	slices.Sort(out)
	return out, nil
}

// watchPattern ends the session when the topics matching the pattern change.
func (m *member) watchPattern(ctx context.Context, cancel context.CancelFunc, topics []string) {
	t := time.NewTicker(m.c.consumer.metadataMaxAge)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			now, err := m.c.subscription(m.client)
			if err == nil && !slices.Equal(now, topics) {
				m.log.Info("kafka listener: topics matching the pattern changed", zap.Strings("topics", now))
				cancel()
				return
			}
		}
	}
}

func (m *member) setCancel(cancel context.CancelFunc) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.cancelSess = cancel
}

func (m *member) setErr(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lastErr = err
}

// restartSession ends the current session so that the next one applies
// pending seeks.
func (m *member) restartSession() {
	m.mu.Lock()
	cancel := m.cancelSess
	m.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}

func (m *member) assigned() map[string][]int32 {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string][]int32, len(m.claims))
	for t, ps := range m.claims {
		out[t] = slices.Clone(ps)
	}
	return out
}

func (m *member) health() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.lastErr
}

func (m *member) currentScope() scope {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.scope
}

// pauseFetch stops (or resumes) fetching every partition the member
// consumes now; partitions assigned later are paused by their workers.
func (m *member) pauseFetch(pause bool) {
	switch {
	case m.cg != nil && pause:
		m.cg.PauseAll()
	case m.cg != nil:
		m.cg.ResumeAll()
	case pause:
		m.consumer.PauseAll()
	default:
		m.consumer.ResumeAll()
	}
}

// acquire takes the member's turn, unless done ends first.
func (m *member) acquire(done <-chan struct{}) bool {
	select {
	case m.turn <- struct{}{}:
		return true
	case <-done:
		return false
	}
}

func (m *member) release() { <-m.turn }

// counted adds n processed records for the COUNT and TIME ack modes and
// reports whether a commit is due.
func (m *member) counted(n int) bool {
	m.ackMu.Lock()
	defer m.ackMu.Unlock()
	m.pending += n
	if m.pending == 0 {
		return false
	}
	byCount := m.pending >= m.c.settings.ackCount
	byTime := time.Since(m.lastCommit) >= m.c.settings.ackTime
	due := false
	switch m.c.ackMode {
	case AckCount:
		due = byCount
	case AckTime:
		due = byTime
	case AckCountTime:
		due = byCount || byTime
	}
	if due {
		m.pending = 0
		m.lastCommit = time.Now()
	}
	return due
}

func (m *member) resetCounts() {
	m.ackMu.Lock()
	defer m.ackMu.Unlock()
	m.pending = 0
	m.lastCommit = time.Now()
}

// commit runs a commit function unless commits are frozen.
func (m *member) commit(fn func()) {
	if !m.r.frozen.Load() {
		fn()
	}
}

// callHook runs a user hook, logging a panic rather than letting it end the
// member.
func (m *member) callHook(what string, fn func()) {
	defer func() {
		if r := recover(); r != nil {
			m.log.Error("kafka listener: hook panicked", zap.String("hook", what), zap.Any("panic", r), zap.StackSkip("stack", 2))
		}
	}()
	fn()
}

func topicPartitions(claims map[string][]int32) []TopicPartition {
	var out []TopicPartition
	for _, t := range slices.Sorted(maps.Keys(claims)) {
		for _, p := range claims[t] {
			out = append(out, TopicPartition{t, p})
		}
	}
	return out
}

// groupHandler is the member as a sarama.ConsumerGroupHandler.
type groupHandler member

// Setup records the new assignment, applies pending seeks and calls the
// assigned hook before any claim starts consuming.
func (h *groupHandler) Setup(sess sarama.ConsumerGroupSession) error {
	m := (*member)(h)
	claims := sess.Claims()
	sc := &groupScope{m: m, sess: sess}
	sc.alive.Store(true)
	for _, tp := range topicPartitions(claims) {
		if t, ok := m.c.takeSeek(tp); ok {
			if err := sc.seekTo(tp, t); err != nil {
				m.log.Error("kafka listener: seek failed", zap.String("topic", tp.Topic), zap.Int32("partition", tp.Partition), zap.Error(err))
			}
		}
	}
	if m.c.hooks.assigned != nil {
		m.callHook("partitions assigned", func() {
			m.c.hooks.assigned(m.ctx, topicPartitions(claims), &hookSeeker{claims: claims, seek: sc.seekTo})
		})
	}
	sc.com = startCommitter(func() { m.commit(sess.Commit) })
	m.resetCounts()
	m.mu.Lock()
	m.claims = claims
	m.lastErr = nil
	m.scope = sc
	m.mu.Unlock()
	m.readyOne.Do(func() { close(m.ready) })
	return nil
}

// Cleanup commits what was processed, unless the partitions were lost, and
// calls the revoked or lost hook.
func (h *groupHandler) Cleanup(sess sarama.ConsumerGroupSession) error {
	m := (*member)(h)
	m.mu.Lock()
	sc, _ := m.scope.(*groupScope)
	claims := m.claims
	m.scope, m.claims = nil, nil
	m.mu.Unlock()
	if sc != nil {
		sc.com.stop()
		sc.alive.Store(false)
	}
	cause := context.Cause(sess.Context())
	lost := errors.Is(cause, sarama.ErrUnknownMemberId) || errors.Is(cause, sarama.ErrIllegalGeneration) ||
		errors.Is(cause, sarama.ErrFencedInstancedId) || errors.Is(cause, sarama.ErrSessionHeartbeatFailed) ||
		errors.Is(cause, sarama.ErrRebalanceTimedOut)
	tps := topicPartitions(claims)
	if lost {
		if m.c.hooks.lost != nil {
			m.callHook("partitions lost", func() { m.c.hooks.lost(m.ctx, tps) })
		}
		return nil
	}
	m.commit(sess.Commit)
	if m.c.hooks.revoked != nil {
		m.callHook("partitions revoked", func() { m.c.hooks.revoked(m.ctx, tps) })
	}
	return nil
}

// ConsumeClaim delivers the records of one partition until the session ends.
func (h *groupHandler) ConsumeClaim(sess sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	m := (*member)(h)
	sc := m.currentScope()
	if sc == nil {
		return nil
	}
	w := newWorker(m, sc, TopicPartition{claim.Topic(), claim.Partition()}, sess.Context().Done())
	w.lag = m.trackLag(w.tp, claim.HighWaterMarkOffset, claim.InitialOffset())
	defer m.untrackLag(w.tp, w.lag)
	w.consume(claim.Messages())
	return nil
}

// scope is what a worker needs from the session that gave it a partition.
type scope interface {
	mark(tp TopicPartition, next int64)
	commitSync()
	commitAsync()
	pause(tp TopicPartition)
	resume(tp TopicPartition)
	groupMetadata() template.GroupMetadata // for transactional offsets
}

// groupScope is the scope of a consumer group session.
type groupScope struct {
	m     *member
	sess  sarama.ConsumerGroupSession
	com   *committer
	alive atomic.Bool
}

func (s *groupScope) mark(tp TopicPartition, next int64) {
	if s.alive.Load() {
		s.sess.MarkOffset(tp.Topic, tp.Partition, next, "")
	}
}

func (s *groupScope) commitSync() {
	if s.alive.Load() {
		s.m.commit(s.sess.Commit)
	}
}

func (s *groupScope) commitAsync() { s.com.kick() }

func (s *groupScope) pause(tp TopicPartition) {
	s.m.cg.Pause(map[string][]int32{tp.Topic: {tp.Partition}})
}

func (s *groupScope) resume(tp TopicPartition) {
	s.m.cg.Resume(map[string][]int32{tp.Topic: {tp.Partition}})
}

// seekTo moves the session's position of tp; the claim starts there.
func (s *groupScope) seekTo(tp TopicPartition, t seekTarget) error {
	off, err := resolveSeek(s.m.client, tp, t)
	if err != nil {
		return err
	}
	// MarkOffset only moves forward and ResetOffset only back: one of them
	// takes.
	s.sess.MarkOffset(tp.Topic, tp.Partition, off, "")
	s.sess.ResetOffset(tp.Topic, tp.Partition, off, "")
	return nil
}

// hookSeeker is the Seeker an assigned hook gets: seeks apply at once to the
// partitions just assigned.
type hookSeeker struct {
	claims map[string][]int32
	seek   func(TopicPartition, seekTarget) error
}

func (s *hookSeeker) do(tp TopicPartition, t seekTarget) error {
	if !slices.Contains(s.claims[tp.Topic], tp.Partition) {
		return fmt.Errorf("listener: seek %s-%d: %w", tp.Topic, tp.Partition, ErrNotAssigned)
	}
	return s.seek(tp, t)
}

func (s *hookSeeker) Seek(topic string, partition int32, offset int64) error {
	return s.do(TopicPartition{topic, partition}, seekTarget{kind: seekOffset, offset: offset})
}

func (s *hookSeeker) SeekToBeginning(topic string, partition int32) error {
	return s.do(TopicPartition{topic, partition}, seekTarget{kind: seekBeginning})
}

func (s *hookSeeker) SeekToEnd(topic string, partition int32) error {
	return s.do(TopicPartition{topic, partition}, seekTarget{kind: seekEnd})
}

func (s *hookSeeker) SeekToTimestamp(topic string, partition int32, ts time.Time) error {
	return s.do(TopicPartition{topic, partition}, seekTarget{kind: seekTime, ts: ts})
}

// committer commits in the background when kicked: at most one commit in
// flight, and kicks during a commit coalesce into the next one.
type committer struct {
	kickc chan struct{}
	stopc chan struct{}
	done  chan struct{}
}

func startCommitter(commit func()) *committer {
	c := &committer{kickc: make(chan struct{}, 1), stopc: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(c.done)
		for {
			select {
			case <-c.kickc:
				commit()
			case <-c.stopc:
				return
			}
		}
	}()
	return c
}

func (c *committer) kick() {
	select {
	case c.kickc <- struct{}{}:
	default:
	}
}

// stop waits for a commit in flight and ends the committer; the caller
// commits one last time itself.
func (c *committer) stop() {
	close(c.stopc)
	<-c.done
}
