package log

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kspring/kspring/broker/internal/batch"
)

var allCodecs = []batch.Codec{batch.None, batch.Gzip, batch.Snappy, batch.LZ4, batch.Zstd}

func TestCompactKeepsLatestValuePerKey(t *testing.T) {
	for _, codec := range allCodecs {
		t.Run(codec.String(), func(t *testing.T) {
			dir := t.TempDir()
			cfg := compactConfig()
			l := openLog(t, dir, cfg)
			all := writeKeyed(t, l, rand.New(rand.NewPCG(7, uint64(codec))), 200, 30, []batch.Codec{codec}, false)
			segsBefore := len(segmentFiles(t, dir))
			require.Greater(t, segsBefore, 4)
			end, logEnd := activeBase(l), l.EndOffset()
			want := compacted(all, end, nil)

			st := compact(t, l, t0.Add(time.Minute))
			require.Equal(t, "dirty ratio", st.Reason)
			require.Equal(t, int64(0), st.FirstDirtyOffset)
			require.Equal(t, end, st.EndOffset)
			require.Equal(t, 30, st.MapKeys)
			require.Equal(t, end, st.RecordsRead, "every record below the active segment was read")
			require.Equal(t, int64(30), st.RecordsKept)
			require.Less(t, st.BytesWritten, st.BytesRead)

			requireKV(t, want, readKV(t, l, 1<<20))
			requireKV(t, want, readKV(t, l, 1))
			require.Equal(t, logEnd, l.EndOffset(), "offsets never move")
			require.Equal(t, int64(0), l.StartOffset())
			require.Empty(t, leftovers(t, dir))
			requireNotCleaned(t, l, t0.Add(time.Minute))

			// The cleaned segments, their indexes and the checkpoint
			// survive a clean reopen and a crash.
			require.NoError(t, l.Close())
			l = openLog(t, dir, cfg)
			requireKV(t, want, readKV(t, l, 1<<20))
			requireNotCleaned(t, l, t0.Add(time.Minute))
			crash(t, l)
			l = openLog(t, dir, cfg)
			requireKV(t, want, readKV(t, l, 300))

			// New data is cleaned against the old: one value per key below
			// the new active segment.
			// The segments the first clean shrank are merged.
			prevEnd := end
			more := writeKeyed(t, l, rand.New(rand.NewPCG(8, uint64(codec))), 60, 30, []batch.Codec{codec}, false)
			all = append(all, more...)
			end = activeBase(l)
			segsBefore = len(segmentFiles(t, dir))
			st = compact(t, l, t0.Add(time.Minute))
			require.Equal(t, prevEnd, st.FirstDirtyOffset, "the dirty tail starts where the last clean ended")
			require.Equal(t, end, st.EndOffset)
			require.Less(t, st.SegmentsWritten, st.SegmentsRead)
			require.Len(t, segmentFiles(t, dir), segsBefore-st.SegmentsRead+st.SegmentsWritten)
			requireKV(t, compacted(all, end, nil), readKV(t, l, 1<<20))
		})
	}
}

