package broker_test

// Consumer groups end to end: real clients (sarama's ConsumerGroup with the
// range, roundrobin and sticky strategies, franz-go with cooperative-sticky,
// kcat -G, and raw requests where a client cannot be made to misbehave on
// cue) against the broker over TCP. The tests pin what a Kafka user relies
// on: each partition is read by exactly one member; a member that leaves or
// dies has its partitions moved; with synchronous commits nothing is lost or
// read twice across rebalances; committed offsets and generations survive a
// restart; zombies are fenced; a static member's restart does not rebalance;
// auto.offset.reset applies only where nothing is committed; the admin APIs.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kspring/kspring/broker"
)

// Session timeouts of group members in these tests: members that must not
// expire on a slow machine get a long one, members the test kills a short
// one, so that their death is noticed quickly. The broker's minimum is
// lowered to allow the short one.
const (
	groupLongSession  = 30 * time.Second
	groupShortSession = 5 * time.Second
	groupHeartbeat    = 100 * time.Millisecond
	groupRebalance    = 10 * time.Second
)

// groupStartBroker starts a broker for group tests: 4 partitions of
// __consumer_offsets and a minimum session timeout of 500ms.
func groupStartBroker(t *testing.T, opts ...func(*broker.Config)) *broker.Broker {
	t.Helper()
	return startBroker(t, append([]func(*broker.Config){groupConfig}, opts...)...)
}

func groupConfig(cfg *broker.Config) {
	cfg.OffsetsTopicNumPartitions = 4
	cfg.GroupMinSessionTimeoutMs = 500 * time.Millisecond
}

// ---- connections a test can cut ----

// groupDialer dials for one client and can kill it: kill closes every
// connection and refuses new ones, so that to the broker the client is
// dead (no LeaveGroup, no heartbeat) while its process runs on. It serves
// franz-go (DialContext) and sarama (Dial, as its proxy dialer).
type groupDialer struct {
	mu    sync.Mutex
	dead  bool
	conns []net.Conn
}

var errGroupDialerDead = errors.New("connection cut by the test")

func (d *groupDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	d.mu.Lock()
	dead := d.dead
	d.mu.Unlock()
	if dead {
		return nil, errGroupDialerDead
	}
	var nd net.Dialer
	c, err := nd.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.dead {
		c.Close()
		return nil, errGroupDialerDead
	}
	d.conns = append(d.conns, c)
	return c, nil
}

func (d *groupDialer) Dial(network, addr string) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	return d.DialContext(ctx, network, addr)
}

// kill closes the client's connections and refuses new ones.
func (d *groupDialer) kill() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.dead = true
	for _, c := range d.conns {
		c.Close()
	}
	d.conns = nil
}

// revive lets the client connect again.
func (d *groupDialer) revive() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.dead = false
}

// ---- what the group read ----

// groupLedger records every record produced and every record a member of
// the group processed, to check that each was processed exactly once.
type groupLedger struct {
	mu        sync.Mutex
	produced  map[int32]map[int64]string // partition -> offset -> key
	processed map[int32]map[int64][]string
	distinct  int // processed (partition, offset) pairs
	total     int // records produced
}

func newGroupLedger() *groupLedger {
	return &groupLedger{produced: map[int32]map[int64]string{}, processed: map[int32]map[int64][]string{}}
}

func (l *groupLedger) addProduced(recs []*kgo.Record) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, r := range recs {
		if l.produced[r.Partition] == nil {
			l.produced[r.Partition] = map[int64]string{}
		}
		l.produced[r.Partition][r.Offset] = string(r.Key)
		l.total++
	}
}

// process records that member who processed the record at partition p,
// offset off, with key key.
func (l *groupLedger) process(who string, p int32, off int64, key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.processed[p] == nil {
		l.processed[p] = map[int64][]string{}
	}
	if len(l.processed[p][off]) == 0 {
		l.distinct++
	}
	l.processed[p][off] = append(l.processed[p][off], who+"="+key)
}

// counts returns how many records were produced and how many distinct ones
// processed.
func (l *groupLedger) counts() (produced, processed int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.total, l.distinct
}

// awaitAll waits until every produced record was processed.
func (l *groupLedger) awaitAll(t *testing.T) {
	t.Helper()
	eventually(t, func() error {
		if prod, got := l.counts(); got < prod {
			return fmt.Errorf("the group processed %d of %d records", got, prod)
		}
		return nil
	})
}

// requireExactlyOnce checks that the group processed every produced record
// once, and nothing else.
func (l *groupLedger) requireExactlyOnce(t *testing.T) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var problems []string
	for p, offs := range l.produced {
		for off, key := range offs {
			switch got := l.processed[p][off]; {
			case len(got) == 0:
				problems = append(problems, fmt.Sprintf("p%d@%d (%s) lost", p, off, key))
			case len(got) > 1:
				problems = append(problems, fmt.Sprintf("p%d@%d read %d times: %v", p, off, len(got), got))
			case !strings.HasSuffix(got[0], "="+key):
				problems = append(problems, fmt.Sprintf("p%d@%d: want key %s, got %v", p, off, key, got))
			}
		}
	}
	for p, offs := range l.processed {
		for off, got := range offs {
			if _, ok := l.produced[p][off]; !ok {
				problems = append(problems, fmt.Sprintf("p%d@%d was never produced but read: %v", p, off, got))
			}
		}
	}
	slices.Sort(problems)
	require.Empty(t, problems, "%d records produced", l.total)
}

// requireAtLeastOnce checks that the group processed every produced record.
func (l *groupLedger) requireAtLeastOnce(t *testing.T) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var lost []string
	for p, offs := range l.produced {
		for off := range offs {
			if len(l.processed[p][off]) == 0 {
				lost = append(lost, fmt.Sprintf("p%d@%d", p, off))
			}
		}
	}
	slices.Sort(lost)
	require.Empty(t, lost, "records lost")
}

// groupProducer produces keyed records to topic in the background, keeping
// at most ahead records beyond what the group has processed, so that
// records keep flowing while members join and leave. Call more to allow n
// more records; wait to block until all were produced.
type groupProducer struct {
	t      *testing.T
	cl     *kgo.Client
	ledger *groupLedger
	topic  string
	ahead  int

	mu     sync.Mutex
	target int
	next   int
	err    error
	wake   chan struct{}
	done   chan struct{}
	cancel context.CancelFunc
}

func startGroupProducer(t *testing.T, addr, topic string, ledger *groupLedger, ahead int) *groupProducer {
	t.Helper()
	ctx, cancel := context.WithCancel(testCtx(t))
	p := &groupProducer{
		t: t, cl: newKgo(t, addr), ledger: ledger, topic: topic, ahead: ahead,
		wake: make(chan struct{}, 1), done: make(chan struct{}), cancel: cancel,
	}
	go p.run(ctx)
	t.Cleanup(func() { cancel(); <-p.done })
	return p
}

// more allows n more records.
func (p *groupProducer) more(n int) {
	p.mu.Lock()
	p.target += n
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// wait blocks until every allowed record was produced.
func (p *groupProducer) wait() {
	p.t.Helper()
	eventually(p.t, func() error {
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.err != nil {
			return nil
		}
		if p.next < p.target {
			return fmt.Errorf("produced %d of %d records", p.next, p.target)
		}
		return nil
	})
	p.mu.Lock()
	defer p.mu.Unlock()
	require.NoError(p.t, p.err, "producing")
}

func (p *groupProducer) run(ctx context.Context) {
	defer close(p.done)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	const chunk = 10
	for {
		p.mu.Lock()
		next, target := p.next, p.target
		p.mu.Unlock()
		_, processed := p.ledger.counts()
		if next >= target || next-processed >= p.ahead {
			select {
			case <-ctx.Done():
				return
			case <-p.wake:
			case <-tick.C:
			}
			continue
		}
		n := min(chunk, target-next)
		recs := make([]*kgo.Record, n)
		for i := range recs {
			k := fmt.Sprintf("k%06d", next+i)
			recs[i] = &kgo.Record{Topic: p.topic, Key: []byte(k), Value: []byte(k)}
		}
		if err := p.cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			if ctx.Err() == nil {
				p.mu.Lock()
				p.err = err
				p.mu.Unlock()
			}
			return
		}
		p.ledger.addProduced(recs)
		p.mu.Lock()
		p.next += n
		p.mu.Unlock()
	}
}

