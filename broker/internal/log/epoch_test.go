package log

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kspring/kspring/broker/internal/batch"
)

// appendAtEpoch appends batches of n records of 100 bytes as the leader of
// epoch, and returns the first offset.
func appendAtEpoch(t testing.TB, l *Log, epoch int32, batches, n int) int64 {
	t.Helper()
	first := l.EndOffset()
	for range batches {
		b := batch.Build(nil, 0, t0.UnixMilli(), records(l.EndOffset(), n, 100))
		_, err := l.Append(b, epoch, t0)
		require.NoError(t, err)
	}
	return first
}

// epochsOfBatches is the cache the batches from the log start on imply:
// each rise of the partition leader epoch starts an entry, and the epoch in
// force at the log start starts there.
func epochsOfBatches(t *testing.T, l *Log) []EpochEntry {
	t.Helper()
	var out []EpochEntry
	for _, h := range batchHeaders(t, l) {
		if n := len(out); h.PartitionLeaderEpoch >= 0 && (n == 0 || h.PartitionLeaderEpoch > out[n-1].Epoch) {
			out = append(out, EpochEntry{h.PartitionLeaderEpoch, max(h.BaseOffset, l.StartOffset())})
		}
	}
	return out
}

func readEpochFile(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, leaderEpochFile))
	require.NoError(t, err)
	return string(b)
}

func TestEpochCacheFollowsLeaderAppends(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, testConfig())
	appendAtEpoch(t, l, -1, 2, 1) // no epoch: not recorded
	_, ok := l.LatestEpoch()
	require.False(t, ok)
	e0 := appendAtEpoch(t, l, 0, 3, 2)
	e2 := appendAtEpoch(t, l, 2, 20, 2)
	appendAtEpoch(t, l, 1, 1, 2) // a stale leader's epoch adds nothing
	e5 := appendAtEpoch(t, l, 5, 20, 3)
	require.Greater(t, len(segmentFiles(t, dir)), 2)

	want := []EpochEntry{{0, e0}, {2, e2}, {5, e5}}
	checkThroughRestarts(t, l, dir, testConfig(), func(l *Log) {
		require.Equal(t, want, l.EpochEntries())
		epoch, ok := l.LatestEpoch()
		require.True(t, ok)
		require.Equal(t, int32(5), epoch)
		epoch, end := l.EndOffsetForEpoch(2)
		require.Equal(t, [2]int64{2, e5}, [2]int64{int64(epoch), end})
		epoch, end = l.EndOffsetForEpoch(5)
		require.Equal(t, [2]int64{5, l.EndOffset()}, [2]int64{int64(epoch), end})
	})
}

func TestAssignEpoch(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, testConfig())
	appendAtEpoch(t, l, 1, 2, 5)
	require.NoError(t, l.AssignEpoch(3, 10), "a new leader takes over at its log end")
	require.Equal(t, []EpochEntry{{1, 0}, {3, 10}}, l.EpochEntries())
	epoch, end := l.EndOffsetForEpoch(1)
	require.Equal(t, [2]int64{1, 10}, [2]int64{int64(epoch), end})

	require.NoError(t, l.AssignEpoch(3, 10), "again: nothing changes")
	require.NoError(t, l.AssignEpoch(2, 10), "an older epoch is ignored")
	require.Equal(t, []EpochEntry{{1, 0}, {3, 10}}, l.EpochEntries())

	// Epoch 3 wrote nothing before epoch 4 took over: 4 replaces it.
	require.NoError(t, l.AssignEpoch(4, 10))
	require.Equal(t, []EpochEntry{{1, 0}, {4, 10}}, l.EpochEntries())
	require.Equal(t, "0\n2\n1 0\n4 10\n", readEpochFile(t, dir), "durable on return")
	appendAtEpoch(t, l, 4, 1, 5)
	require.Equal(t, []EpochEntry{{1, 0}, {4, 10}}, l.EpochEntries(), "its first batch starts where it was assigned")

	_, err := l.DeleteRecords(5)
	require.NoError(t, err)
	for _, start := range []int64{4, 16} {
		require.ErrorIs(t, l.AssignEpoch(9, start), ErrOffsetOutOfRange)
	}
	require.Error(t, l.AssignEpoch(-1, 15))
	require.Equal(t, []EpochEntry{{1, 5}, {4, 10}}, l.EpochEntries())

	// An epoch with no batch yet is known until a restart; recovery
	// drops entries at the log end, as Kafka's loader does, and the leader
	// assigns it again when it takes over.
	for _, clean := range []bool{true, false} {
		require.NoError(t, l.AssignEpoch(6, 15))
		require.Equal(t, []EpochEntry{{1, 5}, {4, 10}, {6, 15}}, l.EpochEntries())
		if clean {
			require.NoError(t, l.Close())
		} else {
			crash(t, l)
		}
		l = openLog(t, dir, testConfig())
		require.Equal(t, []EpochEntry{{1, 5}, {4, 10}}, l.EpochEntries())
	}
	require.NoError(t, l.Close())
	require.ErrorIs(t, l.AssignEpoch(7, 15), ErrClosed)
}

