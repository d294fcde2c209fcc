package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// These tests run kspring-broker as separate processes, built once (without
// -race: the binary under test is not what -race is for here) into a
// directory removed when the tests end.

var built struct {
	once sync.Once
	dir  string
	path string
	err  error
}

// brokerBinary builds kspring-broker once per test run and returns its path.
func brokerBinary(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		built.dir, built.err = os.MkdirTemp("", "kspring-broker-bin")
		if built.err != nil {
			return
		}
		built.path = filepath.Join(built.dir, "kspring-broker")
		out, err := exec.Command("go", "build", "-o", built.path, ".").CombinedOutput()
		if err != nil {
			built.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.path
}

// removeBinary removes what brokerBinary built; TestMain calls it.
func removeBinary() {
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
}

// eventually polls f every 20ms until it returns nil, and fails the test
// with f's last error if that takes longer than d.
func eventually(t *testing.T, d time.Duration, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v: %v", what, d, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// failoverProperties are the settings that decide how fast a cluster
// notices a dead broker, short so that a test sees many failovers.
const failoverProperties = `broker.session.timeout.ms=1500
broker.heartbeat.interval.ms=100
controller.quorum.election.timeout.ms=500
controller.quorum.fetch.timeout.ms=500
replica.lag.time.max.ms=2000
replica.fetch.wait.max.ms=100
replica.fetch.backoff.ms=100
group.initial.rebalance.delay.ms=0
`

// node is one kspring-broker process of a cluster: its properties file and
// data dir outlive the process, so that a restart finds its logs.
type node struct {
	id     int32
	props  string // server.properties path
	client string // host:port of the PLAINTEXT listener
	ctrl   string // host:port of the CONTROLLER listener

	cmd    *exec.Cmd
	logs   *syncBuffer   // this incarnation's stderr
	exited chan struct{} // closed when cmd.Wait returns
	err    error         // cmd.Wait's result, once exited is closed
	old    []*syncBuffer // earlier incarnations' stderr
}

// start runs the process; it does not wait for it to serve.
func (n *node) start(t *testing.T, args ...string) {
	t.Helper()
	if n.logs != nil {
		n.old = append(n.old, n.logs)
	}
	n.logs = &syncBuffer{}
	n.cmd = exec.Command(brokerBinary(t), append([]string{n.props}, args...)...)
	n.cmd.Stdout, n.cmd.Stderr = n.logs, n.logs
	require.NoError(t, n.cmd.Start())
	n.exited = make(chan struct{})
	go func(cmd *exec.Cmd, exited chan struct{}) {
		n.err = cmd.Wait()
		close(exited)
	}(n.cmd, n.exited)
}

// running reports whether the process has not exited.
func (n *node) running() bool {
	select {
	case <-n.exited:
		return false
	default:
		return true
	}
}

// waitStarted waits until the process logs that it serves, or exits.
func (n *node) waitStarted(d time.Duration) error {
	deadline := time.After(d)
	for {
		if strings.Contains(n.logs.String(), "kspring broker started") {
			return nil
		}
		select {
		case <-n.exited:
			return fmt.Errorf("broker %d exited (%v):\n%s", n.id, n.err, n.logs.String())
		case <-deadline:
			return fmt.Errorf("broker %d did not start within %v:\n%s", n.id, d, tail(n.logs.String(), 30))
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// kill SIGKILLs the process and waits until it is gone.
func (n *node) kill(t *testing.T) {
	t.Helper()
	require.NoError(t, n.cmd.Process.Kill())
	select {
	case <-n.exited:
	case <-time.After(10 * time.Second):
		t.Fatalf("broker %d still running 10s after SIGKILL", n.id)
	}
}

// stop sends SIGTERM (a controlled shutdown) and waits; it SIGKILLs a
// process still running after 15s. A broker that had started must exit 0.
func (n *node) stop() error {
	if n.cmd == nil || !n.running() {
		return nil
	}
	_ = n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.exited:
		if n.err != nil && strings.Contains(n.logs.String(), "kspring broker started") {
			return fmt.Errorf("broker %d: SIGTERM: %v", n.id, n.err)
		}
		return nil
	case <-time.After(15 * time.Second):
		_ = n.cmd.Process.Kill()
		<-n.exited
		return fmt.Errorf("broker %d ignored SIGTERM for 15s", n.id)
	}
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// procCluster is three kspring-broker processes in combined mode.
type procCluster struct {
	dir   string
	nodes []*node
}

func (c *procCluster) bootstrap() []string {
	var out []string
	for _, n := range c.nodes {
		out = append(out, n.client)
	}
	return out
}

func (c *procCluster) node(id int32) *node { return c.nodes[id-1] }

// freePorts returns n distinct free TCP ports on 127.0.0.1. They are free
// when it returns; another process may take one before a broker binds it,
// which startProcessCluster detects and retries.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var lns []net.Listener
	var out []int
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		lns = append(lns, ln)
		out = append(out, ln.Addr().(*net.TCPAddr).Port)
	}
	for _, ln := range lns {
		ln.Close()
	}
	return out
}

// startProcessCluster starts three brokers, each a process with its own
// server.properties, and waits until all serve. extra is appended to every
// properties file. The processes get SIGTERM when the test ends.
func startProcessCluster(t *testing.T, extra string) *procCluster {
	t.Helper()
	c := &procCluster{dir: t.TempDir()}
	t.Cleanup(func() {
		for _, n := range c.nodes {
			if err := n.stop(); err != nil {
				t.Errorf("stop: %v", err)
			}
		}
		if t.Failed() {
			for _, n := range c.nodes {
				t.Logf("broker %d, last log lines:\n%s", n.id, tail(n.logs.String(), 40))
			}
			dir, err := c.keep(t)
			t.Logf("every broker's logs (all incarnations) and data dir are kept in %s (%v)", dir, err)
		}
	})
	for attempt := 1; ; attempt++ {
		err := c.tryStart(t, extra)
		if err == nil {
			return c
		}
		for _, n := range c.nodes {
			_ = n.stop()
		}
		if !strings.Contains(err.Error(), "address already in use") || attempt == 3 {
			t.Fatalf("start cluster (attempt %d): %v", attempt, err)
		}
		t.Logf("start cluster (attempt %d): a port was taken, retrying with others: %v", attempt, err)
	}
}

func (c *procCluster) tryStart(t *testing.T, extra string) error {
	ports := freePorts(t, 6)
	c.nodes = nil
	var voters []string
	for i := range 3 {
		n := &node{id: int32(i + 1),
			client: net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[2*i])),
			ctrl:   net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[2*i+1]))}
		c.nodes = append(c.nodes, n)
		voters = append(voters, fmt.Sprintf("%d@%s", n.id, n.ctrl))
	}
	for _, n := range c.nodes {
		data := filepath.Join(c.dir, fmt.Sprintf("data-%d", n.id))
		require.NoError(t, os.RemoveAll(data)) // a failed attempt's
		n.props = filepath.Join(c.dir, fmt.Sprintf("server-%d.properties", n.id))
		props := fmt.Sprintf(`node.id=%d
process.roles=broker,controller
listeners=PLAINTEXT://%s,CONTROLLER://%s
controller.listener.names=CONTROLLER
controller.quorum.voters=%s
log.dirs=%s
offsets.topic.replication.factor=3
offsets.topic.num.partitions=3
auto.create.topics.enable=false
`, n.id, n.client, n.ctrl, strings.Join(voters, ","), data) + failoverProperties + extra
		require.NoError(t, os.WriteFile(n.props, []byte(props), 0o644))
		n.start(t)
	}
	for _, n := range c.nodes {
		if err := n.waitStarted(30 * time.Second); err != nil {
			return err
		}
	}
	return nil
}

