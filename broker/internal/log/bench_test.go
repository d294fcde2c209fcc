package log

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

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
// exercises the index lookup). With segments of 64 MiB the log is one
// active segment, its indexes in memory; with 4 MiB most reads hit
// inactive segments, whose indexes are paged from their files.
func BenchmarkRead(b *testing.B) {
	for _, segMiB := range []int64{64, 4} {
		b.Run(fmt.Sprintf("segment=%dMiB", segMiB), func(b *testing.B) {
			cfg := benchConfig()
			cfg.SegmentBytes = segMiB << 20
			benchRead(b, cfg)
		})
	}
}

func benchRead(b *testing.B, cfg Config) {
	l, err := Open(b.TempDir(), cfg, nil)
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

// BenchmarkCompact cleans a log of 8 MiB of 100 B random values over
// 10,000 keys (about 70,000 records, so most are superseded), in batches of
// 100, in
// 1 MiB segments: a full clean (everything dirty, as after a policy
// change or the first clean) and an incremental one (a clean head and a
// dirty tail of 10% more updates), uncompressed and zstd. Each op copies a
// prepared directory and opens it outside the timer, then times Compact.
// Bytes/op is the log's size before the clean.
func BenchmarkCompact(b *testing.B) {
	for _, codec := range []batch.Codec{batch.None, batch.Zstd} {
		for _, incremental := range []bool{false, true} {
			name := fmt.Sprintf("codec=%v/full", codec)
			if incremental {
				name = fmt.Sprintf("codec=%v/incremental", codec)
			}
			b.Run(name, func(b *testing.B) {
				cfg := benchConfig()
				cfg.SegmentBytes = 1 << 20
				cfg.CleanupPolicy = "compact"
				cfg.MinCleanableDirtyRatio = 0
				template := b.TempDir()
				size := compactTemplate(b, template, cfg, codec, incremental)
				b.SetBytes(size)
				b.ReportAllocs()
				for b.Loop() {
					b.StopTimer()
					dir := filepath.Join(b.TempDir(), "log")
					copyDir(b, template, dir)
					l, err := Open(dir, cfg, nil)
					if err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
					st, err := l.Compact(t0.Add(time.Minute))
					if err != nil || !st.Cleaned {
						b.Fatalf("compact: %+v %v", st, err)
					}
					b.StopTimer()
					if err := l.Close(); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
				}
			})
		}
	}
}

// compactTemplate writes the benchmark's log into dir and returns its size.
func compactTemplate(b *testing.B, dir string, cfg Config, codec batch.Codec, incremental bool) int64 {
	b.Helper()
	l, err := Open(dir, cfg, nil)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	write := func(bytes int64) {
		recs := make([]batch.Record, 100)
		for start := l.Size(); l.Size()-start < bytes; {
			for i := range recs {
				value := make([]byte, 100) // random: the codec cannot shrink it
				for j := range value {
					value[j] = byte(rng.Uint32())
				}
				recs[i] = batch.Record{TimestampDelta: int64(i), Key: fmt.Appendf(nil, "key-%05d", rng.IntN(10000)), Value: value}
			}
			if _, err := l.Append(batch.Build(nil, 0, t0.UnixMilli(), recs, batch.WithCompression(codec)), 0, t0); err != nil {
				b.Fatal(err)
			}
		}
	}
	write(8 << 20)
	if incremental {
		if _, err := l.Compact(t0.Add(time.Minute)); err != nil {
			b.Fatal(err)
		}
		write(l.Size() / 10)
	}
	l.mu.Lock()
	err = l.roll("benchmark")
	l.mu.Unlock()
	if err != nil {
		b.Fatal(err)
	}
	size := l.Size()
	if err := l.Close(); err != nil {
		b.Fatal(err)
	}
	return size
}

// copyDir copies the files of src into a new directory dst.
func copyDir(b *testing.B, src, dst string) {
	b.Helper()
	if err := os.MkdirAll(dst, 0o755); err != nil {
		b.Fatal(err)
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		b.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err == nil {
			err = os.WriteFile(filepath.Join(dst, e.Name()), data, 0o644)
		}
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppendProducer appends batches of 100 records of 100 B from one
// producer: idempotent, against transactional with one transaction per
// batch (the batch and its commit marker, as a transactional producer
// committing every 100 records writes them), in the same run. Each op
// builds its batch (the sequence is under the CRC), in both modes alike.
// Bytes/op counts the data batch only. read_committed's LastStableOffset is read
// once per op, as a fetch would.
func BenchmarkAppendProducer(b *testing.B) {
	for _, mode := range []string{"idempotent", "transactional"} {
		b.Run(mode, func(b *testing.B) {
			l, err := Open(b.TempDir(), benchConfig(), nil)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = l.Close() })
			txn := mode == "transactional"
			recs := records(0, 100, 100)
			build := func(buf []byte, seq int32) []byte {
				opts := []batch.BuildOption{batch.WithProducer(1, 0, seq)}
				if txn {
					opts = append(opts, batch.WithTransactional())
				}
				return batch.Build(buf[:0], 0, t0.UnixMilli(), recs, opts...)
			}
			data := build(nil, 0)
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			var seq int32
			for b.Loop() {
				// Both modes build their batch (its sequence is under
				// the CRC): the same cost on each side.
				data = build(data, seq)
				seq += 100
				if _, err := l.Append(data, 0, t0); err != nil {
					b.Fatal(err)
				}
				if txn {
					if _, err := l.AppendMarker(Marker{ProducerID: 1, Commit: true}, 0, t0); err != nil {
						b.Fatal(err)
					}
				}
				_ = l.LastStableOffset(l.EndOffset())
			}
		})
	}
}