func TestEpochCacheTruncate(t *testing.T) {
	// Batches of 5: epoch 1 at 0 and 5, epoch 2 at 10 and 15, epoch 3 at
	// 20 and 25.
	setup := func(t *testing.T) (*Log, string) {
		dir := t.TempDir()
		l := openLog(t, dir, testConfig())
		for epoch := int32(1); epoch <= 3; epoch++ {
			appendAtEpoch(t, l, epoch, 2, 5)
		}
		require.Equal(t, []EpochEntry{{1, 0}, {2, 10}, {3, 20}}, l.EpochEntries())
		return l, dir
	}
	tests := []struct {
		to   int64
		end  int64
		want []EpochEntry
	}{
		{30, 30, []EpochEntry{{1, 0}, {2, 10}, {3, 20}}},
		{25, 25, []EpochEntry{{1, 0}, {2, 10}, {3, 20}}},
		{22, 20, []EpochEntry{{1, 0}, {2, 10}}}, // inside a batch: cut at its base
		{20, 20, []EpochEntry{{1, 0}, {2, 10}}},
		{11, 10, []EpochEntry{{1, 0}}},
		{1, 0, nil},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("to %d", tt.to), func(t *testing.T) {
			l, dir := setup(t)
			require.NoError(t, l.Truncate(tt.to))
			checkThroughRestarts(t, l, dir, testConfig(), func(l *Log) {
				require.Equal(t, tt.end, l.EndOffset())
				require.Equal(t, tt.want, l.EpochEntries())
				require.Equal(t, epochsOfBatches(t, l), l.EpochEntries())
			})
		})
	}

	t.Run("below the log start", func(t *testing.T) {
		l, dir := setup(t)
		_, err := l.DeleteRecords(12)
		require.NoError(t, err)
		require.NoError(t, l.Truncate(7))
		checkThroughRestarts(t, l, dir, testConfig(), func(l *Log) {
			require.Equal(t, [2]int64{7, 7}, [2]int64{l.StartOffset(), l.EndOffset()})
			require.Empty(t, l.EpochEntries())
			require.Equal(t, "0\n0\n", readEpochFile(t, dir))
		})
	})

	t.Run("then the follower fetches the leader's epoch", func(t *testing.T) {
		l, dir := setup(t)
		require.NoError(t, l.Truncate(20))
		replicate(t, l, leaderBatch(20, 3, 4))
		checkThroughRestarts(t, l, dir, testConfig(), func(l *Log) {
			require.Equal(t, []EpochEntry{{1, 0}, {2, 10}, {4, 20}}, l.EpochEntries())
		})
	})
}

