package bench

import (
	"context"
	"crypto/rand"
	"flag"
	"os"
	"runtime/debug"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/kspring/kspring/bench/internal/target"
)

// The workload the issue asks for: one topic of 6 partitions, records of
// 100 bytes and 1 KiB, against both targets.
const (
	topic      = "t"
	partitions = 6
	// window is the number of records in flight in the produce pipeline.
	window = 10_000
	// timeout bounds every benchmark's blocking calls.
	timeout = 10 * time.Minute
)

var (
	targets = []string{target.NameKspring, target.NameKfake}
	sizes   = []struct {
		name  string
		bytes int
	}{{"100B", 100}, {"1KiB", 1024}}
)

var inProcess = flag.Bool("target.inprocess", false, "run the brokers in the benchmark's process instead of a child process each")

// clientGOGC is the benchmark process's GOGC: the load generator's, not the
// brokers' (each runs at Go's defaults in a child process of its own).
// The client is the load generator and must not be the bottleneck: its
// live heap is about a megabyte, so at Go's default of 100 every fetch
// response (a fresh ~4 MiB buffer in kgo) costs it a GC cycle, a scavenger
// madvise and fresh page faults, work that dominates a consume op and is
// the same whichever broker answered. At 400 its heap peaks at a few tens
// of MiB and that churn is gone; -client.gogc=0 measures with Go's default.
var clientGOGC = flag.Int("client.gogc", 400, "GOGC of the benchmark (client) process; 0 keeps Go's default or $GOGC. Brokers in child processes are not affected")

func TestMain(m *testing.M) {
	if target.IsChild() {
		os.Exit(target.RunChild())
	}
	flag.Parse()
	if *clientGOGC != 0 {
		debug.SetGCPercent(*clientGOGC)
	}
	goleak.VerifyTestMain(m)
}

// startTarget starts the named broker, with the benchmarks' topic, for one
// (sub-)benchmark or test and closes it when that ends. See startSpec.
func startTarget(tb testing.TB, name string) *target.Target {
	tb.Helper()
	return startSpec(tb, target.Spec{Name: name, Topic: topic, Partitions: partitions})
}

// startSpec starts a broker in a child process of its own (unless
// -target.inprocess) and closes it when the (sub-)benchmark or test ends;
// kspring's log lives in a temporary directory that is removed afterwards.
func startSpec(tb testing.TB, spec target.Spec) *target.Target {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	spec.Dir = tb.TempDir()
	spec.Process = !*inProcess
	t, err := target.Start(ctx, spec)
	require.NoError(tb, err)
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		require.NoError(tb, t.Close(ctx))
	})
	return t
}

// value returns size random (incompressible) bytes.
func value(size int) []byte {
	v := make([]byte, size)
	_, _ = rand.Read(v) // crypto/rand.Read never fails
	return v
}

// benchContext returns a context bounding a benchmark's blocking calls.
func benchContext(tb testing.TB) context.Context {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	tb.Cleanup(cancel)
	return ctx
}

// cpuMeter measures CPU time (user + system) per op: on a shared machine a
// steadier measure of the work an op costs than wall time. cpu-ns/op is
// client and broker together; with the broker in a child process,
// broker-cpu-ns/op is its share alone.
type cpuMeter struct {
	t              *target.Target
	client, broker time.Duration
}

func startCPU(tb testing.TB, t *target.Target) cpuMeter {
	tb.Helper()
	m := cpuMeter{t: t, client: ownCPU(tb)}
	m.broker, _ = brokerCPU(tb, t)
	return m
}

// report reports the CPU time per op spent since startCPU.
func (m cpuMeter) report(b *testing.B) {
	b.Helper()
	client := ownCPU(b) - m.client
	broker, ok := brokerCPU(b, m.t)
	broker -= m.broker
	b.ReportMetric(float64(client+broker)/float64(b.N), "cpu-ns/op")
	if ok {
		b.ReportMetric(float64(broker)/float64(b.N), "broker-cpu-ns/op")
	}
}

// ownCPU returns the CPU time this process has used so far.
func ownCPU(tb testing.TB) time.Duration {
	tb.Helper()
	var ru syscall.Rusage
	require.NoError(tb, syscall.Getrusage(syscall.RUSAGE_SELF, &ru))
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// brokerCPU returns the CPU time t's process has used so far, and false
// when t runs in this process (its time is then in ownCPU's).
func brokerCPU(tb testing.TB, t *target.Target) (time.Duration, bool) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	d, ok, err := t.CPU(ctx)
	require.NoError(tb, err)
	return d, ok
}
