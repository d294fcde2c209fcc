package log

import (
	"bytes"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kspring/kspring/broker/internal/batch"
)

// TestReadChunksAgreeWithAGreedyWalk checks ReadChunks (through Read) against
// the plain rule it implements: from the batch holding offset, whole
// batches in order while they fit in maxBytes and end below maxOffset, the
// first one regardless of size. Batches of random sizes span many segments
// and offset-index entries, so the limits fall everywhere: inside a
// segment, on its edges, between index entries and on them, and (with
// small index pages) on the pages' edges.
func TestReadChunksAgreeWithAGreedyWalk(t *testing.T) {
	t.Run("pages=4KiB", testReadChunksGreedy)
	t.Run("pages=32B", func(t *testing.T) {
		smallIndexPages(t)
		testReadChunksGreedy(t)
	})
}

func testReadChunksGreedy(t *testing.T) {
	l := openLog(t, t.TempDir(), testConfig())
	rng := rand.New(rand.NewPCG(1, 2))
	for range 300 {
		appendRecords(t, l, 1+rng.IntN(4), 1+rng.IntN(300), t0.UnixMilli())
	}
	end := l.EndOffset()
	all, err := l.Read(0, 1<<30, end)
	require.NoError(t, err)
	var batches [][]byte
	require.NoError(t, batch.Split(all, func(b []byte) error {
		batches = append(batches, b)
		return nil
	}))
	l.mu.RLock()
	segs := len(l.segs)
	l.mu.RUnlock()
	require.Greater(t, segs, 10)

	want := func(offset int64, maxBytes int, maxOffset int64) []byte {
		var out []byte
		for _, b := range batches {
			h, _ := batch.ParseHeader(b)
			if h.LastOffset() < offset {
				continue
			}
			if h.LastOffset() >= maxOffset || (out != nil && len(out)+len(b) > maxBytes) {
				break
			}
			out = append(out, b...)
		}
		return out
	}
	for range 2000 {
		offset := rng.Int64N(end)
		maxOffset := offset + 1 + rng.Int64N(end-offset)
		maxBytes := rng.IntN(6000)
		got, err := l.Read(offset, maxBytes, maxOffset)
		require.NoError(t, err)
		require.True(t, bytes.Equal(want(offset, maxBytes, maxOffset), got),
			"Read(%d, %d, %d): %d bytes", offset, maxBytes, maxOffset, len(got))
	}
}

// TestChunkOutlivesItsSegment checks that a chunk still reads the bytes it
// was taken for after retention deleted its segment and after the log
// closed, and that the file closes with the last reference.
func TestChunkOutlivesItsSegment(t *testing.T) {
	cfg := testConfig()
	cfg.RetentionMs = time.Hour
	l := openLog(t, t.TempDir(), cfg)
	fillSegments(t, l, 4)
	l.mu.RLock()
	first := l.segs[0]
	l.mu.RUnlock()

	want, err := l.Read(0, int(first.size), first.next)
	require.NoError(t, err)
	chunks, err := l.ReadChunks(nil, 0, int(first.size), first.next)
	require.NoError(t, err)
	require.Len(t, chunks, 1)
	again, err := l.ReadChunks(nil, 0, 1, first.next)
	require.NoError(t, err)

	// Retention removes every segment but the active one.
	require.NoError(t, l.Maintain(time.Now().Add(24*time.Hour)))
	require.Positive(t, l.StartOffset())
	_, err = os.Stat(first.logPath)
	require.ErrorIs(t, err, os.ErrNotExist)

	got, err := chunks[0].AppendTo(nil)
	require.NoError(t, err)
	require.Equal(t, want, got)
	ReleaseChunks(chunks)

	require.NoError(t, l.Close())
	f, _, _ := again[0].File()
	_, err = f.Stat()
	require.NoError(t, err, "a held chunk keeps its file open")
	again[0].Release()
	_, err = f.Stat()
	require.ErrorIs(t, err, os.ErrClosed, "the last release closes the file")
}
