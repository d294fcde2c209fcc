package bench

// Replication (issue 11): what a replication factor of 3 costs against 1 on
// the same three-broker kspring cluster, in throughput (BenchmarkReplication)
// and in end-to-end latency at a fixed rate (BenchmarkReplicationLatency),
// and how long a partition is unavailable to an acks=all producer when its
// leader crashes (BenchmarkFailover).
//
// The cluster is broker.NewCluster: three brokers, each a voter of the
// metadata quorum (KRaft's combined mode), on loopback, all in one child
// process (target "kspring-cluster"), which the benchmark asks to kill and
// restart brokers. One process for the three keeps the client's and the
// brokers' CPU time apart, as for the other benchmarks; the three brokers
// share that process's heap and scheduler, which a real deployment would
// not, and a kill cuts the broker's connections at once, as the kernel does
// when a broker process dies (not as when a machine vanishes, where peers
// wait for TCP timeouts).

import (
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kspring/kspring/bench/internal/load"
	"github.com/kspring/kspring/bench/internal/target"
)

const (
	replBrokers = 3
	recordSize  = 1024
)

var (
	e2eRate = flag.Int("e2e.rate", 5000, "records/s BenchmarkReplicationLatency produces (1 KiB each)")
	// kgo lingers 10 ms by default before sending a batch, which would
	// be most of a record's latency at a low rate.
	e2eLinger       = flag.Duration("e2e.linger", 0, "producer linger (kgo.ProducerLinger) in BenchmarkReplicationLatency; kgo's default is 10ms")
	e2eFetchMaxWait = flag.Duration("e2e.fetchmaxwait", 0, "consumer fetch.max.wait in BenchmarkReplicationLatency; 0 keeps kgo's default, 5s")
	// failoverKafkaDefaults adds a BenchmarkFailover run with Kafka's
	// default timeouts (9 s session): about 10 s a round.
	failoverKafkaDefaults = flag.Bool("failover.kafkadefaults", false, "BenchmarkFailover also runs with Kafka's default timeouts (slow: ~10 s a round)")
	// failoverController makes every BenchmarkFailover round kill the
	// active controller, measured on a partition it leads.
	failoverController = flag.Bool("failover.controller", false, "BenchmarkFailover kills the active controller each round (on a partition it leads)")
)

// clusterDefaults is Kafka's defaults: no property is changed. (Until
// commit 7ab4201 the quorum's election timeout had to be raised to the
// fetch timeout's 2 s; the broker now does that itself.)
var clusterDefaults = map[string]string{}

// startReplicated starts a three-broker cluster with the benchmarks' topic
// of rf replicas (min.insync.replicas 2 when rf > 1) and properties over
// Kafka's defaults (nil: none changed).
func startReplicated(tb testing.TB, rf int16, properties map[string]string) *target.Target {
	tb.Helper()
	if properties == nil {
		properties = clusterDefaults
	}
	spec := target.Spec{
		Name: target.NameKspringCluster, Topic: topic, Partitions: partitions,
		Brokers: replBrokers, ReplicationFactor: rf, Properties: properties,
	}
	if rf > 1 {
		spec.TopicConfigs = map[string]string{"min.insync.replicas": "2"}
	}
	return startSpec(tb, spec)
}

// BenchmarkReplication is BenchmarkProduce's acks=all case (idempotent
// producer, 1 KiB records, 10 000 in flight, one topic of 6 partitions) on a
// three-broker kspring cluster, with the topic's replication factor 1 and 3.
// With rf=3 a record is acknowledged once both followers have fetched it.
// One op is one record; brokers run with Kafka's default settings.
func BenchmarkReplication(b *testing.B) {
	for _, rf := range []int16{1, 3} {
		b.Run(fmt.Sprintf("rf=%d", rf), func(b *testing.B) {
			ctx := benchContext(b)
			t := startReplicated(b, rf, nil)
			p := replProducer(b, t)
			v := value(recordSize)
			require.NoError(b, p.Produce(ctx, &kgo.Record{Value: v})) // warm up
			require.NoError(b, p.Flush(ctx))

			b.SetBytes(recordSize)
			b.ReportAllocs()
			cpu := startCPU(b, t)
			for b.Loop() {
				if err := p.Produce(ctx, &kgo.Record{Value: v}); err != nil {
					b.Fatal(err)
				}
			}
			// Loop stopped the timer; the op ends with its acknowledgement.
			b.StartTimer()
			if err := p.Flush(ctx); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			cpu.report(b)
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
			require.Equal(b, int64(b.N)+1, p.Acked())
		})
	}
}

