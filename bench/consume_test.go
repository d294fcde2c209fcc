package bench

import (
	"context"
	"flag"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kspring/kspring/bench/internal/load"
)

var consumeMiB = flag.Int("consume.mib", 64, "MiB of record values BenchmarkConsume pre-produces and reads per op")

// BenchmarkConsume pre-produces -consume.mib MiB of records (idempotent
// producer, acks=all) once per sub-benchmark, then each op consumes all of
// them from the start of every partition with a fresh kgo client. One op is
// the whole topic; MB/s counts record values; records/s is reported too, and
// cpu-ns/op, the CPU time of the whole process (client and broker) per op.
//
// The acks mode only changes how a batch was acknowledged, not the bytes a
// consumer reads, so consume is measured for one mode.
func BenchmarkConsume(b *testing.B) {
	for _, size := range sizes {
		for _, name := range targets {
			b.Run(fmt.Sprintf("size=%s/target=%s", size.name, name), func(b *testing.B) {
				benchRead(b, name, size.bytes, consumeOnce)
			})
		}
	}
}

// BenchmarkFetch is BenchmarkConsume with raw Fetch requests through kgo
// (load.FetchAll): every batch is CRC-checked and stepped over but its
// records are not decoded. kgo's per-record decoding is the same work
// whichever broker sent the batches, and with one consumer on two cores it
// dominates BenchmarkConsume; without it, what is measured is how fast the
// broker serves consumers. Same topic, data, request limits (kgo's
// defaults: 50 MiB per fetch, 1 MiB per partition) and MB/s of values.
func BenchmarkFetch(b *testing.B) {
	for _, size := range sizes {
		for _, name := range targets {
			b.Run(fmt.Sprintf("size=%s/target=%s", size.name, name), func(b *testing.B) {
				benchRead(b, name, size.bytes, fetchOnce)
			})
		}
	}
}

// consumeOnce reads the topic with a kgo consumer and checks it saw n
// records of size bytes.
func consumeOnce(ctx context.Context, addr string, n, size int) error {
	records, bytes, err := load.ConsumeAll(ctx, addr, topic, int64(n), nil)
	if err == nil && (records != int64(n) || bytes != int64(n*size)) {
		err = fmt.Errorf("consumed %d records, %d bytes; want %d, %d", records, bytes, n, n*size)
	}
	return err
}

// fetchOnce reads the topic with raw fetches and checks it saw n records.
func fetchOnce(ctx context.Context, addr string, n, _ int) error {
	records, _, err := load.FetchAll(ctx, addr, topic, int64(n))
	if err == nil && records != int64(n) {
		err = fmt.Errorf("fetched %d records, want %d", records, n)
	}
	return err
}

// benchRead pre-produces -consume.mib MiB of size-byte records to the
// named target once, then reads all of them with read in every op.
func benchRead(b *testing.B, name string, size int, read func(ctx context.Context, addr string, n, size int) error) {
	ctx := benchContext(b)
	t := startTarget(b, name)
	n := max(1, *consumeMiB<<20/size)
	require.NoError(b, load.Fill(ctx, t.Addr, topic, load.AcksAll, n, value(size)))

	b.SetBytes(int64(n * size))
	b.ReportAllocs()
	cpu := startCPU(b, t)
	for b.Loop() {
		if err := read(ctx, t.Addr, n, size); err != nil {
			b.Fatal(err)
		}
	}
	cpu.report(b)
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
