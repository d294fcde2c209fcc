package log

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/kspring/kspring/broker/internal/batch"
)

// segment is one .log file with its two indexes. All fields are guarded by
// the owning Log's mutex: written under the write lock, read under either.
type segment struct {
	base     int64
	logPath  string
	file     *sharedFile // referenced by outstanding Chunks too
	offFile  *os.File
	timeFile *os.File

	size int64 // bytes of whole batches in the file
	next int64 // offset after the last batch; base when empty

	// The indexes: every entry in memory while the segment is active, in
	// their files (with a page summary here) once it is not; see page.
	offsets         []offsetEntry
	times           []timeEntry
	pagedOff        *pagedIndex[offsetEntry]
	pagedTime       *pagedIndex[timeEntry]
	bytesSinceIndex int64

	maxTS    int64 // largest batch MaxTimestamp, -1 if none
	maxTSOff int64 // base offset of the batch holding maxTS

	aborted      []AbortedTxn // the aborted transaction index (.txnindex), marker order
	abortedDirty bool         // .txnindex written since it was last fsynced
	abortedGen   uint64       // counts .txnindex writes, so a flush clears only what it synced

	rollBase    time.Time // segment.ms counts from here
	indexSynced bool      // index files fsynced since they last changed
	closed      bool      // close has run: the .log reference is gone
}

func segmentName(base int64, ext string) string { return fmt.Sprintf("%020d%s", base, ext) }

func segmentPaths(dir string, base int64) (logPath, offPath, timePath string) {
	return filepath.Join(dir, segmentName(base, ".log")),
		filepath.Join(dir, segmentName(base, ".index")),
		filepath.Join(dir, segmentName(base, ".timeindex"))
}

// openSegment opens (creating if needed) the files of the segment at base.
// With create set, existing files are truncated: a fresh segment.
func openSegment(dir string, base int64, create bool) (*segment, error) {
	logPath, offPath, timePath := segmentPaths(dir, base)
	flags := os.O_RDWR | os.O_CREATE
	if create {
		flags |= os.O_TRUNC
	}
	s := &segment{base: base, logPath: logPath, next: base, maxTS: -1, maxTSOff: -1}
	if create {
		if err := os.Remove(s.txnPath()); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
	}
	f, err := os.OpenFile(logPath, flags, 0o644)
	if err != nil {
		return nil, err
	}
	s.file = newSharedFile(f)
	if s.offFile, err = os.OpenFile(offPath, flags, 0o644); err != nil {
		s.close()
		return nil, err
	}
	if s.timeFile, err = os.OpenFile(timePath, flags, 0o644); err != nil {
		s.close()
		return nil, err
	}
	fi, err := s.file.Stat()
	if err != nil {
		s.close()
		return nil, err
	}
	s.size = fi.Size()
	s.rollBase = fi.ModTime()
	s.indexSynced = !create
	return s, nil
}