// replProducer returns a pipeline over an acks=all idempotent producer
// (load.NewProducer) to t with window records in flight.
func replProducer(tb testing.TB, t *target.Target, extra ...kgo.Opt) *load.Pipeline {
	tb.Helper()
	cl, err := load.NewProducer(t.Addr, topic, load.AcksAll, window, extra...)
	require.NoError(tb, err)
	tb.Cleanup(cl.Close) // before the target's Close
	return load.NewPipeline(cl, window)
}

// BenchmarkReplicationLatency produces 1 KiB records at a fixed rate
// (-e2e.rate, 5000 records/s by default, a few percent of what the cluster
// takes at rf=3) with the same producer as BenchmarkReplication but for
// kgo's 10 ms linger (-e2e.linger, default 0), while a kgo consumer with
// kgo's defaults (-e2e.fetchmaxwait) reads the topic; it reports, over the records of the run, the
// time from Produce to the acknowledgement (ack-p50-ms, ack-p99-ms) and to
// the consumer's PollFetches returning the record (e2e-p50-ms, e2e-p99-ms,
// e2e-max-ms). A record's send time travels in its first 8 bytes; producer
// and consumer share this process's clock. One op is one record, so sec/op
// is the pacing, not a result.
//
// It is a benchmark of its own rather than metrics of BenchmarkReplication
// because at full throughput latency is queueing behind the 10 000 records
// in flight (about window / throughput), and a consumer on the same two
// cores would slow the producer whose throughput is measured.
func BenchmarkReplicationLatency(b *testing.B) {
	for _, rf := range []int16{1, 3} {
		b.Run(fmt.Sprintf("rf=%d", rf), func(b *testing.B) {
			ctx := benchContext(b)
			t := startReplicated(b, rf, nil)
			m := startLatency(b, t, *e2eFetchMaxWait)
			b.SetBytes(recordSize)
			cpu := startCPU(b, t)
			interval := time.Second / time.Duration(*e2eRate)
			start := time.Now()
			var i time.Duration
			for b.Loop() {
				if d := time.Until(start.Add(i * interval)); d > time.Millisecond {
					time.Sleep(d)
				}
				i++
				if err := m.send(ctx); err != nil {
					b.Fatal(err)
				}
			}
			cpu.report(b)
			m.finish(b, ctx).report(b)
		})
	}
}

// epoch is the origin of the send times records carry.
var epoch = time.Now()

// stamp returns a copy of v with the time since epoch in its first 8 bytes.
func stamp(v []byte) []byte {
	out := make([]byte, len(v))
	copy(out, v)
	binary.BigEndian.PutUint64(out, uint64(time.Since(epoch)))
	return out
}

// sentAt returns the send time a stamped value carries.
func sentAt(v []byte) time.Duration { return time.Duration(binary.BigEndian.Uint64(v)) }

// latencyMeter produces stamped records and consumes them, collecting each
// record's time to acknowledgement and to consumption.
type latencyMeter struct {
	p     *load.Pipeline
	v     []byte
	since atomic.Int64 // records sent earlier (since epoch) are not counted
	sent  atomic.Int64

	mu      sync.Mutex
	ack     []time.Duration
	e2e     []time.Duration
	cancel  context.CancelFunc
	stopped chan error
}

