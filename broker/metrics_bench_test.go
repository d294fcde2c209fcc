package broker_test

import (
	"bytes"
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kspring/kspring/broker"
)

// BenchmarkProduceMetrics compares produce throughput with the Prometheus
// metrics served (and the endpoint scraped by nobody) against none, in one
// run: franz-go producing 1 KiB records, acks=1, to one partition. Besides
// wall time it reports cpu-ns/op, the process's CPU time (client and
// broker) per record, steadier on a shared machine.
//
//	for i in 1 2 3 4 5 6; do go test -run '^$' -bench 'BenchmarkProduceMetrics|BenchmarkFetchMetrics' -benchtime 50000x ./broker/; done | benchstat -col /metrics -
func BenchmarkProduceMetrics(b *testing.B) {
	for _, tc := range []struct {
		name string
		opt  func(*broker.Config)
	}{
		{"metrics=off", func(*broker.Config) {}},
		{"metrics=on", withMetrics},
	} {
		b.Run(tc.name, func(b *testing.B) {
			br := startLogged(b, testConfig(b, tc.opt), 10) // logs off
			createTopic(b, br.Addr(), "bench", 1, nil)
			cl := newKgo(b, br.Addr(), kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite(),
				kgo.ProducerLinger(0), kgo.DefaultProduceTopic("bench"))
			value := bytes.Repeat([]byte("x"), 1024)
			ctx := context.Background()
			errs := make(chan error, 1)
			b.SetBytes(int64(len(value)))
			b.ReportAllocs()
			cpu := processCPU(b)
			for b.Loop() {
				cl.Produce(ctx, &kgo.Record{Value: value}, func(_ *kgo.Record, err error) {
					if err != nil {
						select {
						case errs <- err:
						default:
						}
					}
				})
			}
			require.NoError(b, cl.Flush(ctx))
			b.ReportMetric(float64(processCPU(b)-cpu)/float64(b.N), "cpu-ns/op")
			select {
			case err := <-errs:
				b.Fatal(err)
			default:
			}
		})
	}
}

// BenchmarkFetchMetrics compares consuming (franz-go, from the start of a
// partition of 1 KiB records) with the metrics on and off, in one run.
func BenchmarkFetchMetrics(b *testing.B) {
	for _, tc := range []struct {
		name string
		opt  func(*broker.Config)
	}{
		{"metrics=off", func(*broker.Config) {}},
		{"metrics=on", withMetrics},
	} {
		b.Run(tc.name, func(b *testing.B) {
			br := startLogged(b, testConfig(b, tc.opt), 10) // logs off
			createTopic(b, br.Addr(), "bench", 1, nil)
			p := newKgo(b, br.Addr(), kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite(),
				kgo.DefaultProduceTopic("bench"))
			value := bytes.Repeat([]byte("x"), 1024)
			ctx := context.Background()
			for range b.N {
				p.Produce(ctx, &kgo.Record{Value: value}, nil)
			}
			require.NoError(b, p.Flush(ctx))
			c := newKgo(b, br.Addr(), kgo.ConsumeTopics("bench"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
				kgo.FetchMaxWait(100*time.Millisecond))
			b.SetBytes(int64(len(value)))
			b.ReportAllocs()
			b.ResetTimer()
			cpu := processCPU(b)
			for n := 0; n < b.N; {
				fs := c.PollFetches(ctx)
				if err := fs.Err(); err != nil {
					b.Fatal(err)
				}
				n += fs.NumRecords()
			}
			b.StopTimer()
			b.ReportMetric(float64(processCPU(b)-cpu)/float64(b.N), "cpu-ns/op")
		})
	}
}

// processCPU is the process's CPU time so far.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	require.NoError(b, syscall.Getrusage(syscall.RUSAGE_SELF, &ru))
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