// ---- group members ----

// groupMember is one consumer of a group, run by a real client. It
// processes records into a ledger and commits each synchronously.
type groupMember interface {
	// name is the member's client.id.
	name() string
	// memberID is the member id of its latest generation ("" before).
	memberID() string
	// generation is its latest generation (-1 before).
	generation() int32
	// owned returns the partitions the client believes it owns.
	owned() []int32
	// assignments counts the assignments the client was handed.
	assignments() int
	// leave stops the member cleanly: it finishes the record in hand,
	// commits, and leaves the group.
	leave()
	// kill cuts the member's connections: the broker sees it die.
	kill()
	// errs returns the commit and group errors the client reported.
	errs() []error
}

// groupOwners is the client side of "each partition has one owner": every
// member claims what it is assigned and releases what it loses; a claim of
// a partition another member still holds is a violation.
type groupOwners struct {
	mu         sync.Mutex
	owner      map[int32]string
	violations []string
}

func newGroupOwners() *groupOwners { return &groupOwners{owner: map[int32]string{}} }

func (o *groupOwners) claim(who string, ps []int32) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, p := range ps {
		if prev, ok := o.owner[p]; ok && prev != who {
			o.violations = append(o.violations, fmt.Sprintf("%s claimed partition %d while %s owned it", who, p, prev))
		}
		o.owner[p] = who
	}
}

func (o *groupOwners) release(who string, ps []int32) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, p := range ps {
		if o.owner[p] == who {
			delete(o.owner, p)
		}
	}
}

func (o *groupOwners) releaseAll(who string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	maps.DeleteFunc(o.owner, func(_ int32, w string) bool { return w == who })
}

func (o *groupOwners) requireNoViolation(t *testing.T) {
	t.Helper()
	o.mu.Lock()
	defer o.mu.Unlock()
	require.Empty(t, o.violations, "a partition had two owners at once")
}

// groupSpec says how to start a member.
type groupSpec struct {
	addr, group, topic string
	name               string
	session            time.Duration
	instanceID         string // static membership when set
	latest             bool   // auto.offset.reset=latest (else earliest)
	ledger             *groupLedger
	owners             *groupOwners
}

// ---- sarama ----

// groupSarama is a member run by sarama's ConsumerGroup.
type groupSarama struct {
	spec   groupSpec
	cg     sarama.ConsumerGroup
	dialer *groupDialer
	cancel context.CancelFunc
	done   chan struct{}
	errsWG sync.WaitGroup
	closed sync.Once

	mu       sync.Mutex
	id       string
	gen      int32
	claims   []int32
	sessions int
	errors   []error
}

// groupSaramaConfig is sarama's config for a member: fast heartbeats and
// retries, manual synchronous commits, errors returned.
func groupSaramaConfig(spec groupSpec, version sarama.KafkaVersion, strategy sarama.BalanceStrategy, d *groupDialer) *sarama.Config {
	cfg := sarama.NewConfig()
	cfg.Version = version
	cfg.ClientID = spec.name
	cfg.Net.Proxy.Enable = true
	cfg.Net.Proxy.Dialer = d
	cfg.Metadata.Retry.Backoff = 50 * time.Millisecond
	cfg.Consumer.Retry.Backoff = 50 * time.Millisecond
	cfg.Consumer.Return.Errors = true
	// sarama shares one connection per broker between fetches and
	// commits, and a broker answers a connection's requests in order: a
	// commit waits behind a fetch that long-polls for data. A short poll
	// keeps per-record synchronous commits quick.
	cfg.Consumer.MaxWaitTime = 20 * time.Millisecond
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	if spec.latest {
		cfg.Consumer.Offsets.Initial = sarama.OffsetNewest
	}
	cfg.Consumer.Offsets.AutoCommit.Enable = false
	cfg.Consumer.Offsets.Retry.Max = 0 // a fenced commit must show, not be retried
	cfg.Consumer.Group.Rebalance.GroupStrategies = []sarama.BalanceStrategy{strategy}
	cfg.Consumer.Group.Rebalance.Timeout = groupRebalance
	cfg.Consumer.Group.Rebalance.Retry.Backoff = 50 * time.Millisecond
	cfg.Consumer.Group.Session.Timeout = spec.session
	cfg.Consumer.Group.Heartbeat.Interval = groupHeartbeat
	if spec.instanceID != "" {
		cfg.Consumer.Group.InstanceId = spec.instanceID
	}
	return cfg
}

func startGroupSarama(t *testing.T, spec groupSpec, version sarama.KafkaVersion, strategy sarama.BalanceStrategy) *groupSarama {
	t.Helper()
	d := &groupDialer{}
	cg, err := sarama.NewConsumerGroup([]string{spec.addr}, spec.group, groupSaramaConfig(spec, version, strategy, d))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	m := &groupSarama{spec: spec, cg: cg, dialer: d, cancel: cancel, done: make(chan struct{}), gen: -1}
	m.errsWG.Go(func() {
		for err := range cg.Errors() {
			m.addErr(err)
		}
	})
	go m.run(ctx)
	t.Cleanup(func() { m.dialer.revive(); m.leave() })
	return m
}

func (m *groupSarama) run(ctx context.Context) {
	defer close(m.done)
	for ctx.Err() == nil {
		err := m.cg.Consume(ctx, []string{m.spec.topic}, m)
		switch {
		case errors.Is(err, sarama.ErrClosedConsumerGroup):
			return
		case err != nil:
			m.addErr(err)
			select { // back off before the next attempt
			case <-ctx.Done():
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
}

func (m *groupSarama) addErr(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.errors = append(m.errors, err)
}

// Setup, Cleanup and ConsumeClaim implement sarama.ConsumerGroupHandler.
func (m *groupSarama) Setup(s sarama.ConsumerGroupSession) error {
	claims := slices.Sorted(slices.Values(s.Claims()[m.spec.topic]))
	m.mu.Lock()
	m.id, m.gen, m.claims = s.MemberID(), s.GenerationID(), claims
	m.sessions++
	m.mu.Unlock()
	m.spec.owners.claim(m.spec.name, claims)
	return nil
}

func (m *groupSarama) Cleanup(sarama.ConsumerGroupSession) error {
	m.mu.Lock()
	claims := m.claims
	m.claims = nil
	m.mu.Unlock()
	m.spec.owners.release(m.spec.name, claims)
	return nil
}

func (m *groupSarama) ConsumeClaim(s sarama.ConsumerGroupSession, c sarama.ConsumerGroupClaim) error {
	for {
		select {
		case msg, ok := <-c.Messages():
			if !ok {
				return nil
			}
			m.spec.ledger.process(m.spec.name, msg.Partition, msg.Offset, string(msg.Key))
			s.MarkMessage(msg, "")
			s.Commit()
		case <-s.Context().Done():
			return nil
		}
	}
}

func (m *groupSarama) name() string { return m.spec.name }

func (m *groupSarama) memberID() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.id
}

func (m *groupSarama) generation() int32 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.gen
}

func (m *groupSarama) owned() []int32 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.claims)
}