// startLatency starts the consumer (with fetchMaxWait, 0 for kgo's
// default), then the producer, and warms both up.
func startLatency(tb testing.TB, t *target.Target, fetchMaxWait time.Duration) *latencyMeter {
	tb.Helper()
	ctx := benchContext(tb)
	m := &latencyMeter{p: replProducer(tb, t, kgo.ProducerLinger(*e2eLinger)), v: value(recordSize), stopped: make(chan error, 1)}
	m.p.OnAck(func(r *kgo.Record) {
		if at := sentAt(r.Value); int64(at) >= m.since.Load() {
			d := time.Since(epoch) - at
			m.mu.Lock()
			m.ack = append(m.ack, d)
			m.mu.Unlock()
		}
	})
	opts := []kgo.Opt{kgo.SeedBrokers(target.Seeds(t.Addr)...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart())}
	if fetchMaxWait > 0 {
		opts = append(opts, kgo.FetchMaxWait(fetchMaxWait))
	}
	cl, err := kgo.NewClient(opts...)
	require.NoError(tb, err)
	cctx, cancel := context.WithCancel(ctx)
	m.cancel = cancel
	go func() {
		defer cl.Close()
		for {
			fs := cl.PollFetches(cctx)
			now := time.Since(epoch)
			if cctx.Err() != nil {
				m.stopped <- nil
				return
			}
			var ferr error
			fs.EachError(func(t string, p int32, err error) {
				ferr = errors.Join(ferr, fmt.Errorf("partition %s/%d: %w", t, p, err))
			})
			if ferr != nil {
				m.stopped <- ferr
				return
			}
			m.mu.Lock()
			fs.EachRecord(func(r *kgo.Record) {
				if at := sentAt(r.Value); int64(at) >= m.since.Load() {
					m.e2e = append(m.e2e, now-at)
				}
			})
			m.mu.Unlock()
		}
	}()
	tb.Cleanup(func() { m.stop() })

	// Warm up: one record through producer and consumer.
	require.NoError(tb, m.send(ctx))
	require.NoError(tb, m.p.Flush(ctx))
	m.wait(tb, ctx, 1)
	m.mu.Lock()
	m.since.Store(int64(time.Since(epoch)))
	m.ack, m.e2e = nil, nil
	m.mu.Unlock()
	m.sent.Store(0)
	return m
}

func (m *latencyMeter) send(ctx context.Context) error {
	m.sent.Add(1)
	return m.p.Produce(ctx, &kgo.Record{Value: stamp(m.v)})
}

// wait waits until the consumer has seen n counted records.
func (m *latencyMeter) wait(tb testing.TB, ctx context.Context, n int) {
	tb.Helper()
	for {
		m.mu.Lock()
		got := len(m.e2e)
		m.mu.Unlock()
		if got >= n {
			return
		}
		select {
		case err := <-m.stopped:
			m.stopped <- err
			tb.Fatalf("consumer stopped after %d of %d records: %v", got, n, err)
		case <-ctx.Done():
			tb.Fatalf("consumed %d of %d records: %v", got, n, ctx.Err())
		case <-time.After(time.Millisecond):
		}
	}
}

func (m *latencyMeter) stop() {
	if m.cancel != nil {
		m.cancel()
		m.cancel = nil
		<-m.stopped
	}
}

// finish waits for every record sent since startLatency to be acknowledged
// and consumed, stops the consumer and returns the latencies.
func (m *latencyMeter) finish(tb testing.TB, ctx context.Context) latencies {
	tb.Helper()
	require.NoError(tb, m.p.Flush(ctx))
	n := int(m.sent.Load())
	m.wait(tb, ctx, n)
	m.stop()
	m.mu.Lock()
	defer m.mu.Unlock()
	require.Len(tb, m.ack, n)
	require.Len(tb, m.e2e, n, "every record consumed once")
	return latencies{ack: slices.Clone(m.ack), e2e: slices.Clone(m.e2e)}
}

type latencies struct{ ack, e2e []time.Duration }

func (l latencies) report(b *testing.B) {
	b.ReportMetric(ms(quantile(l.ack, 0.5)), "ack-p50-ms")
	b.ReportMetric(ms(quantile(l.ack, 0.99)), "ack-p99-ms")
	b.ReportMetric(ms(quantile(l.e2e, 0.5)), "e2e-p50-ms")
	b.ReportMetric(ms(quantile(l.e2e, 0.99)), "e2e-p99-ms")
	b.ReportMetric(ms(quantile(l.e2e, 1)), "e2e-max-ms")
}

