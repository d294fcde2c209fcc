package log

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kspring/kspring/broker/internal/batch"
)

// kvRecord is a record of a compaction test: its offset once appended,
// timestamp, key (nil: none) and value (nil: a tombstone).
type kvRecord struct {
	offset int64
	ts     int64
	key    []byte
	value  []byte
}

func (r kvRecord) String() string {
	v := "<tombstone>"
	if r.value != nil {
		v = string(r.value)
	}
	return fmt.Sprintf("%d@%d %q=%s", r.offset, r.ts, r.key, v)
}

// compactConfig rolls segments often, cleans whatever is dirty and keeps
// tombstones an hour.
func compactConfig() Config {
	cfg := testConfig()
	cfg.CleanupPolicy = "compact"
	cfg.MinCleanableDirtyRatio = 0
	cfg.DeleteRetentionMs = time.Hour
	return cfg
}

// appendKV appends recs as one batch (its first timestamp the first
// record's) and fills in their offsets.
func appendKV(t testing.TB, l *Log, recs []kvRecord, opts ...batch.BuildOption) []kvRecord {
	t.Helper()
	brs := make([]batch.Record, len(recs))
	for i, r := range recs {
		brs[i] = batch.Record{TimestampDelta: r.ts - recs[0].ts, Key: r.key, Value: r.value}
	}
	res, err := l.Append(batch.Build(nil, 0, recs[0].ts, brs, opts...), 3, time.UnixMilli(recs[0].ts))
	require.NoError(t, err)
	require.False(t, res.Duplicate)
	out := make([]kvRecord, len(recs))
	for i, r := range recs {
		r.offset = res.BaseOffset + int64(i)
		out[i] = r
	}
	return out
}

// kv is a record with a key and value (nil: a tombstone) at ts.
func kv(ts int64, key string, value []byte) kvRecord {
	return kvRecord{ts: ts, key: []byte(key), value: value}
}

// writeKeyed appends n batches of one to four records over keys
// k0..k(keys-1), with values that do not compress to nothing, timestamps
// that rise by about a millisecond per record with some jitter, and
// codecs taken in turn. With tombstones, one record in ten is a
// tombstone. It returns every record written.
func writeKeyed(t testing.TB, l *Log, rng *rand.Rand, n, keys int, codecs []batch.Codec, tombstones bool) []kvRecord {
	t.Helper()
	var all []kvRecord
	ts := t0.UnixMilli()
	for i := range n {
		recs := make([]kvRecord, 1+rng.IntN(4))
		for j := range recs {
			ts++
			k := fmt.Sprintf("k%d", rng.IntN(keys))
			v := fmt.Appendf(nil, "%s=v%d:%x", k, len(all)+j, rng.Uint64())
			if tombstones && rng.IntN(10) == 0 {
				v = nil
			}
			recs[j] = kv(ts+rng.Int64N(5), k, v)
		}
		all = append(all, appendKV(t, l, recs, batch.WithCompression(codecs[i%len(codecs)]))...)
	}
	return all
}

// readKV reads the whole log with fetches of maxBytes, checking every
// batch's CRC and that offsets only grow, and returns its records.
// Compacted batches hold fewer records than offsets, so it does not use
// batch.Validate, which insists on one record per offset.
func readKV(t testing.TB, l *Log, maxBytes int) []kvRecord {
	t.Helper()
	var out []kvRecord
	next, end := l.StartOffset(), l.EndOffset()
	for next < end {
		data, err := l.Read(next, maxBytes, end)
		require.NoError(t, err)
		require.NotEmpty(t, data, "read at %d", next)
		require.NoError(t, batch.Split(data, func(b []byte) error {
			h, err := batch.VerifyChecksum(b)
			require.NoError(t, err)
			require.GreaterOrEqual(t, h.LastOffset(), next, "a batch wholly below the fetch offset")
			err = batch.Records(b, func(r batch.Record) error {
				off := h.BaseOffset + int64(r.OffsetDelta)
				require.LessOrEqual(t, off, h.LastOffset())
				if off >= next {
					ts := h.FirstTimestamp + r.TimestampDelta
					if h.TimestampType() {
						ts = h.MaxTimestamp
					}
					out = append(out, kvRecord{offset: off, ts: ts, key: clone(r.Key), value: clone(r.Value)})
					next = off + 1
				}
				return nil
			})
			next = max(next, h.LastOffset()+1)
			return err
		}))
	}
	return out
}

func clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte{}, b...)
}

// compacted is what compaction up to end keeps of all: every record at or
// after end and, below it, the latest record of each key unless it is a
// tombstone that drop says goes. Records without a key go.
func compacted(all []kvRecord, end int64, drop func(kvRecord) bool) []kvRecord {
	latest := map[string]int64{}
	for _, r := range all {
		if r.offset < end && r.key != nil {
			latest[string(r.key)] = r.offset
		}
	}
	var out []kvRecord
	for _, r := range all {
		switch {
		case r.offset >= end:
		case r.key == nil, latest[string(r.key)] != r.offset:
			continue
		case r.value == nil && drop != nil && drop(r):
			continue
		}
		out = append(out, r)
	}
	return out
}

// requireKV compares records, listing both sides on failure.
func requireKV(t testing.TB, want, got []kvRecord) {
	t.Helper()
	if len(want) == len(got) {
		same := true
		for i := range want {
			if want[i].String() != got[i].String() {
				same = false
				break
			}
		}
		if same {
			return
		}
	}
	require.Failf(t, "records differ", "want %d:\n%s\ngot %d:\n%s", len(want), listKV(want), len(got), listKV(got))
}

func listKV(recs []kvRecord) string {
	var sb strings.Builder
	for _, r := range recs {
		sb.WriteString("  " + r.String() + "\n")
	}
	return sb.String()
}

// requireNoLoss checks that got, a log read after an interrupted clean, is
// made of original records in offset order and still ends every key on the
// value the original ends it on.
func requireNoLoss(t testing.TB, original, got []kvRecord) {
	t.Helper()
	byOffset := map[int64]string{}
	last := map[string]string{}
	for _, r := range original {
		byOffset[r.offset] = r.String()
		last[string(r.key)] = r.String()
	}
	gotLast := map[string]string{}
	prev := int64(-1)
	for _, r := range got {
		require.Greater(t, r.offset, prev, "offsets grow")
		prev = r.offset
		require.Equal(t, byOffset[r.offset], r.String(), "record at %d is the one written there", r.offset)
		gotLast[string(r.key)] = r.String()
	}
	require.Equal(t, last, gotLast, "every key ends on its latest value")
}

// activeBase returns the active segment's base offset: compaction cleans
// below it.
func activeBase(l *Log) int64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.active().base
}

// rollActive closes the active segment for writes, as a size or age roll
// would.
func rollActive(t testing.TB, l *Log) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	require.NoError(t, l.roll("test"))
}

// leftovers lists files an interrupted clean could leave behind.
func leftovers(t testing.TB, dir string) []string {
	t.Helper()
	var out []string
	for _, pattern := range []string{"*" + cleanedSuffix, "*" + swapSuffix, "*" + deletedSuffix} {
		m, err := filepath.Glob(filepath.Join(dir, pattern))
		require.NoError(t, err)
		out = append(out, m...)
	}
	return out
}

// compact runs Compact and requires that it cleaned.
func compact(t testing.TB, l *Log, now time.Time) CleanStats {
	t.Helper()
	st, err := l.Compact(now)
	require.NoError(t, err)
	require.True(t, st.Cleaned, "stats %+v", st)
	return st
}

// requireNotCleaned runs Compact and requires that it found nothing to do.
func requireNotCleaned(t testing.TB, l *Log, now time.Time) {
	t.Helper()
	st, err := l.Compact(now)
	require.NoError(t, err)
	require.Equal(t, CleanStats{}, st)
}

func removeSnapshots(t testing.TB, dir string) {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*"+snapshotExt))
	require.NoError(t, err)
	for _, p := range m {
		require.NoError(t, os.Remove(p))
	}
}