// ackLog is what the producer was told: the records acknowledged, in the
// order their acknowledgements arrived, and the broker that wrote each
// acknowledged batch.
type ackLog struct {
	mu       sync.Mutex
	acked    []*kgo.Record
	ackedAt  []time.Time // when each of acked was acknowledged
	failed   []error
	lastNode int32     // the broker that wrote the last acknowledged batch
	watchFor int32     // after a kill: the killed broker
	since    time.Time // after a kill: when
	resumed  time.Time // the first batch another broker wrote since
	resumeBy int32
}

// OnProduceBatchWritten implements kgo.HookProduceBatchWritten.
func (a *ackLog) OnProduceBatchWritten(meta kgo.BrokerMetadata, _ string, _ int32, _ kgo.ProduceBatchMetrics) {
	now := time.Now()
	a.mu.Lock()
	defer a.mu.Unlock()
	a.lastNode = meta.NodeID
	if !a.since.IsZero() && a.resumed.IsZero() && meta.NodeID != a.watchFor && now.After(a.since) {
		a.resumed, a.resumeBy = now, meta.NodeID
	}
}

// killed starts watching for the first batch written by a broker other
// than id after now.
func (a *ackLog) killed(id int32, at time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.watchFor, a.since, a.resumed = id, at, time.Time{}
}

