package template_test

import (
	"bytes"
	"context"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/kspring/kspring/template"
	"github.com/kspring/kspring/testkit"
)

// BenchmarkSend compares Template.Send with a raw sarama AsyncProducer in one
// run, against the bundled broker (in the same process), with 100-byte
// values, null keys and the same sarama config. An op is a record sent and
// acknowledged: the timer covers the wait for the last acknowledgement, which
// is why the loop is over b.N and not b.Loop (whose timer stops when the loop
// ends). Besides wall time it reports cpu-ns/op, the process's CPU time per
// record (producer and broker), which is steadier than wall time on a busy
// machine.
//
//	go test -run '^$' -bench BenchmarkSend -benchtime 100000x -count 10 ./template/ | tee new.txt
//	benchstat -col /impl new.txt
//
// Latest figures, 2026-11-25 20:30, load average below 1, after the untimed
// warm-up was added: the command above, 10 runs: template 3.05 us and
// 5.39 us CPU per record, sarama 2.88 us and 4.85 us, so 1.06x sarama's
// time (5.6% less throughput) and 1.11x its CPU; each arm in a process of
// its own (10 each): 1.02x the time (not significant) and 1.09x the CPU.
// Without the warm-up the arm that runs first, the template, also paid for
// the process warming up: 1.09-1.11x in the same hour.
//
// Figures on a 2-core VM shared with another engineer's builds and
// benchmarks, 2026-11-25 evening, before the warm-up. The command above, 3 runs (30 samples an
// arm, the arms one after the other in each process): template 3.12 us and
// 5.42 us CPU per record, sarama 3.15 us and 5.30 us, so 1.00x sarama's time
// and 1.02x its CPU; in a busier session (load average 2.4) 3.68 us against
// 3.57 us, 1.03x (1.05x the CPU). The old code, in the same sessions: 1.10x
// and 1.15x. The order of the arms matters a little: with processes that
// each run both arms once, alternated with the old code's (5 sessions of 20
// to 40 processes, load average below 2), the medians of the per-process
// ratios were 1.03-1.10x the time and 1.09-1.14x the CPU, against 1.16-1.21x
// for the old code; with each arm in a process of its own (12 each), 1.04x
// and 1.08x. When the machine is crowded (load average above 2, the process
// getting less than a core) both slow down and the template more: 1.28x,
// against 1.36x for the old code. Earlier, on a quiet machine, the old code
// had measured 1.13x, and before the send-path work of the afternoon
// 1.24-1.28x. 3 allocations (~830 B) against 4 (~795 B) per record.
//
// What the evening's changes took away, measured by alternated processes:
// the drainer reading Successes with a plain receive, on a goroutine of its
// own, rather than a three-way select per record (about 5 points of the
// ratio); in-flight records allocated in slabs and reused first in, first out,
// so Sends walk memory in address order (about 5 points: a recycled record
// was a cache miss in Send, which in address order the prefetcher seems to
// hide; first in, first out without slabs gained nothing); a quiet success
// completed with one compare-and-swap, and no second truncation of the
// timestamp (about 3 points). The template's extra now is the Future (192
// bytes) and completing it on the drainer, the in-flight record's
// bookkeeping (buffer budget, the list for Flush, Close and delivery
// timeouts; released in batches), and a costlier wait for the producer's
// input channel (a select with the pulse channel, for max-block-ms and
// Close). It touches more memory per record than raw sarama (a 192-byte
// Future and a 256-byte in-flight record against a 160-byte message), so the
// ratio grows when other processes crowd the shared cache.
func BenchmarkSend(b *testing.B) {
	const topic = "bench"
	br := testkit.NewBroker(b, testkit.WithTopic(topic, 4, nil))
	addrs := []string{br.Addr()}
	value := bytes.Repeat([]byte("v"), 100)
	cfg := template.Config{}
	// The arm that runs first would otherwise also pay for the process's
	// warm-up (the heap growing to its working size, the broker's first
	// segment): send through sarama, untimed, first.
	warmUp(b, addrs, topic, value, cfg)

	b.Run("impl=template", func(b *testing.B) {
		// The default listener logs failures; count them from its log. (A
		// listener of our own would make every success run user code.)
		logs, failures := observer.New(zap.ErrorLevel)
		sc, err := cfg.Sarama()
		require.NoError(b, err)
		client, err := sarama.NewClient(addrs, sc)
		require.NoError(b, err)
		tp, err := template.New[[]byte, []byte](client, template.WithConfig(cfg), template.WithLogger(zap.New(logs)))
		require.NoError(b, err)
		ctx := context.Background()
		b.ReportAllocs()
		b.SetBytes(int64(len(value)))
		cpu := startCPU(b, sc)
		for range b.N {
			tp.Send(ctx, topic, value)
		}
		require.NoError(b, tp.Flush(ctx))
		cpu.stop()
		require.NoError(b, tp.Close(ctx))
		require.NoError(b, client.Close())
		require.Zero(b, failures.Len())
	})

	b.Run("impl=sarama", func(b *testing.B) {
		sc, err := cfg.Sarama()
		require.NoError(b, err)
		p, err := sarama.NewAsyncProducer(addrs, sc)
		require.NoError(b, err)
		var acked, failed atomic.Int64
		target := int64(b.N)
		all := make(chan struct{})
		drained := make(chan struct{})
		go func() {
			defer close(drained)
			successes, errs := p.Successes(), p.Errors()
			for successes != nil || errs != nil {
				select {
				case _, ok := <-successes:
					if !ok {
						successes = nil
						continue
					}
					acked.Add(1)
				case _, ok := <-errs:
					if !ok {
						errs = nil
						continue
					}
					failed.Add(1)
				}
				if acked.Load()+failed.Load() == target {
					close(all)
				}
			}
		}()
		b.ReportAllocs()
		b.SetBytes(int64(len(value)))
		cpu := startCPU(b, sc)
		for range b.N {
			p.Input() <- &sarama.ProducerMessage{Topic: topic, Value: sarama.ByteEncoder(value)}
		}
		<-all
		cpu.stop()
		p.AsyncClose()
		<-drained
		require.Zero(b, failed.Load())
	})
}