// close closes the index files and drops the segment's reference on the
// .log file, which closes when no Chunk holds it any more.
func (s *segment) close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	var errs []error
	if s.file != nil {
		if err := s.file.release(); err != nil && !errors.Is(err, os.ErrClosed) {
			errs = append(errs, err)
		}
	}
	for _, f := range []*os.File{s.offFile, s.timeFile} {
		if f != nil {
			if err := f.Close(); err != nil && !errors.Is(err, os.ErrClosed) {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// paths lists the segment's files: the .log and its two indexes, and the
// aborted transaction index if it has one.
func (s *segment) paths() []string {
	ps := []string{s.file.Name(), s.offFile.Name(), s.timeFile.Name()}
	if len(s.aborted) > 0 || fileExists(s.txnPath()) {
		ps = append(ps, s.txnPath())
	}
	return ps
}

// dirPath is the partition directory.
func (s *segment) dirPath() string { return filepath.Dir(s.logPath) }

// indexBatch records a batch just placed at pos in the segment's
// bookkeeping and indexes, Kafka's way: an offset-index entry (and a
// time-index entry if the max timestamp grew) once more than interval bytes
// were written since the last entry. It returns the entries to append to
// the index files, if any.
func (s *segment) indexBatch(pos int64, h batch.Header, interval int32) (offEntry *offsetEntry, timeEnt *timeEntry) {
	if h.MaxTimestamp > s.maxTS {
		s.maxTS, s.maxTSOff = h.MaxTimestamp, h.BaseOffset
	}
	if s.bytesSinceIndex > int64(interval) {
		e := offsetEntry{rel: uint32(h.BaseOffset - s.base), pos: uint32(pos)}
		s.offsets = append(s.offsets, e)
		offEntry = &s.offsets[len(s.offsets)-1]
		if t, ok := s.maybeTimeEntry(); ok {
			timeEnt = &t
		}
		s.bytesSinceIndex = 0
	}
	s.bytesSinceIndex += int64(h.Size())
	s.next = h.LastOffset() + 1
	return offEntry, timeEnt
}

// maybeTimeEntry appends (maxTS, maxTSOff) to the time index if maxTS grew.
func (s *segment) maybeTimeEntry() (timeEntry, bool) {
	if s.maxTS < 0 || (len(s.times) > 0 && s.times[len(s.times)-1].ts >= s.maxTS) {
		return timeEntry{}, false
	}
	e := timeEntry{ts: s.maxTS, rel: uint32(s.maxTSOff - s.base)}
	s.times = append(s.times, e)
	return e, true
}

// writeIndexEntries appends new entries to the index files.
func (s *segment) writeIndexEntries(off *offsetEntry, t *timeEntry) error {
	if off != nil {
		var b [offsetEntrySize]byte
		binary.BigEndian.PutUint32(b[:], off.rel)
		binary.BigEndian.PutUint32(b[4:], off.pos)
		if _, err := s.offFile.WriteAt(b[:], int64(len(s.offsets)-1)*offsetEntrySize); err != nil {
			return err
		}
		s.indexSynced = false
	}
	if t != nil {
		var b [timeEntrySize]byte
		binary.BigEndian.PutUint64(b[:], uint64(t.ts))
		binary.BigEndian.PutUint32(b[8:], t.rel)
		if _, err := s.timeFile.WriteAt(b[:], int64(len(s.times)-1)*timeEntrySize); err != nil {
			return err
		}
		s.indexSynced = false
	}
	return nil
}

// finish writes the closing time-index entry, as Kafka does when a segment
// stops being active, so that the index knows the segment's max timestamp.
func (s *segment) finish() error {
	if t, ok := s.maybeTimeEntry(); ok {
		return s.writeIndexEntries(nil, &t)
	}
	return nil
}

// writeIndexes rewrites both index files from memory.
func (s *segment) writeIndexes() error {
	for _, f := range []struct {
		file *os.File
		data []byte
	}{{s.offFile, encodeOffsets(s.offsets)}, {s.timeFile, encodeTimes(s.times)}} {
		if err := f.file.Truncate(0); err != nil {
			return err
		}
		if _, err := f.file.WriteAt(f.data, 0); err != nil {
			return err
		}
	}
	s.indexSynced = false
	return nil
}

// resetIndexes forgets all index state before a rebuild.
func (s *segment) resetIndexes() {
	s.offsets, s.times = s.offsets[:0], s.times[:0]
	s.pagedOff, s.pagedTime = nil, nil
	s.bytesSinceIndex = 0
	s.maxTS, s.maxTSOff = -1, -1
	s.next = s.base
}

// scanResult tells where and why a scan stopped before the end.
type scanResult struct {
	validEnd int64 // bytes of whole, good batches
	reason   error // nil when the whole file was good
}

// rebuild walks the segment from the start, rebuilds its indexes and
// bookkeeping, and stops at the first batch that is torn, impossible, out of
// offset order or (with verify) fails its CRC. It does not truncate; the
// caller decides. interval is index.interval.bytes.
func (s *segment) rebuild(interval int32, verify bool) (scanResult, error) {
	s.resetIndexes()
	br := newBatchReader(s.file, s.size)
	defer br.release()
	var pos int64
	for pos < s.size {
		h, b, err := br.at(pos, verify)
		if err != nil {
			if errors.Is(err, errTorn) || errors.Is(err, errBadHeader) {
				return scanResult{validEnd: pos, reason: err}, nil
			}
			return scanResult{}, err
		}
		if verify {
			if _, err := batch.VerifyChecksum(b); err != nil {
				return scanResult{validEnd: pos, reason: err}, nil
			}
		}
		if h.BaseOffset < s.next || h.LastOffset()-s.base > maxRelOffset {
			return scanResult{validEnd: pos, reason: fmt.Errorf("batch at position %d has offset %d, expected at least %d: %w",
				pos, h.BaseOffset, s.next, errBadHeader)}, nil
		}
		s.indexBatch(pos, h, interval)
		pos += int64(h.Size())
	}
	return scanResult{validEnd: pos}, nil
}

// maxRelOffset bounds offsets within a segment so relative offsets fit the
// index's uint32 with room to spare (Kafka uses Int.MaxValue too).
const maxRelOffset = 1<<31 - 1

// truncateFile cuts the segment file at pos.
func (s *segment) truncateFile(pos int64) error {
	if err := s.file.Truncate(pos); err != nil {
		return err
	}
	s.size = pos
	return nil
}

// loadIndexes reads the index files of a segment and checks them. It sets
// maxTS from the time index's last entry. With findEnd (the last segment
// after a clean shutdown) it finds the segment's end by walking the batch
// headers after the last offset-index entry, and fails if the last batch
// does not fit the file; otherwise s.next must already be set (the next
// segment's base).
func (s *segment) loadIndexes(findEnd bool) error {
	offsets, err := readOffsetIndex(s.offFile.Name(), s.size)
	if err != nil {
		return err
	}
	times, err := readTimeIndex(s.timeFile.Name())
	if err != nil {
		return err
	}
	if findEnd {
		if err := s.findEnd(offsets); err != nil {
			return err
		}
	}
	limit := uint64(s.next - s.base)
	if n := len(offsets); n > 0 && uint64(offsets[n-1].rel) >= limit {
		return fmt.Errorf("offset index entry +%d past segment end +%d: %w", offsets[n-1].rel, limit, errBadIndex)
	}
	if n := len(times); n > 0 && uint64(times[n-1].rel) >= limit {
		return fmt.Errorf("time index entry +%d past segment end +%d: %w", times[n-1].rel, limit, errBadIndex)
	}
	if len(times) == 0 && s.size > 0 {
		return fmt.Errorf("time index empty for a non-empty segment: %w", errBadIndex)
	}
	s.offsets, s.times = offsets, times
	if n := len(times); n > 0 {
		s.maxTS, s.maxTSOff = times[n-1].ts, s.base+int64(times[n-1].rel)
	}
	s.bytesSinceIndex = s.size
	if n := len(offsets); n > 0 {
		s.bytesSinceIndex = s.size - int64(offsets[n-1].pos)
	}
	return nil
}

// findEnd walks the headers from the last indexed batch to the end of the
// file and sets next.
func (s *segment) findEnd(offsets []offsetEntry) error {
	var pos int64
	s.next = s.base
	if n := len(offsets); n > 0 {
		pos = int64(offsets[n-1].pos)
		s.next = s.base + int64(offsets[n-1].rel)
	}
	br := newBatchReader(s.file, s.size)
	defer br.release()
	for pos < s.size {
		h, _, err := br.at(pos, false)
		if err != nil {
			return err
		}
		if h.BaseOffset < s.next {
			return fmt.Errorf("batch at position %d has offset %d, expected at least %d: %w", pos, h.BaseOffset, s.next, errBadHeader)
		}
		s.next = h.LastOffset() + 1
		pos += int64(h.Size())
	}
	return nil
}

// syncIndexes fsyncs the index files if they changed.
func (s *segment) syncIndexes() error {
	if s.indexSynced {
		return nil
	}
	if err := s.offFile.Sync(); err != nil {
		return err
	}
	if err := s.timeFile.Sync(); err != nil {
		return err
	}
	s.indexSynced = true
	return nil
}

// findBatch returns the position and header of the first batch whose last
// offset is at least offset, starting the scan from the offset index.
// found is false when no such batch is in this segment.
func (s *segment) findBatch(offset int64) (pos int64, h batch.Header, found bool, err error) {
	rel := uint32(min(max(offset-s.base, 0), maxRelOffset))
	e, _, err := s.lastOffsetEntry(func(e offsetEntry) bool { return e.rel > rel })
	if err != nil {
		return 0, h, false, err
	}
	pos = int64(e.pos) // 0 when no entry is at or below rel
	br := newHeaderReader(s.file, s.size)
	defer br.release()
	for pos < s.size {
		h, _, err = br.at(pos, false)
		if err != nil {
			return 0, h, false, err
		}
		if h.LastOffset() >= offset {
			return pos, h, true, nil
		}
		pos += int64(h.Size())
	}
	return pos, batch.Header{}, false, nil
}

// batchesEnd returns where the longest run of whole batches that starts at
// pos (a batch boundary) ends, if it ends at or before limit and holds only
// offsets below maxOffset. It reads batch headers only, and only from the
// last offset-index entry inside the run on: the batches before that entry
// qualify without a look, since positions and offsets only grow.
func (s *segment) batchesEnd(pos, limit, maxOffset int64) (int64, error) {
	limit = min(limit, s.size)
	if limit == s.size && maxOffset >= s.next {
		return s.size, nil
	}
	e, ok, err := s.lastOffsetEntry(func(e offsetEntry) bool {
		return int64(e.pos) > limit || s.base+int64(e.rel) >= maxOffset
	})
	if err != nil {
		return 0, err
	}
	at := pos
	if ok {
		at = max(at, int64(e.pos))
	}
	br := newHeaderReader(s.file, s.size)
	defer br.release()
	for at < limit {
		h, _, err := br.at(at, false)
		if err != nil {
			return 0, err
		}
		end := at + int64(h.Size())
		if end > limit || h.LastOffset() >= maxOffset {
			break
		}
		at = end
	}
	return at, nil
}

// chunk returns the file range [pos, end) as a Chunk holding a reference.
func (s *segment) chunk(pos, end int64) Chunk {
	s.file.acquire()
	return Chunk{f: s.file, pos: pos, n: end - pos}
}

// finishRecovered sets a recovered segment's roll clock: the first batch's
// timestamp, as Kafka does, or the file's modification time.
func (s *segment) finishRecovered() error {
	if s.size == 0 {
		return nil
	}
	br := newBatchReader(s.file, s.size)
	defer br.release()
	h, _, err := br.at(0, false)
	if err != nil {
		return err
	}
	if h.MaxTimestamp >= 0 {
		s.rollBase = time.UnixMilli(h.MaxTimestamp)
	}
	return nil
}