// quantile returns the q-quantile of ds by nearest rank (q=1: the maximum).
func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(math.Ceil(q*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// Failover timing settings. broker.session.timeout.ms decides how soon the
// controller fences a crashed broker and elects new leaders for its
// partitions, as in Kafka's KRaft mode; the heartbeat must be well inside
// it. replica.lag.time.max.ms only decides when a live but slow follower
// leaves the ISR; a crashed leader is removed when it is fenced.
var (
	// failoverTest is the cluster tests' timing (broker/replication_test.go,
	// clusterConfig).
	failoverTest = map[string]string{
		"broker.session.timeout.ms":             "1500",
		"broker.heartbeat.interval.ms":          "100",
		"controller.quorum.election.timeout.ms": "500",
		"controller.quorum.fetch.timeout.ms":    "500",
		"replica.lag.time.max.ms":               "2000",
		"replica.fetch.wait.max.ms":             "100",
		"replica.fetch.backoff.ms":              "100",
	}
	// failoverFast is the test timing with a 600 ms session and 50 ms
	// heartbeats.
	failoverFast = with(failoverTest, map[string]string{
		"broker.session.timeout.ms":    "600",
		"broker.heartbeat.interval.ms": "50",
	})
	// failoverFaster also halves the metadata quorum's timeouts, which
	// decide how soon a new controller is elected when the killed leader
	// was the active controller too.
	failoverFaster = with(failoverFast, map[string]string{
		"controller.quorum.election.timeout.ms": "250",
		"controller.quorum.fetch.timeout.ms":    "250",
	})
)

func with(base, over map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range base {
		out[k] = v
	}
	for k, v := range over {
		out[k] = v
	}
	return out
}

// BenchmarkFailover measures how long partition 0 of a replicated topic
// (rf=3, min.insync.replicas=2, three brokers) is unavailable to an acks=all
// idempotent producer when its leader crashes: from the kill of the leader
// to the acknowledgement of the first record sent to partition 0 after the
// kill. A producer sends one 1 KiB record to each of the 6 partitions every
// millisecond throughout. One op is one round: kill the leader, wait for
// that acknowledgement, restart the broker and wait until every partition's
// ISR has all three replicas again; sec/op is the round, the figures are
// failover-{min,p50,p90,max}-ms over the rounds. Run it with
// -benchtime=Nx for N rounds.
//
// The producer is kgo's, with its metadata refreshed at most every 50 ms
// and retries 50 ms apart (kgo's defaults, 5 s and 250 ms growing, are made
// for a stable cluster, and would measure the client's back-off instead).
// At the end every acknowledged record must be in the log exactly once
// (the partitions' end offsets add up to the acknowledgements).
func BenchmarkFailover(b *testing.B) {
	settings := []struct {
		name  string
		props map[string]string
	}{
		{"session=1500ms/heartbeat=100ms/quorum=500ms", failoverTest},
		{"session=600ms/heartbeat=50ms/quorum=500ms", failoverFast},
		{"session=600ms/heartbeat=50ms/quorum=250ms", failoverFaster},
	}
	if *failoverKafkaDefaults {
		settings = append(settings, struct {
			name  string
			props map[string]string
		}{"session=9000ms/heartbeat=2000ms/quorum=2000ms", clusterDefaults})
	}
	for _, s := range settings {
		b.Run(s.name, func(b *testing.B) {
			ctx := benchContext(b)
			f := startFailover(b, s.props)
			var rounds, leaderOnly, withController []time.Duration
			for b.Loop() {
				r := f.round(b, ctx)
				b.Logf("round %d: killed broker %d (controller: %v); failover %v; ISR whole again %v after the restart",
					len(rounds)+1, r.killed, r.controller, r.failover.Round(time.Millisecond), r.rejoin.Round(time.Millisecond))
				rounds = append(rounds, r.failover)
				if r.controller {
					withController = append(withController, r.failover)
				} else {
					leaderOnly = append(leaderOnly, r.failover)
				}
			}
			f.check(b, ctx)
			b.ReportMetric(ms(quantile(rounds, 0)), "failover-min-ms")
			b.ReportMetric(ms(quantile(rounds, 0.5)), "failover-p50-ms")
			b.ReportMetric(ms(quantile(rounds, 0.9)), "failover-p90-ms")
			b.ReportMetric(ms(quantile(rounds, 1)), "failover-max-ms")
			// The two kinds of round, apart: the killed broker was only
			// the partition's leader, or the active controller as well
			// (a new controller is elected first, then gives every broker
			// a whole session before fencing it).
			if len(leaderOnly) > 0 {
				b.ReportMetric(ms(quantile(leaderOnly, 0.5)), "leader-only-p50-ms")
			}
			if len(withController) > 0 {
				b.ReportMetric(ms(quantile(withController, 0.5)), "with-controller-p50-ms")
			}
			b.ReportMetric(float64(len(withController)), "controller-kills")
		})
	}
}

// failover is a replicated cluster with a producer sending continuously.
type failover struct {
	t  *target.Target
	p  *load.Pipeline
	cl *kgo.Client // admin reads

	part  atomic.Int32 // the partition whose leader a round kills
	after atomic.Int64 // records sent at or after this time (since epoch) count; 0: none
	first atomic.Int64 // when the first of them to part was acknowledged (since epoch)

	cancel func() // stops the producer
	done   chan error
}

type failoverRound struct {
	killed           int32
	controller       bool // the killed broker was the active controller too
	failover, rejoin time.Duration
}

func startFailover(tb testing.TB, props map[string]string) *failover {
	tb.Helper()
	ctx := benchContext(tb)
	f := &failover{t: startReplicated(tb, 3, props), done: make(chan error, 1)}
	f.p = replProducer(tb, f.t,
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.MetadataMinAge(50*time.Millisecond),
		kgo.RetryBackoffFn(func(int) time.Duration { return 50 * time.Millisecond }),
		kgo.RecordDeliveryTimeout(time.Minute))
	f.p.OnAck(func(r *kgo.Record) {
		if r.Partition != f.part.Load() {
			return
		}
		if after := f.after.Load(); after > 0 && int64(sentAt(r.Value)) >= after {
			f.first.CompareAndSwap(0, int64(time.Since(epoch)))
		}
	})
	var err error
	// The admin client retries as quickly as the producer: with kgo's
	// back-off, growing to 5 s while a broker is down, it would see the
	// restarted broker's ISR late.
	f.cl, err = kgo.NewClient(kgo.SeedBrokers(target.Seeds(f.t.Addr)...), kgo.MetadataMinAge(50*time.Millisecond),
		kgo.RetryBackoffFn(func(int) time.Duration { return 50 * time.Millisecond }))
	require.NoError(tb, err)
	tb.Cleanup(f.cl.Close)

	// Records are produced with ctx, not with a context that stop
	// cancels: kgo fails buffered records whose context ends.
	stop := make(chan struct{})
	f.cancel = func() { close(stop) }
	v := value(recordSize)
	go func() {
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				f.done <- nil
				return
			case <-tick.C:
			}
			for part := range int32(partitions) {
				if err := f.p.Produce(ctx, &kgo.Record{Partition: part, Value: stamp(v)}); err != nil {
					f.done <- err
					return
				}
			}
		}
	}()
	tb.Cleanup(f.stop)
	f.waitISR(tb, ctx)
	return f
}

