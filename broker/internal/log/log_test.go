package log

import (
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/kspring/kspring/broker/internal/batch"
)

func TestAppendReadAcrossSegments(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, testConfig())
	for i := range 200 {
		appendRecords(t, l, 1+i%4, 60, t0.UnixMilli()+int64(i))
	}
	end := l.EndOffset()
	require.Greater(t, len(segmentFiles(t, dir)), 10, "small segment.bytes rolls often")
	require.Equal(t, int64(0), l.StartOffset())

	for _, maxBytes := range []int{1, 500, 1 << 20} {
		requireRecords(t, readAll(t, l, maxBytes), 0, end, 60)
	}
	// Every offset is found, in the batch that holds it.
	for off := range end {
		data, err := l.Read(off, 1, end)
		require.NoError(t, err)
		h, err := batch.Validate(data)
		require.NoError(t, err, "one whole batch at %d", off)
		require.LessOrEqual(t, h.BaseOffset, off)
		require.GreaterOrEqual(t, h.LastOffset(), off)
	}

	var total int64
	for _, name := range segmentFiles(t, dir) {
		total += fileSize(t, filepath.Join(dir, name))
	}
	require.Equal(t, total, l.Size())
}

func TestAppendManyBatchesInOneCall(t *testing.T) {
	l := openLog(t, t.TempDir(), testConfig())
	var data []byte
	for i := range 3 {
		data = batch.Build(data, 0, t0.UnixMilli(), records(int64(i*2), 2, 10))
	}
	res, err := l.Append(data, 3, t0)
	require.NoError(t, err)
	require.Equal(t, AppendResult{BaseOffset: 0, LastOffset: 5, LogAppendTime: -1}, res)
	requireRecords(t, readAll(t, l, 1<<20), 0, 6, 10)
}

func TestAppendRefusesEmptyInput(t *testing.T) {
	l := openLog(t, t.TempDir(), testConfig())
	for _, data := range [][]byte{nil, batch.Build(nil, 0, 1, nil)} {
		_, err := l.Append(data, 0, t0)
		require.ErrorIs(t, err, batch.ErrInvalid)
	}
	whole := batch.Build(nil, 0, 1, records(0, 1, 1))
	_, err := l.Append(whole[:len(whole)-1], 0, t0)
	require.ErrorIs(t, err, batch.ErrCorrupt)
	require.Equal(t, int64(0), l.EndOffset())
}

func TestReadLimits(t *testing.T) {
	l := openLog(t, t.TempDir(), testConfig())
	var sizes []int
	for range 6 {
		res := appendRecords(t, l, 5, 40, t0.UnixMilli())
		data, err := l.Read(res.BaseOffset, 1, l.EndOffset())
		require.NoError(t, err)
		sizes = append(sizes, len(data))
	}
	end := l.EndOffset() // 30: batches at 0, 5, ..., 25

	tests := []struct {
		name      string
		offset    int64
		maxBytes  int
		maxOffset int64
		batches   []int64 // base offsets expected
	}{
		{"tiny maxBytes still gives one batch", 7, 1, end, []int64{5}},
		{"zero maxBytes still gives one batch", 0, 0, end, []int64{0}},
		{"two and a half batches fit two", 5, sizes[0]*2 + sizes[0]/2, end, []int64{5, 10}},
		{"everything", 0, 1 << 20, end, []int64{0, 5, 10, 15, 20, 25}},
		{"high watermark inside a batch excludes it", 0, 1 << 20, 12, []int64{0, 5}},
		{"high watermark at a batch boundary", 0, 1 << 20, 15, []int64{0, 5, 10}},
		{"nothing below the high watermark", 10, 1 << 20, 12, nil},
		{"offset at the high watermark", 15, 1 << 20, 15, nil},
		{"offset at the end", end, 1 << 20, end, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := l.Read(tt.offset, tt.maxBytes, tt.maxOffset)
			require.NoError(t, err)
			var bases []int64
			require.NoError(t, batch.Split(data, func(b []byte) error {
				h, err := batch.Validate(b)
				bases = append(bases, h.BaseOffset)
				return err
			}))
			require.Equal(t, tt.batches, bases)
		})
	}

	for _, off := range []int64{-1, end + 1} {
		_, err := l.Read(off, 100, end)
		require.ErrorIs(t, err, ErrOffsetOutOfRange)
		var ke *kerr.Error
		require.ErrorAs(t, err, &ke)
		require.Equal(t, kerr.OffsetOutOfRange, ke)
	}
}

func TestReopenKeepsRecordsAndContinuesOffsets(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, testConfig())
	for i := range 50 {
		appendRecords(t, l, 3, 50, t0.UnixMilli()+int64(i))
	}
	end := l.EndOffset()
	size := l.Size()
	require.NoError(t, l.Close())
	require.FileExists(t, filepath.Join(dir, cleanShutdownFile))
	_, err := l.Read(0, 100, end)
	require.ErrorIs(t, err, ErrClosed)

	l = openLog(t, dir, testConfig())
	require.NoFileExists(t, filepath.Join(dir, cleanShutdownFile), "a crash from now on is unclean")
	require.Equal(t, end, l.EndOffset())
	require.Equal(t, size, l.Size())
	res := appendRecords(t, l, 2, 50, t0.UnixMilli()+100)
	require.Equal(t, end, res.BaseOffset)
	requireRecords(t, readAll(t, l, 1000), 0, end+2, 50)
}