func (m *groupSarama) assignments() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.sessions
}

func (m *groupSarama) leave() {
	m.closed.Do(func() {
		m.cancel()
		<-m.done
		m.addErrIf(m.cg.Close())
		m.errsWG.Wait()
	})
}

func (m *groupSarama) addErrIf(err error) {
	if err != nil {
		m.addErr(err)
	}
}

func (m *groupSarama) kill() {
	m.dialer.kill()
	m.spec.owners.releaseAll(m.spec.name)
}

func (m *groupSarama) errs() []error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.errors)
}

// ---- franz-go ----

// groupKgo is a member run by a franz-go client: it polls with rebalances
// blocked, processes, commits the records synchronously, then allows the
// rebalance.
type groupKgo struct {
	spec   groupSpec
	cl     *kgo.Client
	dialer *groupDialer
	stop   context.CancelFunc // ends the poll loop
	abort  context.CancelFunc // ends a commit in flight (kill)
	done   chan struct{}
	closed sync.Once

	mu      sync.Mutex
	own     map[int32]bool
	assigns int
	errors  []error
}

func startGroupKgo(t *testing.T, spec groupSpec, opts ...kgo.Opt) *groupKgo {
	t.Helper()
	m := &groupKgo{spec: spec, dialer: &groupDialer{}, done: make(chan struct{}), own: map[int32]bool{}}
	base := []kgo.Opt{
		kgo.SeedBrokers(spec.addr),
		kgo.ClientID(spec.name),
		kgo.Dialer(m.dialer.DialContext),
		kgo.ConsumerGroup(spec.group),
		kgo.ConsumeTopics(spec.topic),
		kgo.Balancers(kgo.CooperativeStickyBalancer()),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
		kgo.SessionTimeout(spec.session),
		kgo.HeartbeatInterval(groupHeartbeat),
		kgo.RebalanceTimeout(groupRebalance),
		kgo.RetryBackoffFn(func(int) time.Duration { return 50 * time.Millisecond }),
		// A fetch in flight does not include partitions assigned while it
		// waits; a short wait picks them up quickly.
		kgo.FetchMaxWait(100 * time.Millisecond),
		kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, a map[string][]int32) {
			ps := a[spec.topic]
			m.mu.Lock()
			for _, p := range ps {
				m.own[p] = true
			}
			m.assigns++
			m.mu.Unlock()
			spec.owners.claim(spec.name, ps)
		}),
		kgo.OnPartitionsRevoked(func(_ context.Context, _ *kgo.Client, r map[string][]int32) { m.lose(r[spec.topic]) }),
		kgo.OnPartitionsLost(func(_ context.Context, _ *kgo.Client, l map[string][]int32) { m.lose(l[spec.topic]) }),
	}
	if spec.instanceID != "" {
		base = append(base, kgo.InstanceID(spec.instanceID))
	}
	if spec.latest {
		base = append(base, kgo.ConsumeResetOffset(kgo.NewOffset().AtEnd()))
	}
	cl, err := kgo.NewClient(append(base, opts...)...)
	require.NoError(t, err)
	m.cl = cl
	pollCtx, stop := context.WithCancel(context.Background())
	commitCtx, abort := context.WithCancel(context.Background())
	m.stop, m.abort = stop, abort
	go m.run(pollCtx, commitCtx)
	t.Cleanup(func() { m.dialer.revive(); m.leave() })
	return m
}

func (m *groupKgo) lose(ps []int32) {
	m.mu.Lock()
	for _, p := range ps {
		delete(m.own, p)
	}
	m.mu.Unlock()
	m.spec.owners.release(m.spec.name, ps)
}

func (m *groupKgo) run(pollCtx, commitCtx context.Context) {
	defer close(m.done)
	for {
		fs := m.cl.PollFetches(pollCtx)
		if fs.IsClientClosed() {
			return
		}
		fs.EachError(func(topic string, p int32, err error) {
			if !errors.Is(err, context.Canceled) {
				m.addErr(fmt.Errorf("fetch %s[%d]: %w", topic, p, err))
			}
		})
		recs := fs.Records()
		for _, r := range recs {
			m.spec.ledger.process(m.spec.name, r.Partition, r.Offset, string(r.Key))
		}
		if len(recs) > 0 {
			if err := m.cl.CommitRecords(commitCtx, recs...); err != nil {
				m.addErr(fmt.Errorf("commit: %w", err))
			}
		}
		m.cl.AllowRebalance()
		if pollCtx.Err() != nil {
			return
		}
	}
}

func (m *groupKgo) addErr(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.errors = append(m.errors, err)
}

func (m *groupKgo) name() string { return m.spec.name }

func (m *groupKgo) memberID() string {
	id, _ := m.cl.GroupMetadata()
	return id
}

func (m *groupKgo) generation() int32 {
	_, gen := m.cl.GroupMetadata()
	return gen
}

func (m *groupKgo) owned() []int32 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Sorted(maps.Keys(m.own))
}

func (m *groupKgo) assignments() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.assigns
}

// leave stops polling and closes the client, which leaves the group (a
// static member only closes, as Kafka's clients do).
func (m *groupKgo) leave() {
	m.closed.Do(func() {
		m.stop()
		<-m.done
		m.cl.Close()
		m.abort()
	})
}

func (m *groupKgo) kill() {
	m.dialer.kill()
	m.abort()
	m.spec.owners.releaseAll(m.spec.name)
}

func (m *groupKgo) errs() []error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.errors)
}

// ---- the broker's view ----

// groupDescribe describes one group with kadm.
func groupDescribe(t *testing.T, adm *kadm.Client, group string) (kadm.DescribedGroup, error) {
	t.Helper()
	ds, err := adm.DescribeGroups(testCtx(t), group)
	if err != nil {
		return kadm.DescribedGroup{}, err
	}
	d, ok := ds[group]
	if !ok {
		return kadm.DescribedGroup{}, fmt.Errorf("group %s not in the DescribeGroups answer", group)
	}
	return d, d.Err
}

// groupAssignment returns the broker's assignment of topic per client id,
// as stored by the leader's SyncGroup, with each member's id.
func groupAssignment(d kadm.DescribedGroup, topic string) (assigned map[string][]int32, ids map[string]string, err error) {
	assigned, ids = make(map[string][]int32, len(d.Members)), make(map[string]string, len(d.Members))
	for _, m := range d.Members {
		c, ok := m.Assigned.AsConsumer()
		if !ok {
			return nil, nil, fmt.Errorf("member %s: assignment is not a consumer assignment", m.MemberID)
		}
		if _, dup := ids[m.ClientID]; dup {
			return nil, nil, fmt.Errorf("two members with client id %s", m.ClientID)
		}
		var ps []int32
		for _, at := range c.Topics {
			if at.Topic == topic {
				ps = append(ps, at.Partitions...)
			}
		}
		slices.Sort(ps)
		assigned[m.ClientID], ids[m.ClientID] = ps, m.MemberID
	}
	return assigned, ids, nil
}