func (a *ackLog) resumedAt() (time.Time, int32) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.resumed, a.resumeBy
}

func (a *ackLog) done(r *kgo.Record, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err != nil {
		a.failed = append(a.failed, fmt.Errorf("%s: %w", r.Value, err))
		return
	}
	a.acked = append(a.acked, r)
	a.ackedAt = append(a.ackedAt, time.Now())
}

// timeline is what a test did when, for the report of a failure: a lost
// record is explained by the kills, elections and restarts around it.
type timeline struct {
	began  time.Time
	mu     sync.Mutex
	events []string
}

func (tl *timeline) add(format string, args ...any) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	tl.events = append(tl.events, tl.at(time.Now())+" "+fmt.Sprintf(format, args...))
}

// at formats t relative to the start.
func (tl *timeline) at(t time.Time) string {
	return fmt.Sprintf("+%v", t.Sub(tl.began).Round(time.Millisecond))
}

func (tl *timeline) String() string {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	return strings.Join(tl.events, "\n")
}

// lossReport groups the lost acknowledged records (indexes into acked) in
// runs of consecutive offsets, with when each run was acknowledged, and
// appends the timeline.
func lossReport(acked []*kgo.Record, ackedAt []time.Time, lost []int, tl *timeline) string {
	var b strings.Builder
	b.WriteString("lost runs:\n")
	for i := 0; i < len(lost); {
		j := i + 1
		for j < len(lost) && lost[j] == lost[j-1]+1 && acked[lost[j]].Offset == acked[lost[j-1]].Offset+1 {
			j++
		}
		first, last := acked[lost[i]], acked[lost[j-1]]
		fmt.Fprintf(&b, "  offsets %d-%d (%d records, %s to %s) acknowledged %s to %s\n", first.Offset, last.Offset, j-i,
			first.Value, last.Value, tl.at(ackedAt[lost[i]]), tl.at(ackedAt[lost[j-1]]))
		i = j
	}
	b.WriteString("timeline:\n")
	b.WriteString(tl.String())
	return b.String()
}

// partitionFiles lists each broker's files of a partition (segments with
// their sizes, the leader epoch checkpoint's entries) and its high
// watermark checkpoint: each replica's log end and epochs, for a failure
// report.
func (c *procCluster) partitionFiles(topic string, p int32) string {
	var b strings.Builder
	for _, n := range c.nodes {
		data := filepath.Join(c.dir, fmt.Sprintf("data-%d", n.id))
		dir := filepath.Join(data, fmt.Sprintf("%s-%d", topic, p))
		fmt.Fprintf(&b, "broker %d, %s:\n", n.id, dir)
		entries, err := os.ReadDir(dir)
		if err != nil {
			fmt.Fprintf(&b, "  %v\n", err)
		}
		for _, e := range entries {
			info, err := e.Info()
			if err != nil {
				continue
			}
			fmt.Fprintf(&b, "  %s %d bytes\n", e.Name(), info.Size())
		}
		for _, f := range []string{filepath.Join(dir, "leader-epoch-checkpoint"), filepath.Join(data, "replication-offset-checkpoint")} {
			if body, err := os.ReadFile(f); err == nil {
				fmt.Fprintf(&b, "  %s: %q\n", filepath.Base(f), body)
			}
		}
	}
	return b.String()
}

// keep copies every broker's logs (all incarnations) and data dir to a
// directory that outlives the test, for a failure's post-mortem, and
// returns its path.
func (c *procCluster) keep(t *testing.T) (string, error) {
	name := strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())
	dir, err := os.MkdirTemp("", "kspring-"+name+"-")
	if err != nil {
		return "", err
	}
	for _, n := range c.nodes {
		var logs strings.Builder
		for i, l := range append(slices.Clone(n.old), n.logs) {
			if l != nil {
				fmt.Fprintf(&logs, "=== broker %d, incarnation %d ===\n%s", n.id, i+1, l.String())
			}
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("broker-%d.log", n.id)), []byte(logs.String()), 0o644); err != nil {
			return dir, err
		}
		data := filepath.Join(c.dir, fmt.Sprintf("data-%d", n.id))
		if err := os.CopyFS(filepath.Join(dir, fmt.Sprintf("data-%d", n.id)), os.DirFS(data)); err != nil {
			return dir, err
		}
	}
	return dir, nil
}