func TestReopenEmptyLog(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, testConfig())
	require.NoError(t, l.Close())
	l = openLog(t, dir, testConfig())
	require.Equal(t, int64(0), l.EndOffset())
	data, err := l.Read(0, 100, 0)
	require.NoError(t, err)
	require.Nil(t, data)
	ts, off := l.MaxTimestamp()
	require.Equal(t, [2]int64{-1, -1}, [2]int64{ts, off})
}

// lastBatchPosition returns where the last batch of the file starts.
func lastBatchPosition(t *testing.T, path string) (pos int64, h batch.Header) {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var at int64
	require.NoError(t, batch.Split(data, func(b []byte) error {
		var err error
		h, err = batch.ParseHeader(b)
		pos = at
		at += int64(len(b))
		return err
	}))
	return pos, h
}

func TestRecoveryAfterCrash(t *testing.T) {
	tests := []struct {
		name   string
		damage func(t *testing.T, path string, pos int64, h batch.Header)
	}{
		{"torn last batch", func(t *testing.T, path string, pos int64, h batch.Header) {
			require.NoError(t, os.Truncate(path, pos+int64(h.Size())/2))
		}},
		{"torn inside the header", func(t *testing.T, path string, pos int64, h batch.Header) {
			require.NoError(t, os.Truncate(path, pos+20))
		}},
		{"flipped bit in the last batch", func(t *testing.T, path string, pos int64, h batch.Header) {
			flipBit(t, path, pos+int64(h.Size())-5)
		}},
		{"garbage length in the last batch", func(t *testing.T, path string, pos int64, h batch.Header) {
			writeAt(t, path, pos+8, []byte{0x7f, 0xff, 0xff, 0xff})
		}},
		{"zeroed tail, as after a power cut", func(t *testing.T, path string, pos int64, h batch.Header) {
			writeAt(t, path, pos, make([]byte, h.Size()))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			l := openLog(t, dir, testConfig())
			for i := range 40 {
				appendRecords(t, l, 2, 70, t0.UnixMilli()+int64(i))
			}
			// The producer of the last batch must be forgotten with it.
			last := batch.Build(nil, 0, t0.UnixMilli(), records(l.EndOffset(), 2, 70), batch.WithProducer(9, 0, 0))
			_, err := l.Append(last, 3, t0)
			require.NoError(t, err)
			good := l.EndOffset() - 2
			crash(t, l)

			path := lastSegmentPath(t, dir)
			pos, h := lastBatchPosition(t, path)
			require.Equal(t, good, h.BaseOffset)
			tt.damage(t, path, pos, h)

			l = openLog(t, dir, testConfig())
			require.Equal(t, good, l.EndOffset(), "recovered to the last good batch")
			require.Equal(t, pos, fileSize(t, path), "file cut at the bad batch")
			requireRecords(t, readAll(t, l, 1<<20), 0, good, 70)
			_, _, ok := l.ProducerState(9)
			require.False(t, ok, "producer state of the lost batch is gone")

			res := appendRecords(t, l, 1, 70, t0.UnixMilli())
			require.Equal(t, good, res.BaseOffset, "offsets continue from the good end")
			requireRecords(t, readAll(t, l, 1<<20), 0, good+1, 70)
		})
	}
}

func TestRecoveryDropsSegmentsAfterCorruption(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, testConfig())
	for i := range 100 {
		appendRecords(t, l, 2, 70, t0.UnixMilli()+int64(i))
	}
	crash(t, l)
	segs := segmentFiles(t, dir)
	require.Greater(t, len(segs), 4)
	victim := filepath.Join(dir, segs[2])
	pos, h := lastBatchPosition(t, victim)
	flipBit(t, victim, pos+batch.HeaderSize+3)

	l = openLog(t, dir, testConfig())
	require.Equal(t, h.BaseOffset, l.EndOffset())
	require.Len(t, segmentFiles(t, dir), 3, "segments after the corrupt batch are gone")
	requireRecords(t, readAll(t, l, 1<<20), 0, h.BaseOffset, 70)
}

func TestUncleanOpenTrustsFlushedSegments(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, testConfig())
	for i := range 60 {
		appendRecords(t, l, 2, 70, t0.UnixMilli()+int64(i))
	}
	require.NoError(t, l.Maintain(t0)) // fsyncs rolled segments, checkpoints the recovery point
	rp, ok, err := readCheckpoint(dir, recoveryPointFile)
	require.NoError(t, err)
	require.True(t, ok)
	require.Greater(t, rp, int64(0))
	end := l.EndOffset()
	crash(t, l)

	l = openLog(t, dir, testConfig())
	require.Equal(t, end, l.EndOffset())
	requireRecords(t, readAll(t, l, 1<<20), 0, end, 70)
}