// groupAwaitAssigned waits until the group is Stable with exactly the
// members whose client ids are names, and the broker assigns each partition
// of topic to exactly one of them, evenly; client, if not nil, checks each
// member's own view. It returns the assignment by client id.
func groupAwaitAssigned(t *testing.T, adm *kadm.Client, group, topic string, partitions int32, names []string,
	client func(name, memberID string, assigned []int32) error,
) map[string][]int32 {
	t.Helper()
	var assigned map[string][]int32
	eventually(t, func() error {
		d, err := groupDescribe(t, adm, group)
		if err != nil {
			return err
		}
		if d.State != "Stable" {
			return fmt.Errorf("group %s is %s", group, d.State)
		}
		var ids map[string]string
		if assigned, ids, err = groupAssignment(d, topic); err != nil {
			return err
		}
		if got := slices.Sorted(maps.Keys(assigned)); !slices.Equal(got, slices.Sorted(slices.Values(names))) {
			return fmt.Errorf("members %v, want %v", got, names)
		}
		owners := make(map[int32]int)
		fewest, most := int(partitions), 0
		for name, ps := range assigned {
			if client != nil {
				if err := client(name, ids[name], ps); err != nil {
					return err
				}
			}
			fewest, most = min(fewest, len(ps)), max(most, len(ps))
			for _, p := range ps {
				owners[p]++
			}
		}
		for p := range partitions {
			if owners[p] != 1 {
				return fmt.Errorf("partition %d has %d owners: %v", p, owners[p], assigned)
			}
		}
		if most-fewest > 1 {
			return fmt.Errorf("uneven assignment %v", assigned)
		}
		return nil
	})
	return assigned
}

// groupAwaitOwnership is groupAwaitAssigned for live members whose clients
// report what they own: each must own exactly what the broker assigned it,
// under the member id the broker knows.
func groupAwaitOwnership(t *testing.T, adm *kadm.Client, group, topic string, partitions int32, live ...groupMember) map[string][]int32 {
	t.Helper()
	byName := make(map[string]groupMember, len(live))
	for _, m := range live {
		byName[m.name()] = m
	}
	return groupAwaitAssigned(t, adm, group, topic, partitions, slices.Collect(maps.Keys(byName)),
		func(name, memberID string, assigned []int32) error {
			m := byName[name]
			if id := m.memberID(); id != memberID {
				return fmt.Errorf("%s is member %q, the broker knows it as %q", name, id, memberID)
			}
			if got := m.owned(); !slices.Equal(got, assigned) {
				return fmt.Errorf("%s owns %v, the broker assigned it %v", name, got, assigned)
			}
			return nil
		})
}

// groupCommitted returns the group's committed offsets of topic.
func groupCommitted(t *testing.T, adm *kadm.Client, group, topic string) map[int32]int64 {
	t.Helper()
	resp, err := adm.FetchOffsets(testCtx(t), group)
	require.NoError(t, err)
	require.NoError(t, resp.Error())
	out := map[int32]int64{}
	for p, o := range resp[topic] {
		out[p] = o.At
	}
	return out
}

// groupEndOffsets returns topic's high watermarks.
func groupEndOffsets(t *testing.T, adm *kadm.Client, topic string) map[int32]int64 {
	t.Helper()
	ends, err := adm.ListEndOffsets(testCtx(t), topic)
	require.NoError(t, err)
	require.NoError(t, ends.Error())
	out := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) { out[o.Partition] = o.Offset })
	return out
}

// groupAwaitCommittedToEnd waits until the group has committed every
// partition of topic up to its end.
func groupAwaitCommittedToEnd(t *testing.T, adm *kadm.Client, group, topic string) {
	t.Helper()
	ends := groupEndOffsets(t, adm, topic)
	eventually(t, func() error {
		if got := groupCommitted(t, adm, group, topic); !maps.Equal(got, ends) {
			return fmt.Errorf("committed %v, end offsets %v", got, ends)
		}
		return nil
	})
}

// groupNoErrors fails if any member reported an error.
func groupNoErrors(t *testing.T, ms ...groupMember) {
	t.Helper()
	for _, m := range ms {
		require.Empty(t, m.errs(), "errors reported by %s", m.name())
	}
}

// ---- tests ----

// TestGroupRebalance runs a group through members joining, leaving and
// dying, with each client and strategy, while records flow: 3 members
// over 6 partitions each own two; the partitions of a member that leaves
// or dies move to the others; with synchronous commits the group reads
// every record exactly once across the joins and leaves.
func TestGroupRebalance(t *testing.T) {
	t.Parallel()
	type starter func(t *testing.T, spec groupSpec) groupMember
	sar := func(version sarama.KafkaVersion, strategy func() sarama.BalanceStrategy) starter {
		return func(t *testing.T, spec groupSpec) groupMember {
			return startGroupSarama(t, spec, version, strategy())
		}
	}
	for _, tc := range []struct {
		name  string
		start starter
	}{
		// sarama's default protocol versions (Kafka 2.1: JoinGroup v3,
		// no MEMBER_ID_REQUIRED) with range, Kafka 3.6's with the others.
		{"sarama-range", sar(sarama.V2_1_0_0, sarama.NewBalanceStrategyRange)},
		{"sarama-roundrobin", sar(sarama.V3_6_0_0, sarama.NewBalanceStrategyRoundRobin)},
		{"sarama-sticky", sar(sarama.V3_6_0_0, sarama.NewBalanceStrategySticky)},
		{"franz-go-cooperative-sticky", func(t *testing.T, spec groupSpec) groupMember { return startGroupKgo(t, spec) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			const (
				topic      = "orders"
				group      = "billing"
				partitions = 6
				n          = 500 // records read while members come and go
			)
			addr := groupStartBroker(t).Addr()
			createTopic(t, addr, topic, partitions, nil)
			adm := kadm.NewClient(newKgo(t, addr))
			ledger, owners := newGroupLedger(), newGroupOwners()
			spec := func(name string, session time.Duration) groupSpec {
				return groupSpec{addr: addr, group: group, topic: topic, name: name, session: session, ledger: ledger, owners: owners}
			}
			// Each step lets the producer write another fifth of the
			// records, paced by what the group has read, so that
			// records flow while the group rebalances.
			prod := startGroupProducer(t, addr, topic, ledger, 30)
			step := func() { prod.more(n / 5) }
			caughtUp := func() { prod.wait(); ledger.awaitAll(t) }

			step()
			m1 := tc.start(t, spec("m1", groupLongSession))
			caughtUp()

			step()
			m2 := tc.start(t, spec("m2", groupLongSession))
			m3 := tc.start(t, spec("m3", groupShortSession)) // dies later
			three := groupAwaitOwnership(t, adm, group, topic, partitions, m1, m2, m3)
			for name, ps := range three {
				require.Len(t, ps, 2, "%s's share of 6 partitions among 3: %v", name, three)
			}
			caughtUp()

			step()
			m1.leave()
			moved := groupAwaitOwnership(t, adm, group, topic, partitions, m2, m3)
			require.Len(t, moved["m2"], 3, "m1's partitions moved: %v", moved)
			caughtUp()

			step()
			m4 := tc.start(t, spec("m4", groupLongSession))
			groupAwaitOwnership(t, adm, group, topic, partitions, m2, m3, m4)
			caughtUp()
			ledger.requireExactlyOnce(t)
			groupAwaitCommittedToEnd(t, adm, group, topic)
			groupNoErrors(t, m1, m2, m3, m4)

			// m3 dies: no LeaveGroup, no heartbeat. Once its session
			// times out its partitions move, and nothing produced
			// meanwhile is lost.
			step()
			m3.kill()
			after := groupAwaitOwnership(t, adm, group, topic, partitions, m2, m4)
			require.Len(t, after["m4"], 3, "m3's partitions moved: %v", after)
			caughtUp()
			ledger.requireAtLeastOnce(t)
			groupAwaitCommittedToEnd(t, adm, group, topic)
			owners.requireNoViolation(t)
			groupNoErrors(t, m2, m4)
		})
	}
}

// ---- kcat (librdkafka) ----

// groupKcat is one `kcat -G` process: librdkafka's balanced consumer. It
// prints partition, offset and key of each record, which go to the ledger.
type groupKcat struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
}