// partitionState is partition p of topic as the cluster's metadata says.
func partitionState(ctx context.Context, adm *kadm.Client, topic string, p int32) (leader int32, isr []int32, err error) {
	leader, isr, _, err = partitionAndController(ctx, adm, topic, p)
	return leader, isr, err
}

// partitionAndController is partitionState and the active controller.
func partitionAndController(ctx context.Context, adm *kadm.Client, topic string, p int32) (leader int32, isr []int32, controller int32, err error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	md, err := adm.Metadata(ctx, topic)
	if err != nil {
		return -1, nil, -1, err
	}
	pd, ok := md.Topics[topic].Partitions[p]
	if !ok {
		return -1, nil, -1, fmt.Errorf("no partition %s-%d in metadata", topic, p)
	}
	if pd.Err != nil {
		return -1, nil, -1, fmt.Errorf("%s-%d: %w", topic, p, pd.Err)
	}
	isr = slices.Clone(pd.ISR)
	slices.Sort(isr)
	return pd.Leader, isr, md.Controller, nil
}

// TestProcessClusterSurvivesLeaderKills: three kspring-broker processes; an
// idempotent acks=all producer writes all along while, again and again, the
// partition's leader is SIGKILLed, a new leader takes over, and the killed
// process restarts on its data dir and rejoins the ISR. Every acknowledged
// record is then read back exactly once, at the offset it was acknowledged
// at, in the order of the acknowledgements (Jepsen's queue checker, plus
// order). "Kill 2 of 3" loses the metadata quorum in combined mode; the
// in-process 5-broker TestClusterNotEnoughReplicas covers it.
func TestProcessClusterSurvivesLeaderKills(t *testing.T) {
	cycles := 20
	if testing.Short() {
		cycles = 3
	}
	began := time.Now()
	tl := &timeline{began: began}
	c := startProcessCluster(t, "")
	tl.add("cluster started")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	const topic = "payments"
	admCl, err := kgo.NewClient(kgo.SeedBrokers(c.bootstrap()...), kgo.MetadataMinAge(50*time.Millisecond))
	require.NoError(t, err)
	defer admCl.Close()
	adm := kadm.NewClient(admCl)
	resp, err := adm.CreateTopic(ctx, 1, 3, map[string]*string{"min.insync.replicas": kadm.StringPtr("2")}, topic)
	require.NoError(t, err)
	require.NoError(t, resp.Err)

	acks := &ackLog{}
	producer, err := kgo.NewClient(kgo.SeedBrokers(c.bootstrap()...),
		kgo.DefaultProduceTopic(topic),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.RequiredAcks(kgo.AllISRAcks()), // idempotent: franz-go's default
		kgo.RecordRetries(1<<20),
		kgo.RecordDeliveryTimeout(time.Minute),
		kgo.RetryBackoffFn(func(int) time.Duration { return 50 * time.Millisecond }),
		kgo.MetadataMinAge(50*time.Millisecond),
		kgo.MaxBufferedRecords(1000),
		kgo.WithHooks(acks))
	require.NoError(t, err)
	defer producer.Close()

	// Produce from a goroutine, one record a millisecond at most, until
	// stopProducing.
	produceCtx, stopProducing := context.WithCancel(ctx)
	produced := make(chan int, 1) // how many records were handed to the client
	go func() {
		n := 0
		defer func() { produced <- n }()
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-produceCtx.Done():
				return
			case <-tick.C:
			}
			producer.Produce(context.Background(), &kgo.Record{Value: fmt.Appendf(nil, "v-%07d", n)}, acks.done)
			n++
		}
	}()
	defer stopProducing()

	var failovers, rejoins []time.Duration
	for cycle := 1; cycle <= cycles; cycle++ {
		// The leader: what the metadata says, and who acknowledged last.
		var leader, controller int32
		eventually(t, 30*time.Second, "a leader acknowledging with all three in the ISR", func() error {
			l, isr, ctrl, err := partitionAndController(ctx, adm, topic, 0)
			if err != nil {
				return err
			}
			if len(isr) != 3 {
				return fmt.Errorf("ISR %v", isr)
			}
			acks.mu.Lock()
			last := acks.lastNode
			acks.mu.Unlock()
			if last != l {
				return fmt.Errorf("metadata names leader %d, the last batch was written by %d", l, last)
			}
			leader, controller = l, ctrl
			return nil
		})

		victim := c.node(leader)
		killAt := time.Now()
		acks.killed(leader, killAt)
		victim.kill(t)
		tl.add("cycle %d: SIGKILL leader %d (controller %d), ISR [1 2 3]", cycle, leader, controller)

		var resumed time.Time
		var by int32
		eventually(t, 30*time.Second, fmt.Sprintf("cycle %d: acknowledgements after killing leader %d", cycle, leader), func() error {
			if resumed, by = acks.resumedAt(); resumed.IsZero() {
				return errors.New("no batch acknowledged by another broker yet")
			}
			return nil
		})
		eventually(t, 30*time.Second, "a new leader in the metadata", func() error {
			l, _, err := partitionState(ctx, adm, topic, 0)
			if err == nil && (l == leader || l < 0) {
				err = fmt.Errorf("leader %d", l)
			}
			return err
		})
		failovers = append(failovers, resumed.Sub(killAt))
		tl.add("cycle %d: broker %d acknowledged from %s", cycle, by, tl.at(resumed))

		restartAt := time.Now()
		victim.start(t)
		require.NoError(t, victim.waitStarted(30*time.Second))
		tl.add("cycle %d: broker %d restarted", cycle, leader)
		eventually(t, 30*time.Second, fmt.Sprintf("cycle %d: broker %d back in the ISR", cycle, leader), func() error {
			_, isr, err := partitionState(ctx, adm, topic, 0)
			if err == nil && !slices.Contains(isr, leader) {
				err = fmt.Errorf("ISR %v", isr)
			}
			return err
		})
		rejoins = append(rejoins, time.Since(restartAt))
		tl.add("cycle %d: broker %d back in the ISR", cycle, leader)
		also := ""
		if controller == leader {
			also = " (the active controller too)"
		}
		t.Logf("cycle %d: killed leader %d%s; broker %d acknowledged %v later; restarted, back in the ISR in %v",
			cycle, leader, also, by, failovers[len(failovers)-1].Round(time.Millisecond), rejoins[len(rejoins)-1].Round(time.Millisecond))
	}

	stopProducing()
	n := <-produced
	flushCtx, cancelFlush := context.WithTimeout(ctx, time.Minute)
	defer cancelFlush()
	require.NoError(t, producer.Flush(flushCtx))
	acks.mu.Lock()
	acked, ackedAt, failed := slices.Clone(acks.acked), slices.Clone(acks.ackedAt), slices.Clone(acks.failed)
	acks.mu.Unlock()
	t.Logf("%d records produced, %d acknowledged, %d failed %v", n, len(acked), len(failed), failed[:min(len(failed), 5)])
	require.NotEmpty(t, acked)
	tl.add("producer flushed: %d acknowledged", len(acked))

	checkQueueOrder(t, ctx, c.bootstrap(), adm, topic, acked, func(lost []int) string {
		return lossReport(acked, ackedAt, lost, tl) + "\n" + c.partitionFiles(topic, 0)
	})
	t.Logf("failover, SIGKILL of the leader to the next acknowledgement, over %d cycles: %s", cycles, spread(failovers))
	t.Logf("restart to back in the ISR: %s", spread(rejoins))
	t.Logf("test took %v", time.Since(began).Round(time.Millisecond))
}