func (f *failover) stop() {
	if f.cancel != nil {
		f.cancel()
		f.cancel = nil
		f.done <- <-f.done // keep the result for check
	}
}

// round kills partition 0's leader (with -failover.controller, the active
// controller, measured on a partition it leads) and measures until a record
// sent to that partition after the kill is acknowledged; then restarts the
// broker and waits for the ISR.
func (f *failover) round(tb testing.TB, ctx context.Context) failoverRound {
	tb.Helper()
	ctrl, err := f.t.Controller(ctx)
	require.NoError(tb, err)
	part := int32(-1)
	var leader int32
	for p := range int32(partitions) {
		leader, err = f.t.Leader(ctx, topic, p)
		require.NoError(tb, err)
		if !*failoverController || leader == ctrl {
			part = p
			break
		}
	}
	require.NotEqual(tb, int32(-1), part, "a partition led by the controller, broker %d", ctrl)
	require.Positive(tb, leader, "partition %d has a leader", part)
	f.part.Store(part)
	f.first.Store(0)
	f.after.Store(0)
	killAt := time.Since(epoch)
	require.NoError(tb, f.t.Kill(ctx, leader))
	f.after.Store(int64(time.Since(epoch)))
	for f.first.Load() == 0 {
		select {
		case err := <-f.done:
			f.done <- err
			tb.Fatalf("producer stopped: %v", err)
		case <-ctx.Done():
			tb.Fatalf("no acknowledgement from partition %d after killing broker %d: %v", part, leader, ctx.Err())
		case <-time.After(time.Millisecond):
		}
		if err := f.p.Err(); err != nil {
			tb.Fatalf("produce: %v", err)
		}
	}
	r := failoverRound{killed: leader, controller: leader == ctrl,
		failover: time.Duration(f.first.Load()) - killAt}
	f.after.Store(0)
	restart := time.Now()
	require.NoError(tb, f.t.Restart(ctx, leader))
	f.waitISR(tb, ctx)
	r.rejoin = time.Since(restart)
	return r
}