func startGroupKcat(t *testing.T, addr, group, topic, name string, ledger *groupLedger, extra ...string) *groupKcat {
	t.Helper()
	path, err := exec.LookPath("kcat")
	if err != nil {
		t.Skip("kcat is not on PATH")
	}
	args := []string{
		"-b", addr, "-G", group, "-q", "-u", "-f", `%p %o %k\n`,
		"-X", "client.id=" + name,
		"-X", "auto.offset.reset=earliest",
		"-X", "session.timeout.ms=" + strconv.Itoa(int(groupShortSession.Milliseconds())),
		"-X", "heartbeat.interval.ms=" + strconv.Itoa(int(groupHeartbeat.Milliseconds())),
		"-X", "auto.commit.interval.ms=100",
		"-X", "fetch.wait.max.ms=50",
		"-X", "topic.metadata.refresh.interval.ms=1000",
	}
	for _, e := range extra {
		args = append(args, "-X", e)
	}
	cmd := exec.Command(path, append(args, topic)...)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	k := &groupKcat{name: name, cmd: cmd, done: make(chan struct{})}
	go func() {
		defer close(k.done)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var p int32
			var off int64
			var key string
			if _, err := fmt.Sscanf(sc.Text(), "%d %d %s", &p, &off, &key); err == nil {
				ledger.process(name, p, off, key)
			}
		}
	}()
	t.Cleanup(func() {
		k.stop(syscall.SIGKILL)
		if t.Failed() {
			t.Logf("%s stderr:\n%s", name, stderr.String())
		}
	})
	return k
}

// stop sends sig (SIGTERM: kcat closes its consumer, which leaves the group
// and commits; SIGKILL: it dies) and waits for the process to end.
func (k *groupKcat) stop(sig syscall.Signal) {
	_ = k.cmd.Process.Signal(sig)
	<-k.done
	_ = k.cmd.Wait()
}

// TestGroupKcat runs three `kcat -G` consumers, librdkafka's balanced
// consumer, over 6 partitions: each gets two; one killed with SIGKILL dies
// (no LeaveGroup) and one stopped with SIGTERM leaves, and each time their
// partitions move; the group reads every record and commits to the end.
func TestGroupKcat(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("kcat"); err != nil {
		t.Skip("kcat is not on PATH")
	}
	for _, tc := range []struct {
		name  string
		extra []string
	}{
		{"range-roundrobin", nil}, // librdkafka's default
		{"cooperative-sticky", []string{"partition.assignment.strategy=cooperative-sticky"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			const (
				topic      = "clicks"
				group      = "kcat-readers"
				partitions = 6
				n          = 300
			)
			addr := groupStartBroker(t).Addr()
			createTopic(t, addr, topic, partitions, nil)
			adm := kadm.NewClient(newKgo(t, addr))
			ledger := newGroupLedger()
			prod := startGroupProducer(t, addr, topic, ledger, 60)
			step := func() { prod.more(n / 3); prod.wait(); ledger.awaitAll(t) }
			await := func(names ...string) map[string][]int32 {
				return groupAwaitAssigned(t, adm, group, topic, partitions, names, nil)
			}

			k1 := startGroupKcat(t, addr, group, topic, "kcat-1", ledger, tc.extra...)
			k2 := startGroupKcat(t, addr, group, topic, "kcat-2", ledger, tc.extra...)
			k3 := startGroupKcat(t, addr, group, topic, "kcat-3", ledger, tc.extra...)
			for name, ps := range await(k1.name, k2.name, k3.name) {
				require.Len(t, ps, 2, "%s's share", name)
			}
			step()

			k3.stop(syscall.SIGKILL)
			for name, ps := range await(k1.name, k2.name) {
				require.Len(t, ps, 3, "%s's share after kcat-3 died", name)
			}
			step()

			k2.stop(syscall.SIGTERM)
			require.Len(t, await(k1.name)[k1.name], 6, "kcat-2 left")
			step()

			ledger.requireAtLeastOnce(t)
			groupAwaitCommittedToEnd(t, adm, group, topic)
		})
	}
}

// ---- raw protocol: zombies ----

// groupRaw is a group member that speaks the protocol by hand over one
// connection, for what no client does on cue: a zombie that commits with
// an old generation, or after it was removed.
type groupRaw struct {
	t            *testing.T
	c            *wireConn
	group, topic string
	id           string
	generation   int32
}

func newGroupRaw(t *testing.T, addr, group, topic string) *groupRaw {
	t.Helper()
	r := &groupRaw{t: t, c: dialWire(t, addr), group: group, topic: topic, generation: -1}
	// As a client would: find the coordinator first, which creates
	// __consumer_offsets and makes this broker its leader.
	fc := kmsg.NewPtrFindCoordinatorRequest()
	fc.CoordinatorKey = group
	requireCode(t, nil, r.c.do(fc).(*kmsg.FindCoordinatorResponse).ErrorCode, "FindCoordinator")
	return r
}

// join sends JoinGroup v9 for the range protocol, answering
// MEMBER_ID_REQUIRED, and returns the answer once the join phase ends.
func (r *groupRaw) join(rebalance time.Duration) *kmsg.JoinGroupResponse {
	r.t.Helper()
	req := kmsg.NewPtrJoinGroupRequest()
	req.SetVersion(9)
	req.Group, req.MemberID, req.ProtocolType = r.group, r.id, "consumer"
	req.SessionTimeoutMillis = int32(groupLongSession.Milliseconds())
	req.RebalanceTimeoutMillis = int32(rebalance.Milliseconds())
	meta := kmsg.NewConsumerMemberMetadata()
	meta.Topics = []string{r.topic}
	proto := kmsg.NewJoinGroupRequestProtocol()
	proto.Name, proto.Metadata = "range", meta.AppendTo(nil)
	req.Protocols = append(req.Protocols, proto)
	resp := r.c.do(req).(*kmsg.JoinGroupResponse)
	if resp.ErrorCode == kerr.MemberIDRequired.Code && r.id == "" {
		r.id = resp.MemberID
		return r.join(rebalance)
	}
	requireCode(r.t, nil, resp.ErrorCode, "JoinGroup")
	r.id, r.generation = resp.MemberID, resp.Generation
	return resp
}

// sync sends SyncGroup v5 with the leader's assignment (nil: a follower's).
func (r *groupRaw) sync(assign map[string][]int32) *kmsg.SyncGroupResponse {
	r.t.Helper()
	req := kmsg.NewPtrSyncGroupRequest()
	req.SetVersion(5)
	req.Group, req.MemberID, req.Generation = r.group, r.id, r.generation
	req.ProtocolType, req.Protocol = kmsg.StringPtr("consumer"), kmsg.StringPtr("range")
	for id, ps := range assign {
		a := kmsg.NewConsumerMemberAssignment()
		at := kmsg.NewConsumerMemberAssignmentTopic()
		at.Topic, at.Partitions = r.topic, ps
		a.Topics = append(a.Topics, at)
		ga := kmsg.NewSyncGroupRequestGroupAssignment()
		ga.MemberID, ga.MemberAssignment = id, a.AppendTo(nil)
		req.GroupAssignment = append(req.GroupAssignment, ga)
	}
	return r.c.do(req).(*kmsg.SyncGroupResponse)
}

// heartbeat sends Heartbeat v4 as generation gen.
func (r *groupRaw) heartbeat(gen int32) int16 {
	r.t.Helper()
	req := kmsg.NewPtrHeartbeatRequest()
	req.SetVersion(4)
	req.Group, req.MemberID, req.Generation = r.group, r.id, gen
	return r.c.do(req).(*kmsg.HeartbeatResponse).ErrorCode
}