// spread formats min / median / max.
func spread(ds []time.Duration) string {
	s := slices.Clone(ds)
	slices.Sort(s)
	r := func(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
	return fmt.Sprintf("min %v, median %v, max %v", r(s[0]), r(s[len(s)/2]), r(s[len(s)-1]))
}

// checkQueueOrder reads topic's partition 0 from the start to its end and
// checks it against the acknowledged records, like Jepsen's queue checker:
// every acknowledged record is read back exactly once, at the offset its
// acknowledgement gave; offsets rise; no value appears twice; and the
// acknowledged values appear in the order they were acknowledged.
// Unacknowledged records may appear (once), as Jepsen allows. If
// acknowledged records are missing or moved, it reports them all, what the
// log holds at their offsets instead, and explain's account of them
// (indexes into acked), before it fails the test.
func checkQueueOrder(t *testing.T, ctx context.Context, seeds []string, adm *kadm.Client, topic string, acked []*kgo.Record,
	explain func(lost []int) string) {
	t.Helper()
	ends, err := adm.ListEndOffsets(ctx, topic)
	require.NoError(t, err)
	end, ok := ends.Lookup(topic, 0)
	require.True(t, ok)
	require.NoError(t, end.Err)

	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().AtStart()}}),
		kgo.FetchMaxWait(100*time.Millisecond))
	require.NoError(t, err)
	defer cl.Close()
	var got []*kgo.Record
	readCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for len(got) == 0 || got[len(got)-1].Offset < end.Offset-1 {
		fs := cl.PollFetches(readCtx)
		require.NoError(t, readCtx.Err(), "read up to offset %d of %d", len(got), end.Offset)
		fs.EachError(func(_ string, _ int32, err error) {
			if !kerr.IsRetriable(err) {
				t.Fatalf("fetch: %v", err)
			}
		})
		got = append(got, fs.Records()...)
	}

	at := map[string]int64{} // value -> the offset it was read at
	last := int64(-1)
	for _, r := range got {
		require.Greater(t, r.Offset, last, "offsets must rise")
		last = r.Offset
		v := string(r.Value)
		if prev, dup := at[v]; dup {
			t.Fatalf("record %q at offsets %d and %d", v, prev, r.Offset)
		}
		at[v] = r.Offset
	}
	var lost []int // indexes of acked records missing or read at another offset
	for i, r := range acked {
		if off, ok := at[string(r.Value)]; !ok || off != r.Offset {
			lost = append(lost, i)
		}
	}
	if len(lost) > 0 {
		byOffset := make(map[int64]string, len(got))
		for _, r := range got {
			byOffset[r.Offset] = string(r.Value)
		}
		var b strings.Builder
		fmt.Fprintf(&b, "%d of %d acknowledged records lost or moved; read %d records up to offset %d (end offset %d):\n",
			len(lost), len(acked), len(got), last, end.Offset)
		for _, i := range lost[:min(len(lost), 20)] {
			r := acked[i]
			now, ok := at[string(r.Value)]
			there, held := byOffset[r.Offset]
			fmt.Fprintf(&b, "  %q acknowledged at offset %d: read at %d (%v); offset %d holds %q (%v)\n",
				r.Value, r.Offset, now, ok, r.Offset, there, held)
		}
		t.Fatalf("%s%s", b.String(), explain(lost))
	}
	// Acknowledged order: the offsets of the acknowledged records, in
	// acknowledgement order, rise.
	for i := 1; i < len(acked); i++ {
		require.Greater(t, acked[i].Offset, acked[i-1].Offset,
			"%q was acknowledged after %q but sits before it", acked[i].Value, acked[i-1].Value)
	}
	t.Logf("read %d records (offsets 0-%d): all %d acknowledged once, in order; %d unacknowledged ones appear too",
		len(got), last, len(acked), len(got)-len(acked))
}

