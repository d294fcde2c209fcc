package log

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/kspring/kspring/broker/internal/batch"
)

func benchConfig() Config {
	cfg := DefaultConfig()
	cfg.SegmentBytes = 64 << 20
	cfg.RetentionBytes = 256 << 20 // bounds the disk a long run uses
	cfg.FileDeleteDelay = 0
	return cfg
}

// BenchmarkAppend appends one producer batch per op: 100 B or 1 KiB
// records, 1 or 100 per batch. The batch is re-patched in place each time,
// as the broker patches a request's buffer.
func BenchmarkAppend(b *testing.B) {
	for _, size := range []int{100, 1024} {
		for _, n := range []int{1, 100} {
			b.Run(fmt.Sprintf("record=%dB/records=%d", size, n), func(b *testing.B) {
				l, err := Open(b.TempDir(), benchConfig(), nil)
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { _ = l.Close() })
				data := batch.Build(nil, 0, t0.UnixMilli(), records(0, n, size))
				b.SetBytes(int64(len(data)))
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					if _, err := l.Append(data, 0, t0); err != nil {
						b.Fatal(err)
					}
					if i++; i%4096 == 0 {
						if err := l.Maintain(t0); err != nil {
							b.Fatal(err)
						}
					}
				}
			})
		}
	}
}

// BenchmarkRead fetches from a 32 MiB log of 1 KiB records in batches of
// ten: a consumer reading sequentially with 1 MiB fetches, and random
// fetches of 64 KiB (a consumer catching up from an arbitrary offset, which
// exercises the index lookup).
func BenchmarkRead(b *testing.B) {
	l, err := Open(b.TempDir(), benchConfig(), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = l.Close() })
	for l.Size() < 32<<20 {
		data := batch.Build(nil, 0, t0.UnixMilli(), records(0, 10, 1024))
		if _, err := l.Append(data, 0, t0); err != nil {
			b.Fatal(err)
		}
	}
	end := l.EndOffset()

	b.Run("sequential/maxBytes=1MiB", func(b *testing.B) {
		b.ReportAllocs()
		var next, total int64
		for b.Loop() {
			data, err := l.Read(next, 1<<20, end)
			if err != nil {
				b.Fatal(err)
			}
			total += int64(len(data))
			h, _ := batch.ParseHeader(data[len(data)-lastBatchSize(data):])
			next = h.LastOffset() + 1
			if next >= end {
				next = 0
			}
		}
		b.SetBytes(total / int64(b.N))
	})
	b.Run("random/maxBytes=64KiB", func(b *testing.B) {
		b.ReportAllocs()
		rng := rand.New(rand.NewPCG(1, 1))
		var total int64
		for b.Loop() {
			data, err := l.Read(rng.Int64N(end), 64<<10, end)
			if err != nil {
				b.Fatal(err)
			}
			total += int64(len(data))
		}
		b.SetBytes(total / int64(b.N))
	})
}

// lastBatchSize returns the size of the last batch in data.
func lastBatchSize(data []byte) int {
	size := 0
	_ = batch.Split(data, func(b []byte) error { size = len(b); return nil })
	return size
}