func TestEpochCacheFollowsLogStart(t *testing.T) {
	t.Run("DeleteRecords", func(t *testing.T) {
		dir := t.TempDir()
		l := openLog(t, dir, testConfig())
		for epoch := int32(1); epoch <= 3; epoch++ {
			appendAtEpoch(t, l, epoch, 2, 5)
		}
		steps := []struct {
			before int64
			want   []EpochEntry
		}{
			{3, []EpochEntry{{1, 3}, {2, 10}, {3, 20}}},
			{10, []EpochEntry{{2, 10}, {3, 20}}},
			{17, []EpochEntry{{2, 17}, {3, 20}}},
			{25, []EpochEntry{{3, 25}}},
		}
		for _, st := range steps {
			_, err := l.DeleteRecords(st.before)
			require.NoError(t, err)
			require.Equal(t, st.want, l.EpochEntries(), "delete before %d", st.before)
		}
		checkThroughRestarts(t, l, dir, testConfig(), func(l *Log) {
			require.Equal(t, []EpochEntry{{3, 25}}, l.EpochEntries())
			epoch, end := l.EndOffsetForEpoch(1)
			require.Equal(t, [2]int64{1, 25}, [2]int64{int64(epoch), end}, "older epochs end where the data starts")
		})
		l = openLog(t, dir, testConfig())
		_, err := l.DeleteRecords(30)
		require.NoError(t, err)
		require.Equal(t, []EpochEntry{{3, 30}}, l.EpochEntries(), "everything deleted: the epoch in force stays")
	})

	t.Run("retention", func(t *testing.T) {
		dir := t.TempDir()
		cfg := testConfig()
		cfg.RetentionBytes = 3 * cfg.SegmentBytes
		l := openLog(t, dir, cfg)
		for epoch := int32(1); epoch <= 6; epoch++ {
			appendAtEpoch(t, l, epoch, 15, 2)
		}
		require.NoError(t, l.Maintain(t0))
		require.Greater(t, l.StartOffset(), int64(0))
		checkThroughRestarts(t, l, dir, cfg, func(l *Log) {
			got := l.EpochEntries()
			require.Equal(t, l.StartOffset(), got[0].StartOffset)
			require.Equal(t, epochsOfBatches(t, l), got)
		})
	})
}

func TestEndOffsetForEpoch(t *testing.T) {
	cache := newEpochCache([]EpochEntry{{2, 10}, {4, 20}, {7, 30}})
	const logEnd = 45
	tests := []struct {
		name      string
		cache     epochCache
		requested int32
		epoch     int32
		end       int64
	}{
		{"latest epoch: the log end", cache, 7, 7, logEnd},
		{"known epoch: start of the next", cache, 4, 4, 30},
		{"first epoch", cache, 2, 2, 20},
		{"unknown epoch between two: the one below", cache, 5, 4, 30},
		{"unknown epoch between the first two", cache, 3, 2, 20},
		{"older than every epoch: the first start", cache, 1, 1, 10},
		{"epoch 0, older than every epoch", cache, 0, 0, 10},
		{"newer than every epoch", cache, 8, -1, -1},
		{"UNDEFINED_EPOCH", cache, -1, -1, -1},
		{"below UNDEFINED_EPOCH, as Kafka answers it", cache, -2, -2, 10},
		{"empty cache", newEpochCache(nil), 0, -1, -1},
		{"empty cache, UNDEFINED_EPOCH", newEpochCache(nil), -1, -1, -1},
		{"one entry, its epoch", newEpochCache([]EpochEntry{{3, 0}}), 3, 3, logEnd},
		{"one entry, older", newEpochCache([]EpochEntry{{3, 5}}), 2, 2, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			epoch, end := tt.cache.endOffsetFor(tt.requested, logEnd)
			require.Equal(t, tt.epoch, epoch)
			require.Equal(t, tt.end, end)
		})
	}

	// The same through a log.
	l := openLog(t, t.TempDir(), testConfig())
	epoch, end := l.EndOffsetForEpoch(0)
	require.Equal(t, [2]int64{-1, -1}, [2]int64{int64(epoch), end})
	appendAtEpoch(t, l, 2, 1, 10)
	appendAtEpoch(t, l, 4, 1, 10)
	epoch, end = l.EndOffsetForEpoch(3)
	require.Equal(t, [2]int64{2, 10}, [2]int64{int64(epoch), end})
	epoch, end = l.EndOffsetForEpoch(4)
	require.Equal(t, [2]int64{4, 20}, [2]int64{int64(epoch), end})
}

