package bench

import (
	"context"
	"crypto/rand"
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

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// startTarget starts the named broker for one (sub-)benchmark or test and
// closes it when that ends; kspring's log lives in a temporary directory
// that is removed afterwards.
func startTarget(tb testing.TB, name string) *target.Target {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	t, err := target.Start(ctx, name, tb.TempDir(), topic, partitions)
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

// cpuTime returns the CPU time (user + system) this process has used so far:
// client and broker together, since both run in-process. On a shared machine
// it is a steadier measure of the work an op costs than wall time.
func cpuTime(tb testing.TB) time.Duration {
	tb.Helper()
	var ru syscall.Rusage
	require.NoError(tb, syscall.Getrusage(syscall.RUSAGE_SELF, &ru))
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU reports the CPU time per op spent since start (see cpuTime).
func reportCPU(b *testing.B, start time.Duration) {
	b.Helper()
	b.ReportMetric(float64(cpuTime(b)-start)/float64(b.N), "cpu-ns/op")
}