func TestCompactTombstonesOutliveDeleteRetention(t *testing.T) {
	dir := t.TempDir()
	cfg := compactConfig()
	cfg.DeleteRetentionMs = time.Hour
	l := openLog(t, dir, cfg)
	ts := t0.UnixMilli()
	all := appendKV(t, l, []kvRecord{kv(ts, "a", []byte("a1")), kv(ts, "b", []byte("b1"))})
	all = append(all, appendKV(t, l, []kvRecord{kv(ts+1, "a", nil), kv(ts+2, "c", []byte("c1"))})...)
	rollActive(t, l)
	all = append(all, appendKV(t, l, []kvRecord{kv(ts+3, "d", []byte("d1"))})...)
	end := activeBase(l)

	// Within delete.retention.ms the tombstone stays; the value it deletes
	// goes at once.
	st := compact(t, l, t0.Add(time.Minute))
	require.Equal(t, int64(0), st.TombstonesDropped)
	withTombstone := compacted(all, end, nil)
	requireKV(t, withTombstone, readKV(t, l, 1<<20))
	require.Equal(t, []byte("a"), withTombstone[1].key)
	require.Nil(t, withTombstone[1].value)

	// Nothing is dirty and the tombstone is not due: no clean.
	requireNotCleaned(t, l, time.UnixMilli(ts+2).Add(time.Hour-time.Millisecond))

	// When it is due the log is cleaned for it alone, also after a reopen.
	require.NoError(t, l.Close())
	l = openLog(t, dir, cfg)
	st = compact(t, l, time.UnixMilli(ts+2).Add(time.Hour))
	require.Equal(t, "tombstones due", st.Reason)
	require.Equal(t, int64(1), st.TombstonesDropped)
	requireKV(t, compacted(all, end, func(kvRecord) bool { return true }), readKV(t, l, 1<<20))
	requireNotCleaned(t, l, time.UnixMilli(ts).Add(48*time.Hour))
}

func TestCompactRespectsMinCompactionLag(t *testing.T) {
	cfg := compactConfig()
	cfg.MinCompactionLagMs = time.Hour
	l := openLog(t, t.TempDir(), cfg)
	ts := t0.UnixMilli()
	var all []kvRecord
	for i, age := range []time.Duration{0, 2 * time.Hour, 4 * time.Hour} {
		all = append(all, appendKV(t, l, []kvRecord{kv(ts+age.Milliseconds(), "a", []byte{'a', byte('1' + i)})})...)
		rollActive(t, l)
	}
	all = append(all, appendKV(t, l, []kvRecord{kv(ts+5*time.Hour.Milliseconds(), "x", []byte("x"))})...)

	// At 3h30 the third segment (4h) is younger than an hour: the clean
	// stops before it, and a3 does not yet replace a2.
	now := t0.Add(3*time.Hour + 30*time.Minute)
	st := compact(t, l, now)
	require.Equal(t, all[2].offset, st.EndOffset)
	requireKV(t, all[1:], readKV(t, l, 1<<20))
	requireNotCleaned(t, l, now)

	now = t0.Add(5*time.Hour + time.Minute)
	st = compact(t, l, now)
	require.Equal(t, all[3].offset, st.EndOffset)
	requireKV(t, all[2:], readKV(t, l, 1<<20))
}

func TestCompactDirtyRatioAndMaxCompactionLag(t *testing.T) {
	cfg := compactConfig()
	cfg.MinCleanableDirtyRatio = 0.5
	l := openLog(t, t.TempDir(), cfg)
	ts := t0.UnixMilli()
	var all []kvRecord
	for i := range 60 {
		all = append(all, appendKV(t, l, []kvRecord{kv(ts, "k"+string(rune('A'+i)), make([]byte, 100))})...)
	}
	rollActive(t, l)
	compact(t, l, t0)

	// A little dirty data after a lot of clean data stays below the ratio.
	all = append(all, appendKV(t, l, []kvRecord{kv(ts+1, "kA", []byte("new"))})...)
	rollActive(t, l)
	requireNotCleaned(t, l, t0.Add(time.Hour))

	// max.compaction.lag.ms forces the clean once the dirty data is older.
	cfg.MaxCompactionLagMs = time.Hour
	l.SetConfig(cfg)
	requireNotCleaned(t, l, time.UnixMilli(ts+1).Add(time.Hour))
	st := compact(t, l, time.UnixMilli(ts+1).Add(time.Hour+time.Millisecond))
	require.Equal(t, "max.compaction.lag.ms", st.Reason)
	requireKV(t, compacted(all, activeBase(l), nil), readKV(t, l, 1<<20))

	// It also bounds how long a record waits in the active segment, which
	// is never cleaned.
	appendKV(t, l, []kvRecord{kv(ts+2, "kB", []byte("new"))})
	base := activeBase(l)
	require.NoError(t, l.Maintain(time.UnixMilli(ts+2).Add(time.Hour)))
	require.Greater(t, activeBase(l), base, "rolled after max.compaction.lag.ms, long before segment.ms")
}