func TestEpochCheckpointFormat(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, testConfig())
	require.Equal(t, "0\n0\n", readEpochFile(t, dir), "written at open")
	appendAtEpoch(t, l, 0, 1, 5)
	appendAtEpoch(t, l, 3, 1, 7)
	appendAtEpoch(t, l, 3, 1, 1)
	appendAtEpoch(t, l, 7, 1, 1)
	require.Equal(t, "0\n3\n0 0\n3 5\n7 13\n", readEpochFile(t, dir), "fsynced as it changes, before a Close")
	require.NoFileExists(t, filepath.Join(dir, leaderEpochFile+tmpSuffix))
}

func TestEpochCheckpointRebuiltFromBatches(t *testing.T) {
	damages := []struct {
		name   string
		damage func(t *testing.T, path string)
	}{
		{"deleted", func(t *testing.T, path string) { require.NoError(t, os.Remove(path)) }},
		{"empty", func(t *testing.T, path string) { require.NoError(t, os.WriteFile(path, nil, 0o644)) }},
		{"garbage", func(t *testing.T, path string) {
			require.NoError(t, os.WriteFile(path, []byte("\x00\x01garbage"), 0o644))
		}},
		{"wrong version", func(t *testing.T, path string) { require.NoError(t, os.WriteFile(path, []byte("1\n1\n1 0\n"), 0o644)) }},
		{"wrong count", func(t *testing.T, path string) {
			require.NoError(t, os.WriteFile(path, []byte("0\n3\n1 0\n2 10\n"), 0o644))
		}},
		{"torn line", func(t *testing.T, path string) { require.NoError(t, os.WriteFile(path, []byte("0\n2\n1 0\n2"), 0o644)) }},
		{"decreasing", func(t *testing.T, path string) {
			require.NoError(t, os.WriteFile(path, []byte("0\n2\n2 10\n1 20\n"), 0o644))
		}},
	}
	for _, clean := range []bool{true, false} {
		for _, d := range damages {
			t.Run(map[bool]string{true: "after clean close/", false: "after crash/"}[clean]+d.name, func(t *testing.T) {
				dir := t.TempDir()
				cfg := testConfig()
				l := openLog(t, dir, cfg)
				for epoch := int32(1); epoch <= 4; epoch++ {
					appendAtEpoch(t, l, epoch*2, 8, 3)
				}
				_, err := l.DeleteRecords(5)
				require.NoError(t, err)
				want := l.EpochEntries()
				require.Len(t, want, 4)
				if clean {
					require.NoError(t, l.Close())
				} else {
					crash(t, l)
				}
				d.damage(t, filepath.Join(dir, leaderEpochFile))

				l = openLog(t, dir, cfg)
				require.Equal(t, want, l.EpochEntries())
				require.Equal(t, string(l.epochs.encode()), readEpochFile(t, dir), "the file is rewritten")
			})
		}
	}
}

func TestEpochCacheAfterTornTail(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, testConfig())
	appendAtEpoch(t, l, 1, 10, 2)
	good := l.EndOffset()
	appendAtEpoch(t, l, 2, 1, 2)
	require.Equal(t, []EpochEntry{{1, 0}, {2, good}}, l.EpochEntries())
	crash(t, l)
	path := lastSegmentPath(t, dir)
	pos, h := lastBatchPosition(t, path)
	require.NoError(t, os.Truncate(path, pos+int64(h.Size())/2))

	l = openLog(t, dir, testConfig())
	require.Equal(t, good, l.EndOffset())
	require.Equal(t, []EpochEntry{{1, 0}}, l.EpochEntries(), "the epoch of the lost batch is gone with it")
	require.Equal(t, "0\n1\n1 0\n", readEpochFile(t, dir))
	epoch, end := l.EndOffsetForEpoch(1)
	require.Equal(t, [2]int64{1, good}, [2]int64{int64(epoch), end})
}