// warmUp sends 100 000 records through a sarama AsyncProducer and waits
// for every acknowledgement.
func warmUp(b *testing.B, addrs []string, topic string, value []byte, cfg template.Config) {
	b.Helper()
	sc, err := cfg.Sarama()
	require.NoError(b, err)
	p, err := sarama.NewAsyncProducer(addrs, sc)
	require.NoError(b, err)
	const n = 100_000
	failed := make(chan int, 1)
	go func() {
		var acked, errs int
		for acked+errs < n {
			select {
			case <-p.Successes():
				acked++
			case <-p.Errors():
				errs++
			}
		}
		failed <- errs
	}()
	for range n {
		p.Input() <- &sarama.ProducerMessage{Topic: topic, Value: sarama.ByteEncoder(value)}
	}
	require.Zero(b, <-failed)
	require.NoError(b, p.Close())
}

// cpuMeter resets the benchmark timer and, at stop, stops it and reports the
// process's CPU time per op and the records per request sarama sent (larger
// batches cost the producer and the broker less per record).
type cpuMeter struct {
	b        *testing.B
	start    time.Duration
	sc       *sarama.Config
	requests int64
}

func startCPU(b *testing.B, sc *sarama.Config) cpuMeter {
	b.ResetTimer()
	return cpuMeter{b: b, start: processCPU(b), sc: sc, requests: requests(sc)}
}

func (m cpuMeter) stop() {
	m.b.StopTimer()
	m.b.ReportMetric(float64((processCPU(m.b)-m.start).Nanoseconds())/float64(m.b.N), "cpu-ns/op")
	if n := requests(m.sc) - m.requests; n > 0 {
		m.b.ReportMetric(float64(m.b.N)/float64(n), "recs/req")
	}
}

// requests is how many requests sarama has sent with config sc.
func requests(sc *sarama.Config) int64 {
	if m, ok := sc.MetricRegistry.Get("request-rate").(interface{ Count() int64 }); ok {
		return m.Count()
	}
	return 0
}

func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	require.NoError(b, syscall.Getrusage(syscall.RUSAGE_SELF, &ru))
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