// TestCompactCrashAtEachStep stops the first group's swap at each step as a
// crash would, reopens, and checks that nothing was lost, that no leftover
// remains, and that the next clean finishes the job.
func TestCompactCrashAtEachStep(t *testing.T) {
	for _, step := range []string{"cleaned", "swap", "deleted-one", "deleted", "final-index", "final"} {
		t.Run(step, func(t *testing.T) {
			dir := t.TempDir()
			cfg := compactConfig()
			l := openLog(t, dir, cfg)
			rng := rand.New(rand.NewPCG(3, 4))
			var all []kvRecord
			for i := range 30 {
				// Small segments, so that the first group has several,
				// each ending on a key written once, so that every
				// segment keeps a record.
				all = append(all, writeKeyed(t, l, rng, 3, 12, allCodecs, true)...)
				all = append(all, appendKV(t, l, []kvRecord{kv(all[len(all)-1].ts, fmt.Sprintf("once-%d", i), []byte("v"))})...)
				rollActive(t, l)
			}
			all = append(all, writeKeyed(t, l, rng, 2, 12, allCodecs, true)...)
			end := activeBase(l)
			original := readKV(t, l, 1<<20)

			l.testHook = func(s string) error {
				if s == step {
					return errSimulatedCrash
				}
				return nil
			}
			_, err := l.Compact(t0.Add(time.Minute))
			require.ErrorIs(t, err, errSimulatedCrash)
			crash(t, l)

			l = openLog(t, dir, cfg)
			require.Empty(t, leftovers(t, dir))
			got := readKV(t, l, 1<<20)
			if step == "cleaned" {
				requireKV(t, original, got)
			} else {
				requireNoLoss(t, original, got)
				require.Less(t, len(got), len(original), "the first group's clean was completed")
			}
			compact(t, l, t0.Add(time.Minute))
			requireKV(t, compacted(all, end, nil), readKV(t, l, 1<<20))

			crash(t, l)
			l = openLog(t, dir, cfg)
			requireKV(t, compacted(all, end, nil), readKV(t, l, 1<<20))
		})
	}
}

// TestCompactAbandonedWhenTheLogChanges changes the segments under a clean
// between its copy and its swap: the swap is refused and nothing is lost.
func TestCompactAbandonedWhenTheLogChanges(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(l *Log, all []kvRecord) (int64, error)
	}{
		{"truncate", func(l *Log, all []kvRecord) (int64, error) {
			to := all[len(all)/2].offset
			return l.StartOffset(), l.Truncate(to)
		}},
		{"delete records", func(l *Log, all []kvRecord) (int64, error) {
			return l.DeleteRecords(all[len(all)/2].offset)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := compactConfig()
			cfg.CleanupPolicy = "compact,delete"
			l := openLog(t, dir, cfg)
			all := writeKeyed(t, l, rand.New(rand.NewPCG(5, 6)), 100, 20, allCodecs, false)
			var start int64
			l.testHook = func(step string) error {
				if step != "cleaned" {
					return nil
				}
				var err error
				start, err = tc.change(l, all)
				return err
			}
			st, err := l.Compact(t0.Add(time.Minute))
			require.NoError(t, err)
			require.True(t, st.Aborted)
			require.False(t, st.Cleaned)
			require.Empty(t, leftovers(t, dir))
			l.testHook = nil

			var left []kvRecord
			for _, r := range all {
				if r.offset >= start && r.offset < l.EndOffset() {
					left = append(left, r)
				}
			}
			requireKV(t, left, readKV(t, l, 1<<20))
			if tc.name == "truncate" {
				more := writeKeyed(t, l, rand.New(rand.NewPCG(5, 7)), 30, 20, allCodecs, false)
				left = append(left, more...)
			}
			end := activeBase(l)
			compact(t, l, t0.Add(time.Minute))
			want := compacted(left, end, nil)
			requireKV(t, want, readKV(t, l, 1<<20))
		})
	}
}