// commit commits offset for partition as generation gen (OffsetCommit v8).
func (r *groupRaw) commit(gen int32, partition int32, offset int64) int16 {
	r.t.Helper()
	req := kmsg.NewPtrOffsetCommitRequest()
	req.SetVersion(8)
	req.Group, req.MemberID, req.Generation = r.group, r.id, gen
	rt := kmsg.NewOffsetCommitRequestTopic()
	rt.Topic = r.topic
	rp := kmsg.NewOffsetCommitRequestTopicPartition()
	rp.Partition, rp.Offset, rp.LeaderEpoch = partition, offset, -1
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp := r.c.do(req).(*kmsg.OffsetCommitResponse)
	require.Len(r.t, resp.Topics, 1)
	require.Len(r.t, resp.Topics[0].Partitions, 1)
	return resp.Topics[0].Partitions[0].ErrorCode
}

// TestGroupZombieCommitFenced pins the fencing that keeps a zombie from
// overwriting the group's progress: a member whose processing still uses
// the generation before a rebalance gets ILLEGAL_GENERATION, and a member
// removed because it did not rejoin in time gets UNKNOWN_MEMBER_ID; neither
// commit changes the committed offset.
func TestGroupZombieCommitFenced(t *testing.T) {
	t.Parallel()
	const (
		topic      = "payments"
		group      = "ledger"
		partitions = 2
		rebalance  = 3 * time.Second // how long the group waits for a member to rejoin
	)
	addr := groupStartBroker(t).Addr()
	createTopic(t, addr, topic, partitions, nil)
	adm := kadm.NewClient(newKgo(t, addr))
	ledger, owners := newGroupLedger(), newGroupOwners()
	startMember := func(name string) *groupKgo {
		spec := groupSpec{addr: addr, group: group, topic: topic, name: name, session: groupLongSession, ledger: ledger, owners: owners}
		return startGroupKgo(t, spec, kgo.Balancers(kgo.RangeBalancer()), kgo.RebalanceTimeout(rebalance))
	}

	// a (by hand) forms generation 1 alone and commits.
	a := newGroupRaw(t, addr, group, topic)
	jr := a.join(rebalance)
	require.Equal(t, int32(1), jr.Generation)
	require.Equal(t, a.id, jr.LeaderID, "the first member leads")
	requireCode(t, nil, a.sync(map[string][]int32{a.id: {0, 1}}).ErrorCode, "SyncGroup")
	requireCode(t, nil, a.commit(1, 0, 10), "generation 1 commits")

	// b joins; a learns of the rebalance from its heartbeat, rejoins and
	// leads generation 2, giving b partition 1.
	b := startMember("b")
	eventually(t, func() error {
		if code := a.heartbeat(1); code != kerr.RebalanceInProgress.Code {
			return fmt.Errorf("heartbeat: %v, want REBALANCE_IN_PROGRESS", kerr.ErrorForCode(code))
		}
		return nil
	})
	jr = a.join(rebalance)
	require.Equal(t, int32(2), jr.Generation)
	require.Equal(t, a.id, jr.LeaderID, "the leader that rejoined still leads")
	require.Len(t, jr.Members, 2)
	bID := jr.Members[0].MemberID
	if bID == a.id {
		bID = jr.Members[1].MemberID
	}
	requireCode(t, nil, a.sync(map[string][]int32{a.id: {0}, bID: {1}}).ErrorCode, "SyncGroup")
	eventually(t, func() error {
		if got := b.owned(); !slices.Equal(got, []int32{1}) {
			return fmt.Errorf("b owns %v, want [1]", got)
		}
		return nil
	})

	// a's processing still commits as generation 1: fenced.
	requireCode(t, kerr.IllegalGeneration, a.commit(1, 0, 99), "commit with the generation before the rebalance")
	requireCode(t, nil, a.commit(2, 0, 20), "commit with the current generation")
	require.Equal(t, int64(20), groupCommitted(t, adm, group, topic)[0])

	// c joins; a stalls and does not rejoin within the rebalance timeout,
	// so the group moves on without it: a's member id is unknown now.
	c := startMember("c")
	groupAwaitOwnership(t, adm, group, topic, partitions, b, c)
	requireCode(t, kerr.UnknownMemberID, a.commit(2, 0, 99), "commit of a removed member")
	requireCode(t, kerr.UnknownMemberID, a.heartbeat(2), "heartbeat of a removed member")
	require.Equal(t, int64(20), groupCommitted(t, adm, group, topic)[0], "no zombie commit took effect")
	groupNoErrors(t, b, c)
	owners.requireNoViolation(t)
}

// ---- static membership ----

// TestGroupStaticMemberRestart restarts each static member
// (group.instance.id) of a stable group in turn, the leader among them:
// the new process gets the same generation and assignment back, and the
// other members see no rebalance.
func TestGroupStaticMemberRestart(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		start func(t *testing.T, spec groupSpec) groupMember
	}{
		{"sarama-range", func(t *testing.T, spec groupSpec) groupMember {
			return startGroupSarama(t, spec, sarama.V3_6_0_0, sarama.NewBalanceStrategyRange())
		}},
		// Not cooperative-sticky: a restarted static leader gets
		// SkipAssignment (KIP-814), and franz-go then balances anyway and
		// rejoins if its plan differs from the stored one, which with a
		// sticky balancer depends on the partitions each member owned at
		// its last join. Range sorts by instance id, so the plan repeats.
		{"franz-go-range", func(t *testing.T, spec groupSpec) groupMember {
			return startGroupKgo(t, spec, kgo.Balancers(kgo.RangeBalancer()))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			const (
				topic      = "inventory"
				group      = "stock"
				partitions = 6
			)
			addr := groupStartBroker(t).Addr()
			createTopic(t, addr, topic, partitions, nil)
			adm := kadm.NewClient(newKgo(t, addr))
			ledger, owners := newGroupLedger(), newGroupOwners()
			start := func(name string) groupMember {
				return tc.start(t, groupSpec{
					addr: addr, group: group, topic: topic, name: name, instanceID: "instance-" + name,
					session: groupLongSession, ledger: ledger, owners: owners,
				})
			}
			names := []string{"s1", "s2", "s3"}
			members := map[string]groupMember{}
			for _, name := range names {
				members[name] = start(name)
			}
			all := func() []groupMember { return slices.Collect(maps.Values(members)) }
			before := groupAwaitOwnership(t, adm, group, topic, partitions, all()...)
			gen := members["s1"].generation()
			assigned := map[string]int{}
			for _, name := range names {
				require.Equal(t, gen, members[name].generation(), "%s's generation", name)
				assigned[name] = members[name].assignments()
			}

			for _, restarted := range names { // one of them is the leader
				members[restarted].leave() // a static member closes without leaving
				m := start(restarted)
				members[restarted] = m
				eventually(t, func() error {
					if m.assignments() == 0 {
						return fmt.Errorf("restarted %s has no assignment yet", restarted)
					}
					return nil
				})
				require.Equal(t, gen, m.generation(), "restarted %s rejoined without a rebalance", restarted)
				require.Equal(t, before, groupAwaitOwnership(t, adm, group, topic, partitions, all()...),
					"assignment after restarting %s", restarted)
				assigned[restarted] = m.assignments()
				for _, name := range names {
					require.Equal(t, gen, members[name].generation(), "%s's generation after restarting %s", name, restarted)
					require.Equal(t, assigned[name], members[name].assignments(), "%s was reassigned after restarting %s", name, restarted)
				}
			}
			owners.requireNoViolation(t)
			groupNoErrors(t, all()...)
		})
	}
}

// ---- auto.offset.reset ----