// waitISR waits until every partition has a leader and all three replicas
// in its ISR, as the cluster's metadata reports it.
func (f *failover) waitISR(tb testing.TB, ctx context.Context) {
	tb.Helper()
	adm := kadm.NewClient(f.cl)
	var last string
	for {
		md, err := adm.Metadata(ctx, topic)
		last = fmt.Sprint(err)
		if err == nil {
			whole := 0
			for _, p := range md.Topics[topic].Partitions {
				if p.Leader >= 0 && p.Err == nil && len(p.ISR) == replBrokers {
					whole++
				}
			}
			if whole == partitions {
				return
			}
			last = fmt.Sprintf("%d of %d partitions with a whole ISR", whole, partitions)
		}
		select {
		case <-ctx.Done():
			tb.Fatalf("waiting for the ISR: %s: %v", last, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// check stops the producer, waits for its acknowledgements and checks that
// the log holds exactly the acknowledged records.
func (f *failover) check(tb testing.TB, ctx context.Context) {
	tb.Helper()
	f.stop()
	require.NoError(tb, <-f.done)
	require.NoError(tb, f.p.Flush(ctx))
	ends, err := kadm.NewClient(f.cl).ListEndOffsets(ctx, topic)
	require.NoError(tb, err)
	require.NoError(tb, ends.Error())
	var total int64
	ends.Each(func(o kadm.ListedOffset) { total += o.Offset })
	require.Equal(tb, f.p.Acked(), total, "records in the log against records acknowledged")
}

// TestReplication runs the replication benchmarks' machinery briefly, so
// that go test keeps it working: records through an rf=3 cluster, their
// latencies, and one failover round with the fast timing.
func TestReplication(t *testing.T) {
	t.Run("latency", func(t *testing.T) {
		ctx := benchContext(t)
		// A short fetch.max.wait: the broker answers a waiting consumer
		// fetch when records are appended, not when the high watermark
		// moves, so at rf=3 the last records wait for it (5 s by default).
		m := startLatency(t, startReplicated(t, 3, nil), 100*time.Millisecond)
		for range 500 {
			require.NoError(t, m.send(ctx))
		}
		l := m.finish(t, ctx)
		require.Len(t, l.e2e, 500)
		t.Logf("ack p50 %v p99 %v, end to end p50 %v p99 %v", quantile(l.ack, 0.5), quantile(l.ack, 0.99), quantile(l.e2e, 0.5), quantile(l.e2e, 0.99))
		require.Positive(t, quantile(l.e2e, 0.5))
		require.LessOrEqual(t, quantile(l.ack, 0.5), quantile(l.e2e, 1))
	})
	t.Run("failover", func(t *testing.T) {
		ctx := benchContext(t)
		f := startFailover(t, failoverFast)
		r := f.round(t, ctx)
		t.Logf("failover %v (killed broker %d, controller: %v), ISR whole %v after the restart", r.failover, r.killed, r.controller, r.rejoin)
		require.Positive(t, r.failover)
		f.check(t, ctx)
	})
}

func TestQuantile(t *testing.T) {
	ds := []time.Duration{5, 1, 4, 2, 3, 6, 7, 8, 9, 10}
	require.Equal(t, time.Duration(1), quantile(ds, 0))
	require.Equal(t, time.Duration(5), quantile(ds, 0.5))
	require.Equal(t, time.Duration(9), quantile(ds, 0.9))
	require.Equal(t, time.Duration(10), quantile(ds, 0.99))
	require.Equal(t, time.Duration(10), quantile(ds, 1))
	require.Zero(t, quantile(nil, 0.5))
}