func TestCompactKeepsIdempotentProducersLastBatch(t *testing.T) {
	dir := t.TempDir()
	cfg := compactConfig()
	l := openLog(t, dir, cfg)
	ts := t0.UnixMilli()
	pb := func(seq int32) []byte {
		return batch.Build(nil, 0, ts, []batch.Record{{Key: []byte("a"), Value: []byte("p")}, {Key: []byte("b"), Value: []byte("p")}},
			batch.WithProducer(7, 0, seq))
	}
	res, err := l.Append(pb(0), 3, t0)
	require.NoError(t, err)
	require.Equal(t, int64(0), res.BaseOffset)
	all := appendKV(t, l, []kvRecord{kv(ts, "a", []byte("a2")), kv(ts, "b", []byte("b2"))})
	rollActive(t, l)
	all = append(all, appendKV(t, l, []kvRecord{kv(ts, "c", []byte("c"))})...)

	compact(t, l, t0)
	requireKV(t, all, readKV(t, l, 1<<20))
	hs := batchHeaders(t, l)
	require.Equal(t, int64(0), hs[0].BaseOffset, "the producer's last batch stays, empty")
	require.Equal(t, int64(1), hs[0].LastOffset())
	require.Equal(t, int32(0), hs[0].NumRecords)
	require.Equal(t, int64(7), hs[0].ProducerID)
	require.Equal(t, int32(1), hs[0].LastSequence())

	// Without snapshots the producer's state is rebuilt from it: a retry
	// is still a duplicate, the next sequence still follows.
	crash(t, l)
	removeSnapshots(t, dir)
	l = openLog(t, dir, cfg)
	epoch, last, ok := l.ProducerState(7)
	require.True(t, ok)
	require.Equal(t, [2]int32{0, 1}, [2]int32{int32(epoch), last})
	res, err = l.Append(pb(0), 3, t0)
	require.NoError(t, err)
	require.True(t, res.Duplicate)
	require.Equal(t, int64(0), res.BaseOffset)
	_, err = l.Append(pb(2), 3, t0)
	require.NoError(t, err)

	// Once it is no longer the producer's last, the empty batch goes.
	rollActive(t, l)
	appendKV(t, l, []kvRecord{kv(ts, "z", []byte("z"))})
	compact(t, l, t0)
	hs = batchHeaders(t, l)
	require.Greater(t, hs[0].BaseOffset, int64(0))
}

// batchHeaders returns the header of every batch in the log.
func batchHeaders(t *testing.T, l *Log) []batch.Header {
	t.Helper()
	data, err := l.Read(l.StartOffset(), 1<<30, l.EndOffset())
	require.NoError(t, err)
	var hs []batch.Header
	require.NoError(t, batch.Split(data, func(b []byte) error {
		h, err := batch.VerifyChecksum(b)
		hs = append(hs, h)
		return err
	}))
	return hs
}

func TestCompactDropsKeylessRecords(t *testing.T) {
	l := openLog(t, t.TempDir(), compactConfig())
	ts := t0.UnixMilli()
	all := appendKV(t, l, []kvRecord{{ts: ts, value: []byte("no key")}, kv(ts, "a", []byte("a"))})
	rollActive(t, l)
	all = append(all, appendKV(t, l, []kvRecord{{ts: ts, value: []byte("no key either")}})...)
	st := compact(t, l, t0)
	require.Equal(t, int64(1), st.KeylessDropped)
	requireKV(t, compacted(all, activeBase(l), nil), readKV(t, l, 1<<20))
	require.Equal(t, []byte("no key either"), readKV(t, l, 1<<20)[1].value, "the active segment is never cleaned")
}

