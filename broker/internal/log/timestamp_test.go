package log

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kspring/kspring/broker/internal/batch"
)

type tsRecord struct{ offset, ts int64 }

// appendJumbled writes batches whose record timestamps go up and down, some
// compressed, and returns every record's offset and timestamp.
func appendJumbled(t *testing.T, l *Log, batches int) []tsRecord {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	codecs := []batch.Codec{batch.None, batch.Gzip, batch.Zstd, batch.LZ4, batch.Snappy}
	var all []tsRecord
	base := t0.UnixMilli()
	for i := range batches {
		n := 1 + rng.IntN(5)
		recs := make([]batch.Record, n)
		first := base + int64(i)*100 + rng.Int64N(300) - 150
		for j := range recs {
			recs[j] = batch.Record{TimestampDelta: rng.Int64N(200), Value: make([]byte, 40)}
		}
		b := batch.Build(nil, 0, first, recs, batch.WithCompression(codecs[i%len(codecs)]))
		res, err := l.Append(b, 3, t0)
		require.NoError(t, err)
		for j, r := range recs {
			all = append(all, tsRecord{res.BaseOffset + int64(j), first + r.TimestampDelta})
		}
	}
	return all
}

func expectOffsetForTimestamp(all []tsRecord, start, ts int64) (int64, int64, bool) {
	for _, r := range all {
		if r.offset >= start && r.ts >= ts {
			return r.offset, r.ts, true
		}
	}
	return -1, -1, false
}

func expectMaxTimestamp(all []tsRecord) (int64, int64) {
	best := tsRecord{-1, -1}
	for _, r := range all {
		if r.ts > best.ts {
			best = r
		}
	}
	return best.ts, best.offset
}

func requireTimestampsAnswer(t *testing.T, l *Log, all []tsRecord) {
	t.Helper()
	start := l.StartOffset()
	lo, hi := all[0].ts-500, all[len(all)-1].ts+500
	for ts := lo; ts <= hi; ts += 37 {
		wantOff, wantTS, wantFound := expectOffsetForTimestamp(all, start, ts)
		off, got, found := l.OffsetForTimestamp(ts)
		require.Equal(t, wantFound, found, "ts %d", ts)
		if wantFound {
			require.Equal(t, [2]int64{wantOff, wantTS}, [2]int64{off, got}, "ts %d", ts)
		}
	}
	wantTS, wantOff := expectMaxTimestamp(all)
	ts, off := l.MaxTimestamp()
	require.Equal(t, [2]int64{wantTS, wantOff}, [2]int64{ts, off})
}

func TestOffsetForTimestampAndMaxTimestamp(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, testConfig())
	all := appendJumbled(t, l, 150)
	require.Greater(t, len(segmentFiles(t, dir)), 4)
	requireTimestampsAnswer(t, l, all)

	require.NoError(t, l.Close())
	l = openLog(t, dir, testConfig())
	requireTimestampsAnswer(t, l, all)

	crash(t, l)
	l = openLog(t, dir, testConfig())
	requireTimestampsAnswer(t, l, all)

	// Records below the log start are never answered.
	_, err := l.DeleteRecords(all[len(all)/2].offset + 1)
	require.NoError(t, err)
	off, _, found := l.OffsetForTimestamp(0)
	require.True(t, found)
	require.Equal(t, l.StartOffset(), off)
}

func TestOffsetForTimestampEmptyLog(t *testing.T) {
	l := openLog(t, t.TempDir(), testConfig())
	_, _, found := l.OffsetForTimestamp(0)
	require.False(t, found)
	appendRecords(t, l, 3, 10, t0.UnixMilli())
	_, _, found = l.OffsetForTimestamp(t0.Add(time.Hour).UnixMilli())
	require.False(t, found)
	off, ts, found := l.OffsetForTimestamp(t0.UnixMilli() + 1)
	require.True(t, found)
	require.Equal(t, [2]int64{1, t0.UnixMilli() + 1}, [2]int64{off, ts})
}
