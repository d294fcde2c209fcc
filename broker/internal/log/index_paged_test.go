package log

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kspring/kspring/broker/internal/batch"
)

// smallIndexPages makes index pages hold a few entries, so that tests with
// small segments page across many pages, until the test ends. Call it
// before opening logs: a log's segments keep the page size they were
// paged with.
func smallIndexPages(t *testing.T) {
	t.Helper()
	old := indexPageBytes
	indexPageBytes = 32 // 4 offset entries, 2 time entries
	t.Cleanup(func() { indexPageBytes = old })
}

// TestPagedIndexAgreesWithMemory checks a paged lookup against the same
// search over the entries in memory, for indexes of every fill of their
// last page and every cut point.
func TestPagedIndexAgreesWithMemory(t *testing.T) {
	smallIndexPages(t)
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{0, 1, 3, 4, 5, 8, 9, 33} {
		entries := make([]offsetEntry, n)
		var rel, pos uint32
		for i := range entries {
			rel += 1 + rng.Uint32N(50)
			pos += 1 + rng.Uint32N(5000)
			entries[i] = offsetEntry{rel: rel, pos: pos}
		}
		path := filepath.Join(t.TempDir(), "index")
		require.NoError(t, os.WriteFile(path, encodeOffsets(entries), 0o644))
		f, err := os.Open(path)
		require.NoError(t, err)
		t.Cleanup(func() { _ = f.Close() })
		p := pageIndex(f, entries, offsetEntrySize, decodeOffset)
		require.Len(t, p.firsts, (n+3)/4)

		for cut := uint32(0); cut <= rel+1; cut++ {
			beyond := func(e offsetEntry) bool { return e.rel > cut }
			want, wantOK := lastIn(entries, beyond)
			got, ok, err := p.last(beyond)
			require.NoError(t, err)
			require.Equal(t, wantOK, ok, "n %d cut %d", n, cut)
			require.Equal(t, want, got, "n %d cut %d", n, cut)
		}
	}
}

// TestPagedIndexFileChanged checks that a paged index whose file was cut
// or rewritten underneath answers an error, not a wrong entry or a panic.
func TestPagedIndexFileChanged(t *testing.T) {
	smallIndexPages(t)
	entries := []offsetEntry{{1, 10}, {2, 20}, {3, 30}, {4, 40}, {5, 50}, {6, 60}}
	path := filepath.Join(t.TempDir(), "index")
	require.NoError(t, os.WriteFile(path, encodeOffsets(entries), 0o644))
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	require.NoError(t, err)
	t.Cleanup(func() { _ = f.Close() })
	p := pageIndex(f, entries, offsetEntrySize, decodeOffset)
	beyond := func(e offsetEntry) bool { return e.rel > 5 }

	require.NoError(t, f.Truncate(5*offsetEntrySize))
	_, _, err = p.last(beyond)
	require.ErrorContains(t, err, "unexpected EOF")

	require.NoError(t, f.Truncate(0))
	_, err = f.WriteAt(encodeOffsets([]offsetEntry{{1, 10}, {2, 20}, {3, 30}, {4, 40}, {9, 90}, {10, 100}}), 0)
	require.NoError(t, err)
	_, _, err = p.last(beyond)
	require.ErrorIs(t, err, errBadIndex)
}

// requirePaged checks that every segment but the active one answers from
// its paged files and keeps no entries in memory, and that the active one
// keeps all of its own.
func requirePaged(t *testing.T, l *Log) {
	t.Helper()
	l.mu.RLock()
	defer l.mu.RUnlock()
	require.Greater(t, len(l.segs), 3)
	for i, s := range l.segs {
		if i == len(l.segs)-1 {
			require.Nil(t, s.pagedOff, "active segment %d paged", s.base)
			continue
		}
		require.NotNil(t, s.pagedOff, "segment %d not paged", s.base)
		require.NotNil(t, s.pagedTime, "segment %d not paged", s.base)
		require.Nil(t, s.offsets, "segment %d keeps its offset index in memory", s.base)
		require.Nil(t, s.times, "segment %d keeps its time index in memory", s.base)
		require.Greater(t, s.pagedOff.n, s.pagedOff.perPage, "segment %d has a single page", s.base)
	}
}

// TestPagedSegmentsAnswer runs reads and timestamp lookups on a log whose
// inactive segments span many index pages: after rolls, after a clean
// reopen (indexes loaded, then paged), after a crash (indexes rebuilt,
// then paged) and after compaction swapped segments in.
func TestPagedSegmentsAnswer(t *testing.T) {
	smallIndexPages(t)
	dir := t.TempDir()
	cfg := testConfig()
	cfg.IndexIntervalBytes = 64
	l := openLog(t, dir, cfg)
	all := appendJumbled(t, l, 150)

	check := func(l *Log) {
		t.Helper()
		requirePaged(t, l)
		requireTimestampsAnswer(t, l, all)
		recs := readAll(t, l, 1000)
		require.Len(t, recs, len(all))
		for i, r := range recs {
			require.Equal(t, all[i].offset, r.offset)
		}
		for _, r := range all {
			got, err := l.Read(r.offset, 1, l.EndOffset())
			require.NoError(t, err)
			require.NotEmpty(t, got, "read at %d", r.offset)
		}
	}
	checkThroughRestarts(t, l, dir, cfg, check)
}

// TestPagedSegmentsAfterCompaction checks that segments the cleaner swaps
// in are paged and read back what compaction kept.
func TestPagedSegmentsAfterCompaction(t *testing.T) {
	smallIndexPages(t)
	cfg := compactConfig()
	cfg.IndexIntervalBytes = 64
	l := openLog(t, t.TempDir(), cfg)
	rng := rand.New(rand.NewPCG(5, 6))
	all := writeKeyed(t, l, rng, 600, 400, []batch.Codec{batch.None}, false)
	end := activeBase(l)
	compact(t, l, t0.Add(time.Hour))

	l.mu.RLock()
	for _, s := range l.segs[:len(l.segs)-1] {
		require.NotNil(t, s.pagedOff, "segment %d not paged", s.base)
		require.Nil(t, s.offsets)
	}
	l.mu.RUnlock()
	want := compacted(all, end, nil)
	requireKV(t, want, readKV(t, l, 1<<20))
	requireKV(t, want, readKV(t, l, 1))
}
