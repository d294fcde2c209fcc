package log

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kspring/kspring/broker/internal/batch"
)

// fillSegments appends batches with timestamps one minute apart until the log
// has at least n segments, and returns the timestamp of the last batch.
func fillSegments(t *testing.T, l *Log, n int) int64 {
	t.Helper()
	ts := t0.UnixMilli()
	for len(l.segs) < n {
		appendRecords(t, l, 2, 100, ts)
		ts += time.Minute.Milliseconds()
	}
	return ts - time.Minute.Milliseconds()
}

func TestRetentionByTime(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig()
	cfg.RetentionMs = time.Hour
	l := openLog(t, dir, cfg)
	last := fillSegments(t, l, 6)
	segsBefore := len(segmentFiles(t, dir))
	end := l.EndOffset()

	// An hour after the third segment's newest batch, the first three go.
	l.mu.RLock()
	cut := l.segs[3].base
	third := l.segs[2].maxTS
	l.mu.RUnlock()
	require.NoError(t, l.Maintain(time.UnixMilli(third).Add(time.Hour+time.Millisecond)))
	require.Equal(t, cut, l.StartOffset())
	require.Len(t, segmentFiles(t, dir), segsBefore-3)
	_, err := l.Read(0, 100, end)
	require.ErrorIs(t, err, ErrOffsetOutOfRange)
	requireRecords(t, readAll(t, l, 1<<20), cut, end, 100)

	// Once everything is old, even the active segment goes: the log is
	// empty at its end offset and keeps its offsets.
	require.NoError(t, l.Maintain(time.UnixMilli(last).Add(2*time.Hour)))
	require.Equal(t, end, l.StartOffset())
	require.Equal(t, end, l.EndOffset())
	require.Equal(t, int64(0), l.Size())
	require.Len(t, segmentFiles(t, dir), 1)
	res := appendRecords(t, l, 1, 100, last)
	require.Equal(t, end, res.BaseOffset)

	require.NoError(t, l.Close())
	l = openLog(t, dir, cfg)
	require.Equal(t, end, l.StartOffset(), "start offset survives reopen")
	require.Equal(t, end+1, l.EndOffset())
}

func TestRetentionForeverAndCompactKeepEverything(t *testing.T) {
	for _, cfg := range []Config{
		func() Config { c := testConfig(); c.RetentionMs = -1; return c }(),
		func() Config {
			c := testConfig()
			c.RetentionMs = time.Millisecond
			c.CleanupPolicy = "compact"
			return c
		}(),
	} {
		l := openLog(t, t.TempDir(), cfg)
		fillSegments(t, l, 4)
		require.NoError(t, l.Maintain(t0.Add(1000*time.Hour)))
		require.Equal(t, int64(0), l.StartOffset())
	}
}

func TestRetentionBySize(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig()
	cfg.RetentionBytes = 3 * cfg.SegmentBytes
	l := openLog(t, dir, cfg)
	fillSegments(t, l, 8)
	end := l.EndOffset()
	require.NoError(t, l.Maintain(t0))
	// As in Kafka, a segment goes only if the log stays at or above
	// retention.bytes without it.
	l.mu.RLock()
	first, firstSize := l.segs[0].base, l.segs[0].size
	l.mu.RUnlock()
	require.GreaterOrEqual(t, l.Size(), cfg.RetentionBytes)
	require.Less(t, l.Size()-firstSize, cfg.RetentionBytes)
	require.Equal(t, first, l.StartOffset())
	require.Greater(t, first, int64(0))
	requireRecords(t, readAll(t, l, 1<<20), first, end, 100)
}

func TestRetentionHonoursFileDeleteDelay(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig()
	cfg.RetentionBytes = cfg.SegmentBytes
	cfg.FileDeleteDelay = time.Minute
	l := openLog(t, dir, cfg)
	fillSegments(t, l, 4)
	require.NoError(t, l.Maintain(t0))
	deleted, err := filepath.Glob(filepath.Join(dir, "*"+deletedSuffix))
	require.NoError(t, err)
	require.NotEmpty(t, deleted, "files wait as .deleted")

	require.NoError(t, l.Maintain(t0.Add(30*time.Second)))
	for _, p := range deleted {
		require.FileExists(t, p)
	}
	require.NoError(t, l.Maintain(t0.Add(time.Minute)))
	for _, p := range deleted {
		require.NoFileExists(t, p)
	}
}

func TestDeleteRecordsPersistsAcrossReopen(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, testConfig())
	fillSegments(t, l, 5)
	end := l.EndOffset()
	l.mu.RLock()
	secondBase := l.segs[1].base
	l.mu.RUnlock()

	mid := secondBase + 3
	start, err := l.DeleteRecords(mid)
	require.NoError(t, err)
	require.Equal(t, mid, start)
	require.Equal(t, mid, l.StartOffset())
	require.Equal(t, segmentName(secondBase, ".log"), segmentFiles(t, dir)[0], "the segment wholly below is gone")
	_, err = l.Read(mid-1, 100, end)
	require.ErrorIs(t, err, ErrOffsetOutOfRange)
	requireRecords(t, readAll(t, l, 1<<20), mid, end, 100)

	start, err = l.DeleteRecords(mid - 2)
	require.NoError(t, err)
	require.Equal(t, mid, start, "the start never moves back")
	_, err = l.DeleteRecords(end + 1)
	require.ErrorIs(t, err, ErrOffsetOutOfRange)

	crash(t, l)
	l = openLog(t, dir, testConfig())
	require.Equal(t, mid, l.StartOffset(), "persisted before the crash")
	requireRecords(t, readAll(t, l, 1<<20), mid, end, 100)

	// Deleting up to the end empties the log but keeps its offsets.
	start, err = l.DeleteRecords(end)
	require.NoError(t, err)
	require.Equal(t, end, start)
	require.Equal(t, int64(0), l.Size())
	require.NoError(t, l.Close())
	l = openLog(t, dir, testConfig())
	require.Equal(t, end, l.StartOffset())
	require.Equal(t, end, l.EndOffset())
}