// TestCompactedLogReadsAndTimestamps checks fetches from every offset,
// OffsetForTimestamp and MaxTimestamp on a log with gaps, with timestamps
// that go up and down.
func TestCompactedLogReadsAndTimestamps(t *testing.T) {
	dir := t.TempDir()
	cfg := compactConfig()
	l := openLog(t, dir, cfg)
	rng := rand.New(rand.NewPCG(11, 12))
	var all []kvRecord
	for i := range 150 {
		n := 1 + rng.IntN(4)
		recs := make([]kvRecord, n)
		first := t0.UnixMilli() + int64(i)*100 + rng.Int64N(300) - 150
		for j := range recs {
			recs[j] = kv(first+rng.Int64N(200), "k"+string(rune('a'+rng.IntN(26))), make([]byte, 30))
		}
		recs[0].ts = first
		all = append(all, appendKV(t, l, recs, batch.WithCompression(allCodecs[i%len(allCodecs)]))...)
	}
	end := activeBase(l)
	compact(t, l, t0)
	survivors := compacted(all, end, nil)
	requireKV(t, survivors, readKV(t, l, 1<<20))

	check := func(l *Log) {
		t.Helper()
		// A consumer fetching from any offset, one batch at a time (a
		// batch may hold only records below the fetch offset: its
		// consumer goes on after its last offset), first gets the first
		// survivor at or after it.
		for off := int64(0); off < l.EndOffset(); off++ {
			want := survivors[slices.IndexFunc(survivors, func(r kvRecord) bool { return r.offset >= off })]
			var first *kvRecord
			for next := off; first == nil; {
				data, err := l.Read(next, 1, l.EndOffset())
				require.NoError(t, err)
				require.NotEmpty(t, data, "fetch at %d", next)
				require.NoError(t, batch.Split(data, func(b []byte) error {
					h, err := batch.VerifyChecksum(b)
					require.NoError(t, err)
					require.GreaterOrEqual(t, h.LastOffset(), next)
					next = h.LastOffset() + 1
					return batch.Records(b, func(r batch.Record) error {
						if o := h.BaseOffset + int64(r.OffsetDelta); o >= off && first == nil {
							first = &kvRecord{offset: o, ts: h.FirstTimestamp + r.TimestampDelta, key: r.Key, value: r.Value}
						}
						return nil
					})
				}))
			}
			require.Equal(t, want.String(), first.String(), "fetch at %d", off)
		}
		ts := make([]tsRecord, len(survivors))
		for i, r := range survivors {
			ts[i] = tsRecord{r.offset, r.ts}
		}
		requireTimestampsAnswer(t, l, ts)
	}
	checkThroughRestarts(t, l, dir, cfg, check)
}

func TestCompactLogAppendTimeBatches(t *testing.T) {
	cfg := compactConfig()
	cfg.MessageTimestampType = "LogAppendTime"
	l := openLog(t, t.TempDir(), cfg)
	ts := t0.UnixMilli()
	appendKV(t, l, []kvRecord{kv(ts, "a", []byte("1")), kv(ts, "b", []byte("1")), kv(ts, "a", []byte("2"))},
		batch.WithCompression(batch.Zstd))
	rollActive(t, l)
	appendKV(t, l, []kvRecord{kv(ts, "x", []byte("x"))})
	compact(t, l, t0)
	hs := batchHeaders(t, l)
	require.True(t, hs[0].TimestampType(), "still LogAppendTime")
	require.Equal(t, batch.Zstd, hs[0].Compression(), "recompressed with its codec")
	require.Equal(t, int32(2), hs[0].NumRecords)
	got := readKV(t, l, 1<<20)
	require.Equal(t, []int64{1, 2, 3}, []int64{got[0].offset, got[1].offset, got[2].offset})
	for _, r := range got[:2] {
		require.Equal(t, ts, r.ts, "records keep the append time")
	}
}