// TestGroupAutoOffsetReset checks that auto.offset.reset (earliest or
// latest) applies only to partitions where the group has no committed
// offset: partition 0 has one and is read from it in both modes; partition
// 1 has none and is read from its start, or only what arrives after the
// member joined.
func TestGroupAutoOffsetReset(t *testing.T) {
	t.Parallel()
	type starter func(t *testing.T, spec groupSpec) groupMember
	for _, client := range []struct {
		name  string
		start starter
	}{
		{"sarama", func(t *testing.T, spec groupSpec) groupMember {
			return startGroupSarama(t, spec, sarama.V3_6_0_0, sarama.NewBalanceStrategyRange())
		}},
		{"franz-go", func(t *testing.T, spec groupSpec) groupMember { return startGroupKgo(t, spec) }},
	} {
		for _, latest := range []bool{false, true} {
			reset := map[bool]string{false: "earliest", true: "latest"}[latest]
			t.Run(client.name+"-"+reset, func(t *testing.T) {
				t.Parallel()
				const (
					topic     = "events"
					group     = "audit"
					committed = 4
					existing  = 10 // records in each partition before the member joins
				)
				addr := groupStartBroker(t).Addr()
				createTopic(t, addr, topic, 2, nil)
				cl := newKgo(t, addr, kgo.RecordPartitioner(kgo.ManualPartitioner()))
				produce := func(p int32, n int) {
					recs := make([]*kgo.Record, n)
					for i := range recs {
						recs[i] = &kgo.Record{Topic: topic, Partition: p, Key: []byte("k"), Value: []byte("v")}
					}
					produceSync(t, cl, recs...)
				}
				produce(0, existing)
				produce(1, existing)
				adm := kadm.NewClient(cl)
				var offs kadm.Offsets
				offs.AddOffset(topic, 0, committed, -1)
				resp, err := adm.CommitOffsets(testCtx(t), group, offs)
				require.NoError(t, err)
				require.NoError(t, resp.Error())

				ledger := newGroupLedger()
				m := client.start(t, groupSpec{
					addr: addr, group: group, topic: topic, name: "m", session: groupLongSession,
					latest: latest, ledger: ledger, owners: newGroupOwners(),
				})
				// Keep producing until the member reads records it
				// could only have seen after its join, in both
				// partitions.
				eventually(t, func() error {
					ledger.mu.Lock()
					maxOf := func(p int32) int64 { return slices.Max(append(slices.Collect(maps.Keys(ledger.processed[p])), -1)) }
					m0, m1 := maxOf(0), maxOf(1)
					ledger.mu.Unlock()
					if m0 >= existing && m1 >= existing {
						return nil
					}
					produce(0, 1)
					produce(1, 1)
					return fmt.Errorf("read up to offsets %d and %d", m0, m1)
				})
				m.leave()

				ledger.mu.Lock()
				defer ledger.mu.Unlock()
				read := func(p int32) []int64 { return slices.Sorted(maps.Keys(ledger.processed[p])) }
				r0, r1 := read(0), read(1)
				require.Equal(t, int64(committed), r0[0], "partition 0 resumes at its committed offset: %v", r0)
				groupRequireContiguous(t, r0)
				if latest {
					require.GreaterOrEqual(t, r1[0], int64(existing), "partition 1 starts at its end: %v", r1)
				} else {
					require.Equal(t, int64(0), r1[0], "partition 1 starts at its beginning: %v", r1)
				}
				groupRequireContiguous(t, r1)
				for p, offs := range ledger.processed {
					for off, by := range offs {
						require.Len(t, by, 1, "p%d@%d read more than once", p, off)
					}
				}
				groupNoErrors(t, m)
			})
		}
	}
}

// groupRequireContiguous checks that sorted offsets have no gap.
func groupRequireContiguous(t *testing.T, offs []int64) {
	t.Helper()
	for i := 1; i < len(offs); i++ {
		require.Equal(t, offs[i-1]+1, offs[i], "gap in %v", offs)
	}
}

// ---- persistence ----

// groupCommit commits offsets for group as a simple (non-member) commit,
// as tools do.
func groupCommit(t *testing.T, adm *kadm.Client, group string, offs ...kadm.Offset) {
	t.Helper()
	var os kadm.Offsets
	for _, o := range offs {
		if o.LeaderEpoch == 0 {
			o.LeaderEpoch = -1
		}
		os.Add(o)
	}
	resp, err := adm.CommitOffsets(testCtx(t), group, os)
	require.NoError(t, err)
	require.NoError(t, resp.Error(), "commit for %s", group)
}

// groupRestartSamePort closes b and starts a broker on the same directories
// and the same address, so that running clients reconnect to it.
func groupRestartSamePort(t *testing.T, b *broker.Broker) *broker.Broker {
	t.Helper()
	cfg := b.Config()
	cfg.Listeners = []string{"PLAINTEXT://" + b.Addr()}
	closeBroker(t, b)
	return startWith(t, cfg)
}

// TestGroupOffsetsSurviveRestart restarts the broker under a running group
// and checks what __consumer_offsets brought back: every committed offset
// with its metadata, members and generations (a member formed before the
// restart heartbeats and commits in its generation after it), and the
// running consumer resumes where it committed, reading nothing twice.
func TestGroupOffsetsSurviveRestart(t *testing.T) {
	t.Parallel()
	const (
		topic      = "shipments"
		group      = "dispatch"
		partitions = 3
		n          = 90
	)
	b := groupStartBroker(t)
	addr := b.Addr()
	createTopic(t, addr, topic, partitions, nil)
	adm := kadm.NewClient(newKgo(t, addr))
	ledger, owners := newGroupLedger(), newGroupOwners()
	prod := startGroupProducer(t, addr, topic, ledger, 30)
	m := startGroupKgo(t, groupSpec{addr: addr, group: group, topic: topic, name: "m", session: groupLongSession, ledger: ledger, owners: owners})
	prod.more(n)
	prod.wait()
	ledger.awaitAll(t)
	groupAwaitCommittedToEnd(t, adm, group, topic)
	gen := m.generation()

	// A tool's simple commit, with metadata, and a member of another
	// group, by hand, that stops talking (but stays in its session).
	groupCommit(t, adm, "tools", kadm.Offset{Topic: topic, Partition: 1, At: 7, Metadata: "checkpoint"})
	raw := newGroupRaw(t, addr, "archive", topic)
	raw.join(groupRebalance)
	requireCode(t, nil, raw.sync(map[string][]int32{raw.id: {0, 1, 2}}).ErrorCode, "SyncGroup")
	requireCode(t, nil, raw.commit(raw.generation, 2, 3), "archive commit")
	raw.c.nc.Close()
	committed := groupCommitted(t, adm, group, topic)

	b = groupRestartSamePort(t, b)

	tools, err := adm.FetchOffsets(testCtx(t), "tools")
	require.NoError(t, err)
	o, ok := tools.Lookup(topic, 1)
	require.True(t, ok, "tools' offset after the restart: %v", tools)
	require.NoError(t, o.Err)
	require.Equal(t, int64(7), o.At)
	require.Equal(t, "checkpoint", o.Metadata)
	require.Equal(t, committed, groupCommitted(t, adm, group, topic), "dispatch's offsets after the restart")

	// The archive member is still known in its generation.
	raw.c = dialWire(t, addr)
	requireCode(t, nil, raw.heartbeat(raw.generation), "heartbeat of a member formed before the restart")
	requireCode(t, kerr.IllegalGeneration, raw.heartbeat(raw.generation-1), "heartbeat with an older generation")
	requireCode(t, nil, raw.commit(raw.generation, 2, 4), "commit in the generation formed before the restart")
	require.Equal(t, map[int32]int64{2: 4}, groupCommitted(t, adm, "archive", topic))

	// The running consumer carries on from its commits.
	prod.more(n)
	prod.wait()
	ledger.awaitAll(t)
	ledger.requireExactlyOnce(t)
	groupAwaitCommittedToEnd(t, adm, group, topic)
	require.GreaterOrEqual(t, m.generation(), gen, "generations do not restart")
	owners.requireNoViolation(t)
}