func TestTruncate(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, testConfig())
	fillSegments(t, l, 5) // batches of two records: boundaries at even offsets
	end := l.EndOffset()
	l.mu.RLock()
	third := l.segs[2].base
	l.mu.RUnlock()

	require.NoError(t, l.Truncate(end+10), "beyond the end: nothing to do")
	require.Equal(t, end, l.EndOffset())

	to := third + 4
	require.NoError(t, l.Truncate(to+1), "inside a batch: the whole batch goes")
	require.Equal(t, to, l.EndOffset())
	require.Len(t, segmentFiles(t, dir), 3)
	requireRecords(t, readAll(t, l, 1<<20), 0, to, 100)
	appendRecords(t, l, 2, 100, t0.UnixMilli())
	requireRecords(t, readAll(t, l, 1<<20), 0, to+2, 100)

	require.NoError(t, l.Close())
	l = openLog(t, dir, testConfig())
	require.Equal(t, to+2, l.EndOffset())

	require.NoError(t, l.Truncate(0))
	require.Equal(t, int64(0), l.EndOffset())
	require.Equal(t, int64(0), l.Size())
	appendRecords(t, l, 2, 100, t0.UnixMilli())
}

func TestSegmentMsRolls(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig()
	cfg.SegmentMs = time.Hour
	l := openLog(t, dir, cfg)

	appendRecords(t, l, 1, 10, t0.UnixMilli())
	appendRecords(t, l, 1, 10, t0.Add(59*time.Minute).UnixMilli())
	require.Len(t, segmentFiles(t, dir), 1)
	appendRecords(t, l, 1, 10, t0.Add(time.Hour).UnixMilli())
	require.Equal(t, []string{segmentName(0, ".log"), segmentName(2, ".log")}, segmentFiles(t, dir), "append rolls an old segment")

	require.NoError(t, l.Maintain(t0.Add(90*time.Minute)))
	require.Len(t, segmentFiles(t, dir), 2, "the new segment is not an hour old yet")
	require.NoError(t, l.Maintain(t0.Add(2*time.Hour)))
	require.Equal(t, segmentName(3, ".log"), segmentFiles(t, dir)[2], "Maintain rolls an old segment")
	require.NoError(t, l.Maintain(t0.Add(5*time.Hour)))
	require.Len(t, segmentFiles(t, dir), 3, "an empty segment is never rolled")
}

func TestIndexFullRolls(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig()
	cfg.SegmentBytes = 1 << 20
	cfg.IndexIntervalBytes = 1
	cfg.SegmentIndexBytes = 4 * timeEntrySize // room for four time entries
	l := openLog(t, dir, cfg)
	for i := range 12 {
		appendRecords(t, l, 1, 10, t0.UnixMilli()+int64(i))
	}
	require.Greater(t, len(segmentFiles(t, dir)), 2)
	requireRecords(t, readAll(t, l, 1<<20), 0, 12, 10)
}

func TestFlushPolicy(t *testing.T) {
	t.Run("by messages", func(t *testing.T) {
		cfg := testConfig()
		cfg.FlushIntervalMessages = 3
		l := openLog(t, t.TempDir(), cfg)
		appendRecords(t, l, 2, 10, t0.UnixMilli())
		require.Equal(t, int64(0), recoveryPoint(l))
		appendRecords(t, l, 1, 10, t0.UnixMilli())
		require.Equal(t, int64(3), recoveryPoint(l))
	})
	t.Run("by time", func(t *testing.T) {
		cfg := testConfig()
		cfg.FlushIntervalMs = time.Second
		l := openLog(t, t.TempDir(), cfg)
		require.NoError(t, l.Maintain(t0))
		appendRecords(t, l, 2, 10, t0.UnixMilli())
		require.NoError(t, l.Maintain(t0.Add(500*time.Millisecond)))
		require.Equal(t, int64(0), recoveryPoint(l))
		require.NoError(t, l.Maintain(t0.Add(time.Second)))
		require.Equal(t, int64(2), recoveryPoint(l))
	})
	t.Run("never by default, but rolled segments are flushed", func(t *testing.T) {
		l := openLog(t, t.TempDir(), testConfig())
		fillSegments(t, l, 3)
		require.NoError(t, l.Maintain(t0))
		l.mu.RLock()
		activeBase := l.active().base
		l.mu.RUnlock()
		require.GreaterOrEqual(t, recoveryPoint(l), activeBase)
	})
}

func recoveryPoint(l *Log) int64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.recoveryPoint
}

func TestLogAppendTime(t *testing.T) {
	cfg := testConfig()
	cfg.MessageTimestampType = "LogAppendTime"
	l := openLog(t, t.TempDir(), cfg)
	now := t0.Add(time.Hour)
	b := batch.Build(nil, 0, 5, records(0, 3, 10))
	res, err := l.Append(b, 3, now)
	require.NoError(t, err)
	require.Equal(t, now.UnixMilli(), res.LogAppendTime)
	for _, r := range readAll(t, l, 1<<20) {
		require.Equal(t, now.UnixMilli(), r.ts)
	}
	ts, off := l.MaxTimestamp()
	require.Equal(t, [2]int64{now.UnixMilli(), 0}, [2]int64{ts, off})
}
