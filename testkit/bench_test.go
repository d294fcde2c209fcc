package testkit_test

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kspring/kspring/testkit"
)

// BenchmarkFirstRoundTrip measures what a test pays before its first
// assertion: from NewBroker to one record produced and consumed back, on a
// new broker each time (its close is not counted). "direct" reads the
// partition without a group (ConsumeN); "group" consumes through a consumer
// group, which also creates __consumer_offsets and runs the first join, as a
// listener test does.
//
//	go test -run '^$' -bench FirstRoundTrip -benchtime 50x ./testkit/
func BenchmarkFirstRoundTrip(b *testing.B) {
	if testkit.External() {
		b.Skip("measures the embedded broker")
	}
	b.Run("direct", func(b *testing.B) {
		roundTrips(b, func(t testing.TB, addr string) {
			testkit.ConsumeN(t, addr, "bench", 1, testkit.WaitTimeout)
		})
	})
	b.Run("group", func(b *testing.B) {
		roundTrips(b, func(t testing.TB, addr string) {
			consumeInGroup(t, addr, "bench", "bench-group")
		})
	})
}

func roundTrips(b *testing.B, consume func(t testing.TB, addr string)) {
	b.ReportAllocs()
	var cpu time.Duration
	for b.Loop() {
		ft := run(b, func(t testing.TB) {
			start := cpuTime(t)
			br := testkit.NewBroker(t, testkit.WithTopic("bench", 1, nil))
			testkit.Produce(t, br.Addr(), "bench", testkit.KeyValue("k", "v"))
			consume(t, br.Addr())
			b.StopTimer() // the broker's close (in run's cleanups) is not counted
			cpu += cpuTime(t) - start
		})
		b.StartTimer()
		if ft.Failed() {
			b.Fatalf("round trip failed: %v", ft.failures)
		}
	}
	// The CPU time of the whole process (broker and clients) per round
	// trip: steadier than wall time on a shared machine, and blind to
	// fsync waits, which wall time shows.
	b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/op")
}

func cpuTime(t testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatalf("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func consumeInGroup(t testing.TB, addr, topic, group string) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for n := 0; n < 1; {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("consume in group: %v", err)
		}
		n += fs.NumRecords()
	}
}

// BenchmarkClusterStart measures NewCluster with three brokers: from the
// call to every broker registered, unfenced and serving, and a replicated
// topic's first record produced and read back (the cluster's close is not
// counted).
//
//	go test -run '^$' -bench ClusterStart -benchtime 20x ./testkit/
func BenchmarkClusterStart(b *testing.B) {
	if testkit.External() {
		b.Skip("measures the embedded broker")
	}
	b.Run("ready", func(b *testing.B) { clusterStarts(b, false) })
	b.Run("first-round-trip", func(b *testing.B) { clusterStarts(b, true) })
}

func clusterStarts(b *testing.B, roundTrip bool) {
	b.ReportAllocs()
	for b.Loop() {
		ft := run(b, func(t testing.TB) {
			c := testkit.NewCluster(t, testkit.Brokers(3))
			if roundTrip {
				c.CreateTopic(t, "bench", 1, nil)
				testkit.Produce(t, c.Bootstrap(), "bench", testkit.KeyValue("k", "v"))
				testkit.ConsumeN(t, c.Bootstrap(), "bench", 1, testkit.WaitTimeout)
			}
			b.StopTimer()
		})
		b.StartTimer()
		if ft.Failed() {
			b.Fatalf("cluster start failed: %v", ft.failures)
		}
	}
}
