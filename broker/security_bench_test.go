package broker_test

import (
	"context"
	"crypto/rand"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kspring/kspring/testkit"
)

// BenchmarkProduceSecurity compares produce throughput over PLAINTEXT, SSL
// and SASL_SSL (SCRAM-SHA-512) listeners of the same broker build, in one
// run: franz-go, 100-byte records, acks=all, batches as the client makes
// them, uncompressed random values. Reports records/s.
//
//	go test -run XXX -bench ProduceSecurity -benchtime 200000x ./broker/
func BenchmarkProduceSecurity(b *testing.B) {
	user := testkit.User{Name: "bench", Password: "bench-secret"}
	for _, tc := range []struct {
		name string
		opts []testkit.Option
	}{
		{"PLAINTEXT", nil},
		{"SSL", []testkit.Option{testkit.WithTLS()}},
		{"SASL_SSL", []testkit.Option{testkit.WithTLS(), testkit.WithSASL(testkit.SCRAMSHA512, user)}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			brk := testkit.NewBroker(b, append(tc.opts, testkit.WithTopic("bench", 1, nil))...)
			cl := newKgo(b, brk.Addr(), append(brk.ClientOpts(user), kgo.DefaultProduceTopic("bench"),
				kgo.ProducerLinger(0), kgo.MaxBufferedRecords(1<<16), kgo.ProducerBatchCompression(kgo.NoCompression()))...)
			ctx := context.Background()
			// Connect and authenticate before timing.
			if err := cl.ProduceSync(ctx, kgo.StringRecord("warm-up")).FirstErr(); err != nil {
				b.Fatal(err)
			}
			value := make([]byte, 100)
			_, _ = rand.Read(value)
			var failed atomic.Int64
			b.SetBytes(int64(len(value)))
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			for b.Loop() {
				cl.Produce(ctx, &kgo.Record{Value: value}, func(_ *kgo.Record, err error) {
					if err != nil {
						failed.Add(1)
					}
				})
			}
			if err := cl.Flush(ctx); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "records/s")
			if n := failed.Load(); n > 0 {
				b.Fatalf("%d records failed", n)
			}
		})
	}
}