// TestQuorumConfigErrors: kspring-broker refuses a quorum configuration it
// cannot run at once, naming the property, and gives up on a quorum it
// cannot reach after --startup-timeout, saying what it waited for.
func TestQuorumConfigErrors(t *testing.T) {
	t.Parallel()
	ports := freePorts(t, 4)
	addr := func(i int) string { return "127.0.0.1:" + strconv.Itoa(ports[i]) }
	for _, tc := range []struct {
		name   string
		voters string
		args   []string
		within time.Duration // exit non-zero within
		want   []string      // on stderr
	}{
		{"voters do not name node.id", fmt.Sprintf("2@%s,3@%s", addr(2), addr(3)), nil,
			10 * time.Second, []string{"controller.quorum.voters", "does not name this node (node.id=1)"}},
		{"malformed voters", "1@" + addr(1) + ",two@" + addr(2), nil,
			10 * time.Second, []string{"controller.quorum.voters", `"two@`, "want id@host:port"}},
		{"voter without a port", "1@" + addr(1) + ",2@127.0.0.1", nil,
			10 * time.Second, []string{"controller.quorum.voters", "missing port"}},
		{"peers never start", fmt.Sprintf("1@%s,2@%s,3@%s", addr(1), addr(2), addr(3)), []string{"--startup-timeout", "3s"},
			15 * time.Second, []string{"waiting for the controller quorum", "--startup-timeout 3s", "controller.quorum.voters="}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			props := filepath.Join(dir, "server.properties")
			require.NoError(t, os.WriteFile(props, []byte(fmt.Sprintf(`node.id=1
process.roles=broker,controller
listeners=PLAINTEXT://%s,CONTROLLER://%s
controller.listener.names=CONTROLLER
controller.quorum.voters=%s
log.dirs=%s
`, addr(0), addr(1), tc.voters, filepath.Join(dir, "data"))+failoverProperties), 0o644))
			ctx, cancel := context.WithTimeout(context.Background(), tc.within)
			defer cancel()
			began := time.Now()
			var stderr syncBuffer
			cmd := exec.CommandContext(ctx, brokerBinary(t), append([]string{props}, tc.args...)...)
			cmd.Stderr = &stderr
			err := cmd.Run()
			took := time.Since(began)
			require.NoError(t, ctx.Err(), "still running after %v:\n%s", tc.within, stderr.String())
			var exit *exec.ExitError
			require.ErrorAs(t, err, &exit, stderr.String())
			require.Equal(t, 1, exit.ExitCode())
			last := tail(stderr.String(), 1)
			for _, w := range tc.want {
				require.Contains(t, last, w, "the last line of stderr")
			}
			t.Logf("exit 1 after %v: %s", took.Round(time.Millisecond), last)
		})
	}
}