// A checkpoint older than the log (restored from a backup, say) gains the
// epochs of the batches recovery scans.
func TestEpochCacheCatchesUpWithRecoveredBatches(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, testConfig())
	appendAtEpoch(t, l, 1, 4, 2)
	old := readEpochFile(t, dir)
	e2 := appendAtEpoch(t, l, 2, 4, 2)
	crash(t, l)
	require.NoError(t, os.WriteFile(filepath.Join(dir, leaderEpochFile), []byte(old), 0o644))
	l = openLog(t, dir, testConfig())
	require.Equal(t, []EpochEntry{{1, 0}, {2, e2}}, l.EpochEntries())
}

func TestCompactionKeepsEpochs(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, compactConfig())
	ts := t0.UnixMilli()
	for epoch := int32(1); epoch <= 3; epoch++ {
		for i := range 10 {
			b := batch.Build(nil, 0, ts, []batch.Record{{Key: []byte{byte('a' + i%3)}, Value: value(int64(i), 50)}})
			_, err := l.Append(b, epoch, t0)
			require.NoError(t, err)
		}
		rollActive(t, l)
	}
	before := l.EpochEntries()
	compact(t, l, t0)
	require.Equal(t, before, l.EpochEntries())
	for _, h := range batchHeaders(t, l) {
		require.Equal(t, int32(1+h.BaseOffset/10), h.PartitionLeaderEpoch, "batch at %d", h.BaseOffset)
	}
	checkThroughRestarts(t, l, dir, compactConfig(), func(l *Log) {
		require.Equal(t, before, l.EpochEntries())
	})
}

func TestEpochCacheOps(t *testing.T) {
	c := newEpochCache(nil)
	require.Equal(t, int32(-1), c.latest)
	for _, e := range []EpochEntry{{0, 0}, {1, 5}, {1, 9}, {0, 12}, {3, 12}, {4, 20}} {
		c.assign(e.Epoch, e.StartOffset)
	}
	require.Equal(t, []EpochEntry{{0, 0}, {1, 5}, {3, 12}, {4, 20}}, c.entries)
	changed, dropped := c.assign(5, 12) // Kafka drops the entries it contradicts
	require.True(t, changed)
	require.Equal(t, []EpochEntry{{3, 12}, {4, 20}}, dropped)
	require.Equal(t, []EpochEntry{{0, 0}, {1, 5}, {5, 12}}, c.entries)
	changed, _ = c.assign(-1, 30)
	require.False(t, changed)

	d := c.clone()
	require.False(t, d.truncateFromStart(0))
	require.True(t, d.truncateFromStart(6))
	require.Equal(t, []EpochEntry{{1, 6}, {5, 12}}, d.entries)
	require.False(t, d.truncateFromStart(6))
	require.True(t, d.truncateFromStart(100))
	require.Equal(t, []EpochEntry{{5, 100}}, d.entries)
	require.Equal(t, []EpochEntry{{0, 0}, {1, 5}, {5, 12}}, c.entries, "clones share nothing")

	require.False(t, c.truncateFromEnd(13))
	require.True(t, c.truncateFromEnd(12))
	require.Equal(t, int32(1), c.latest)
	require.True(t, c.truncateFromEnd(0))
	require.Equal(t, int32(-1), c.latest)
	require.Empty(t, c.entries)
}

func FuzzParseEpochCheckpoint(f *testing.F) {
	for _, seed := range []string{"0\n0\n", "0\n2\n1 0\n4 10\n", "0\n1\n2147483647 9223372036854775807", "0\n1\n1\t 5\n", "1\n0\n", "", "0\n-1\n", "0\n2\n3 5\n3 6\n"} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		entries, err := parseEpochCheckpoint(b)
		if err != nil {
			require.ErrorIs(t, err, errBadEpochCheckpoint)
			return
		}
		for i, e := range entries {
			require.GreaterOrEqual(t, e.Epoch, int32(0))
			require.GreaterOrEqual(t, e.StartOffset, int64(0))
			if i > 0 {
				require.Greater(t, e.Epoch, entries[i-1].Epoch)
				require.Greater(t, e.StartOffset, entries[i-1].StartOffset)
			}
		}
		again, err := parseEpochCheckpoint(newEpochCache(entries).encode())
		require.NoError(t, err)
		require.Equal(t, len(entries), len(again))
		for i := range entries {
			require.Equal(t, entries[i], again[i])
		}
	})
}
