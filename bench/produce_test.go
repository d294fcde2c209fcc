package bench

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kspring/kspring/bench/internal/load"
)

// BenchmarkProduce pipelines b.N records through kgo's Produce with a
// callback and a bounded window in flight, and waits for every
// acknowledgement before the timer stops. One op is one record; MB/s counts
// record values; cpu-ns/op is the CPU time of the whole process (client and
// broker) per record.
func BenchmarkProduce(b *testing.B) {
	for _, size := range sizes {
		for _, acks := range []load.Acks{load.AcksLeader, load.AcksAll} {
			for _, name := range targets {
				b.Run(fmt.Sprintf("size=%s/acks=%s/target=%s", size.name, acks, name), func(b *testing.B) {
					benchProduce(b, name, acks, size.bytes)
				})
			}
		}
	}
}

func benchProduce(b *testing.B, name string, acks load.Acks, size int) {
	ctx := benchContext(b)
	t := startTarget(b, name)
	cl, err := load.NewProducer(t.Addr, topic, acks, window)
	require.NoError(b, err)
	b.Cleanup(cl.Close) // runs before the target's Close
	p := load.NewPipeline(cl, window)
	v := value(size)

	// Warm up: connections, metadata and the producer id are not measured.
	require.NoError(b, p.Produce(ctx, &kgo.Record{Value: v}))
	require.NoError(b, p.Flush(ctx))

	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	cpu := startCPU(b, t)
	for range b.N {
		if err := p.Produce(ctx, &kgo.Record{Value: v}); err != nil {
			b.Fatal(err)
		}
	}
	if err := p.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	cpu.report(b)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
	require.Equal(b, int64(b.N)+1, p.Acked())
}