// TestQuorumWithKafkasDefaultTimeouts: a broker of a three-voter quorum
// with Kafka's default timeouts gets past its configuration and waits for
// its peers.
func TestQuorumWithKafkasDefaultTimeouts(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ports := freePorts(t, 4)
	addr := func(i int) string { return "127.0.0.1:" + strconv.Itoa(ports[i]) }
	props := filepath.Join(dir, "server.properties")
	require.NoError(t, os.WriteFile(props, []byte(fmt.Sprintf(`node.id=1
listeners=PLAINTEXT://%s,CONTROLLER://%s
controller.quorum.voters=1@%s,2@%s,3@%s
log.dirs=%s
`, addr(0), addr(1), addr(1), addr(2), addr(3), filepath.Join(dir, "data"))), 0o644))
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var stderr syncBuffer
	cmd := exec.CommandContext(ctx, brokerBinary(t), props, "--startup-timeout", "2s")
	cmd.Stderr = &stderr
	require.Error(t, cmd.Run())
	require.Contains(t, tail(stderr.String(), 1), "waiting for the controller quorum")
}

// TestRestartingBrokerHidesStaleMetadata: a broker restarted while its
// quorum has no leader must not tell clients that its cluster is itself
// alone with no topics; Kafka serves clients only once the broker has
// caught up with the metadata log.
func TestRestartingBrokerHidesStaleMetadata(t *testing.T) {
	c := startProcessCluster(t, "")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	admCl, err := kgo.NewClient(kgo.SeedBrokers(c.bootstrap()...))
	require.NoError(t, err)
	defer admCl.Close()
	adm := kadm.NewClient(admCl)
	resp, err := adm.CreateTopic(ctx, 1, 3, nil, "kept")
	require.NoError(t, err)
	require.NoError(t, resp.Err)
	eventually(t, 30*time.Second, "all three in the ISR", func() error {
		_, isr, err := partitionState(ctx, adm, "kept", 0)
		if err == nil && len(isr) != 3 {
			err = fmt.Errorf("ISR %v", isr)
		}
		return err
	})
	for _, n := range c.nodes {
		n.kill(t)
	}
	n := c.node(1)
	n.start(t)
	one, err := kgo.NewClient(kgo.SeedBrokers(n.client), kgo.RequestRetries(0))
	require.NoError(t, err)
	defer one.Close()
	// Not answering is fine; answering without the topic is not.
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		mctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		md, err := kadm.NewClient(one).Metadata(mctx)
		cancel()
		if err == nil {
			require.True(t, md.Topics.Has("kept"), "broker 1 says the cluster has brokers %v and topics %v",
				md.Brokers.NodeIDs(), md.Topics.Names())
		}
		time.Sleep(50 * time.Millisecond) // the polling interval
	}
}
