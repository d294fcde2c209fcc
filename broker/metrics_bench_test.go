package broker_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kspring/kspring/broker"
)

// BenchmarkProduceMetrics compares produce throughput with the Prometheus
// metrics served (and the endpoint scraped by nobody) against none, in one
// run: franz-go producing 1 KiB records, acks=1, to one partition.
//
//	go test -run '^$' -bench BenchmarkProduceMetrics -count 6 ./broker/ | benchstat -col /metrics -
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
			select {
			case err := <-errs:
				b.Fatal(err)
			default:
			}
		})
	}
}