func TestMissingOrCorruptIndexesAreRebuilt(t *testing.T) {
	for _, clean := range []bool{true, false} {
		name := map[bool]string{true: "after clean close", false: "after crash"}[clean]
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			l := openLog(t, dir, testConfig())
			for i := range 80 {
				appendRecords(t, l, 2, 70, t0.UnixMilli()+int64(i)*10)
			}
			end := l.EndOffset()
			wantOff, wantTS, found := l.OffsetForTimestamp(t0.UnixMilli() + 405)
			require.True(t, found)
			if clean {
				require.NoError(t, l.Close())
			} else {
				require.NoError(t, l.Flush())
				crash(t, l)
			}
			segs := segmentFiles(t, dir)
			for i, name := range segs {
				base := filepath.Join(dir, name[:len(name)-len(".log")])
				switch i % 3 {
				case 0:
					require.NoError(t, os.Remove(base+".index"))
					require.NoError(t, os.Remove(base+".timeindex"))
				case 1:
					require.NoError(t, os.WriteFile(base+".index", []byte("garbage!"), 0o644))
					require.NoError(t, os.WriteFile(base+".timeindex", []byte("not an index"), 0o644))
				case 2:
					require.NoError(t, os.WriteFile(base+".index", make([]byte, 16), 0o644)) // two identical entries
				}
			}

			l = openLog(t, dir, testConfig())
			require.Equal(t, end, l.EndOffset())
			requireRecords(t, readAll(t, l, 300), 0, end, 70)
			off, ts, found := l.OffsetForTimestamp(t0.UnixMilli() + 405)
			require.True(t, found)
			require.Equal(t, [2]int64{wantOff, wantTS}, [2]int64{off, ts})
			for _, name := range segs[:len(segs)-1] {
				base := filepath.Join(dir, name[:len(name)-len(".log")])
				require.Greater(t, fileSize(t, base+".timeindex"), int64(0), "time index rebuilt for %s", name)
			}
		})
	}
}

func TestConcurrentReadersAndWriter(t *testing.T) {
	l := openLog(t, t.TempDir(), testConfig())
	const batches = 300
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var next int64
			for next < batches*2 {
				data, err := l.Read(next, 500, l.EndOffset())
				if err != nil {
					errs <- err
					return
				}
				err = batch.Split(data, func(b []byte) error {
					h, err := batch.Validate(b)
					if err == nil && h.LastOffset() >= next {
						next = h.LastOffset() + 1
					}
					return err
				})
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for i := range batches {
		b := batch.Build(nil, 0, t0.UnixMilli(), records(int64(i*2), 2, 50))
		if _, err := l.Append(b, 3, t0); err != nil {
			errs <- err
			break
		}
		if i%50 == 0 {
			if err := l.Maintain(t0); err != nil {
				errs <- err
				break
			}
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
}

func TestClosedLogRefusesWork(t *testing.T) {
	l := openLog(t, t.TempDir(), testConfig())
	require.NoError(t, l.Close())
	require.NoError(t, l.Close(), "Close twice is fine")
	_, err := l.Append(batch.Build(nil, 0, 1, records(0, 1, 1)), 0, t0)
	require.True(t, errors.Is(err, ErrClosed))
	require.ErrorIs(t, l.Maintain(t0), ErrClosed)
	require.ErrorIs(t, l.Flush(), ErrClosed)
	_, err = l.DeleteRecords(0)
	require.ErrorIs(t, err, ErrClosed)
	require.ErrorIs(t, l.Truncate(0), ErrClosed)
}

func TestDeleteRemovesTheDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "topic-0")
	l := openLog(t, dir, testConfig())
	appendRecords(t, l, 2, 10, t0.UnixMilli())
	require.NoError(t, l.Delete())
	require.NoDirExists(t, dir)
}

func flipBit(t *testing.T, path string, pos int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	require.NoError(t, err)
	defer f.Close()
	b := make([]byte, 1)
	_, err = f.ReadAt(b, pos)
	require.NoError(t, err)
	b[0] ^= 0x04
	_, err = f.WriteAt(b, pos)
	require.NoError(t, err)
}

func writeAt(t *testing.T, path string, pos int64, data []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	require.NoError(t, err)
	defer f.Close()
	_, err = f.WriteAt(data, pos)
	require.NoError(t, err)
}

func TestOpenCleansLeftovers(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, testConfig())
	fillSegments(t, l, 3)
	end := l.EndOffset()
	require.NoError(t, l.Close())
	leftovers := []string{
		segmentName(9999, ".index"),              // index without a segment
		segmentName(0, ".log") + deletedSuffix,   // interrupted deletion
		recoveryPointFile + tmpSuffix,            // interrupted checkpoint write
		segmentName(12, snapshotExt) + tmpSuffix, // interrupted snapshot
	}
	for _, name := range leftovers {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o644))
	}
	l = openLog(t, dir, testConfig())
	for _, name := range leftovers {
		require.NoFileExists(t, filepath.Join(dir, name))
	}
	require.Equal(t, end, l.EndOffset())
}