// ---- admin APIs ----

// TestGroupAdmin drives DescribeGroups, ListGroups (with a state filter),
// OffsetFetch for several groups, OffsetDelete and DeleteGroups through
// kadm, on a group with live members and on empty ones, and checks that
// deletions survive a restart.
func TestGroupAdmin(t *testing.T) {
	t.Parallel()
	const (
		topic = "metrics" // the members' subscription
		other = "logs"    // committed to, not subscribed
		group = "dashboards"
		idle  = "idle" // offsets only, no members
	)
	b := groupStartBroker(t)
	addr := b.Addr()
	createTopic(t, addr, topic, 2, nil)
	createTopic(t, addr, other, 1, nil)
	adm := kadm.NewClient(newKgo(t, addr))
	ctx := testCtx(t)

	groupCommit(t, adm, group,
		kadm.Offset{Topic: topic, Partition: 0, At: 0},
		kadm.Offset{Topic: other, Partition: 0, At: 5})
	groupCommit(t, adm, idle, kadm.Offset{Topic: other, Partition: 0, At: 3, Metadata: "m"})

	ledger, owners := newGroupLedger(), newGroupOwners()
	start := func(name string) *groupKgo {
		return startGroupKgo(t, groupSpec{addr: addr, group: group, topic: topic, name: name, session: groupLongSession, ledger: ledger, owners: owners},
			kgo.Balancers(kgo.RangeBalancer()))
	}
	m1, m2 := start("m1"), start("m2")
	assigned := groupAwaitOwnership(t, adm, group, topic, 2, m1, m2)

	d, err := groupDescribe(t, adm, group)
	require.NoError(t, err)
	require.Equal(t, "Stable", d.State)
	require.Equal(t, "consumer", d.ProtocolType)
	require.Equal(t, "range", d.Protocol)
	require.Len(t, d.Members, 2)
	for _, dm := range d.Members {
		require.Contains(t, assigned, dm.ClientID)
		require.Equal(t, "/127.0.0.1", dm.ClientHost)
		join, ok := dm.Join.AsConsumer()
		require.True(t, ok, "member metadata of %s", dm.ClientID)
		require.Equal(t, []string{topic}, join.Topics)
	}

	listed := func(states ...string) []string {
		t.Helper()
		ls, err := adm.ListGroups(ctx, states...)
		require.NoError(t, err)
		return slices.Sorted(maps.Keys(ls))
	}
	ls, err := adm.ListGroups(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{group, idle}, slices.Sorted(maps.Keys(ls)))
	require.Equal(t, "Stable", ls[group].State)
	require.Equal(t, "consumer", ls[group].ProtocolType)
	require.Equal(t, "Empty", ls[idle].State)
	require.Equal(t, []string{group}, listed("Stable"))
	require.Equal(t, []string{idle}, listed("Empty"))
	require.Empty(t, listed("PreparingRebalance"))

	many := adm.FetchManyOffsets(ctx, group, idle)
	require.NoError(t, many.Error())
	o, ok := many[group].Fetched.Lookup(other, 0)
	require.True(t, ok)
	require.Equal(t, int64(5), o.At)
	o, ok = many[idle].Fetched.Lookup(other, 0)
	require.True(t, ok)
	require.Equal(t, int64(3), o.At)
	require.Equal(t, "m", o.Metadata)

	// OffsetDelete: refused for a topic the members consume.
	del, err := adm.DeleteOffsets(ctx, group, kadm.TopicsSet{topic: {0: {}}, other: {0: {}}})
	require.NoError(t, err)
	require.ErrorIs(t, del[topic][0], kerr.GroupSubscribedToTopic)
	require.NoError(t, del[other][0])
	require.Equal(t, map[int32]int64{}, groupCommitted(t, adm, group, other))

	// DeleteGroups: refused while members are in the group.
	dg, err := adm.DeleteGroups(ctx, group)
	require.NoError(t, err)
	require.ErrorIs(t, dg[group].Err, kerr.NonEmptyGroup)

	m1.leave()
	m2.leave()
	eventually(t, func() error {
		if d, err := groupDescribe(t, adm, group); err != nil || d.State != "Empty" {
			return fmt.Errorf("group %s: state %s, err %v", group, d.State, err)
		}
		return nil
	})
	dg, err = adm.DeleteGroups(ctx, group)
	require.NoError(t, err)
	require.NoError(t, dg[group].Err)
	d, err = groupDescribe(t, adm, group)
	require.Equal(t, "Dead", d.State)
	if err != nil {
		require.ErrorIs(t, err, kerr.GroupIDNotFound)
	}
	require.Equal(t, []string{idle}, listed())
	dg, err = adm.DeleteGroups(ctx, group)
	require.NoError(t, err)
	require.ErrorIs(t, dg[group].Err, kerr.GroupIDNotFound)

	// The deletions were written to __consumer_offsets.
	b = restart(t, b)
	adm = kadm.NewClient(newKgo(t, b.Addr()))
	require.Equal(t, []string{idle}, listed())
	require.Empty(t, groupCommitted(t, adm, group, topic))
	require.Equal(t, map[int32]int64{0: 3}, groupCommitted(t, adm, idle, other))

	// OffsetDelete of an empty group's last offset removes the group.
	del, err = adm.DeleteOffsets(ctx, idle, kadm.TopicsSet{other: {0: {}}})
	require.NoError(t, err)
	require.NoError(t, del[other][0])
	require.Empty(t, listed())
	owners.requireNoViolation(t)
}

// TestGroupOffsetsOfUnknownPartitions: as in Kafka, a commit or an offset
// deletion for a partition the cluster does not have fails for that
// partition with UNKNOWN_TOPIC_OR_PARTITION, and the rest of the request
// takes effect.
func TestGroupOffsetsOfUnknownPartitions(t *testing.T) {
	t.Parallel()
	const topic, group = "known", "g"
	addr := groupStartBroker(t).Addr()
	createTopic(t, addr, topic, 2, nil)
	adm := kadm.NewClient(newKgo(t, addr))
	ctx := testCtx(t)

	var offs kadm.Offsets
	offs.AddOffset(topic, 0, 1, -1)
	offs.AddOffset(topic, 9, 2, -1) // no such partition
	offs.AddOffset("missing", 0, 3, -1)
	resp, err := adm.CommitOffsets(ctx, group, offs)
	require.NoError(t, err)
	o, _ := resp.Lookup(topic, 0)
	require.NoError(t, o.Err)
	o, _ = resp.Lookup(topic, 9)
	require.ErrorIs(t, o.Err, kerr.UnknownTopicOrPartition)
	o, _ = resp.Lookup("missing", 0)
	require.ErrorIs(t, o.Err, kerr.UnknownTopicOrPartition)
	fetched, err := adm.FetchOffsets(ctx, group)
	require.NoError(t, err)
	require.Equal(t, kadm.TopicsSet{topic: {0: {}}}, fetched.Offsets().TopicsSet(), "only the known partition is committed")

	del, err := adm.DeleteOffsets(ctx, group, kadm.TopicsSet{topic: {0: {}, 9: {}}, "missing": {0: {}}})
	require.NoError(t, err)
	require.NoError(t, del[topic][0])
	require.ErrorIs(t, del[topic][9], kerr.UnknownTopicOrPartition)
	require.ErrorIs(t, del["missing"][0], kerr.UnknownTopicOrPartition)
	require.Empty(t, groupCommitted(t, adm, group, topic))

	// Group-level errors still come from the coordinator.
	_, err = adm.DeleteOffsets(ctx, "no-such-group", kadm.TopicsSet{"missing": {0: {}}})
	require.ErrorIs(t, err, kerr.GroupIDNotFound)
}