// TestCompactEmptiedSegment cleans a segment whose every record a later
// one replaces: an empty segment stays at its base, the log start does not
// move, and retention (compact,delete) still gets past it.
func TestCompactEmptiedSegment(t *testing.T) {
	dir := t.TempDir()
	cfg := compactConfig()
	cfg.CleanupPolicy = "compact,delete"
	cfg.RetentionMs = time.Hour
	l := openLog(t, dir, cfg)
	ts := t0.UnixMilli()
	var all []kvRecord
	for len(l.segs) == 1 { // fill the first segment
		all = append(all, appendKV(t, l, []kvRecord{kv(ts, "a", make([]byte, 100)), kv(ts, "b", make([]byte, 100))})...)
	}
	all = append(all, appendKV(t, l, []kvRecord{kv(ts+1, "a", []byte("a")), kv(ts+1, "b", []byte("b"))})...)
	rollActive(t, l)
	all = append(all, appendKV(t, l, []kvRecord{kv(ts+2*time.Hour.Milliseconds(), "c", []byte("c"))})...)
	end := activeBase(l)

	compact(t, l, t0)
	require.Equal(t, int64(0), l.segs[0].base)
	require.Equal(t, int64(0), l.segs[0].size, "the first segment is left empty")
	require.Equal(t, int64(0), l.StartOffset())
	want := compacted(all, end, nil)
	requireKV(t, want, readKV(t, l, 1<<20))

	require.NoError(t, l.Close())
	l = openLog(t, dir, cfg)
	require.Equal(t, int64(0), l.StartOffset())
	requireKV(t, want, readKV(t, l, 1<<20))

	// Retention by time deletes the empty segment and the one after it.
	require.NoError(t, l.Maintain(time.UnixMilli(ts+1).Add(time.Hour+time.Millisecond)))
	require.Equal(t, end, l.StartOffset())
	requireKV(t, want[2:], readKV(t, l, 1<<20))
}

// TestCompactWhileAppendingAndReading runs cleans while a writer appends
// and a reader fetches, for the race detector and for the result.
func TestCompactWhileAppendingAndReading(t *testing.T) {
	cfg := compactConfig()
	cfg.SegmentBytes = 1024
	l := openLog(t, t.TempDir(), cfg)
	var all []kvRecord // the writer's until writerDone
	writerDone, stop := make(chan struct{}), make(chan struct{})
	errs := make(chan error, 2)
	go func() {
		defer close(writerDone)
		rng := rand.New(rand.NewPCG(1, 1))
		for i := range 600 {
			k := "k" + string(rune('a'+rng.IntN(20)))
			v := []byte(k + "-" + string(rune('a'+i%26)))
			b := batch.Build(nil, 0, t0.UnixMilli(), []batch.Record{{Key: []byte(k), Value: v}},
				batch.WithCompression(allCodecs[i%len(allCodecs)]))
			res, err := l.Append(b, 3, t0)
			if err != nil {
				errs <- err
				return
			}
			all = append(all, kvRecord{offset: res.BaseOffset, ts: t0.UnixMilli(), key: []byte(k), value: v})
		}
	}()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // the reader: offsets grow, CRCs hold
		defer wg.Done()
		next := int64(0)
		for {
			select {
			case <-stop:
				return
			default:
			}
			end := l.EndOffset()
			if next >= end {
				next = 0
				continue
			}
			data, err := l.Read(next, 4096, end)
			if err == nil {
				err = batch.Split(data, func(b []byte) error {
					h, err := batch.VerifyChecksum(b)
					if err == nil && h.LastOffset() < next {
						err = errors.New("a batch below the fetch offset")
					}
					next = h.LastOffset() + 1
					return err
				})
			}
			if err != nil {
				errs <- err
				return
			}
		}
	}()

	var cleanedTo int64
	passes := 0
	for writing := true; writing; {
		select {
		case <-writerDone:
			writing = false
		default:
		}
		st, err := l.Compact(t0)
		require.NoError(t, err)
		if st.Cleaned {
			cleanedTo = st.EndOffset
			passes++
		}
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Greater(t, passes, 1)
	requireKV(t, compacted(all, cleanedTo, nil), readKV(t, l, 1<<20))
}
