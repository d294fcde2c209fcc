package log

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"
)

// Open opens the partition log in dir, creating the directory if it is
// missing, and recovers it.
//
// After a clean Close (the clean-shutdown marker is present) it trusts the
// segments and their indexes, checking only that the last batch of the last
// segment fits in its file. Otherwise it scans every segment from the one
// holding the recovery point (the offset below which everything was
// fsynced) batch by batch, checking lengths and CRCs, truncates the first
// torn or corrupt batch and everything after it (logged with the offset and
// reason), and rebuilds those segments' indexes. Missing or inconsistent
// index files of any segment are rebuilt. Producer state comes from the
// newest usable snapshot plus the batches after it. The leader epoch cache
// comes from its checkpoint, fitted to the recovered log (see
// EndOffsetForEpoch), or is rebuilt from the batches if the checkpoint is
// missing or unreadable.
//
// A nil logger logs nothing.
func Open(dir string, cfg Config, logger *zap.Logger) (*Log, error) {
	if logger == nil {
		logger = zap.NewNop()
	}
	l := &Log{dir: dir, logger: logger, cfg: cfg.normalized(), producers: make(producerState), tombstonesDue: -1, epochs: newEpochCache(nil)}
	l.txns.reset()
	if err := l.open(); err != nil {
		l.closeFiles()
		return nil, fmt.Errorf("log %s: open: %w", dir, err)
	}
	return l, nil
}

func (l *Log) open() error {
	if err := os.MkdirAll(l.dir, 0o755); err != nil {
		return err
	}
	bases, err := l.scanDir()
	if err != nil {
		return err
	}
	clean := fileExists(l.path(cleanShutdownFile))
	startCk, haveStart, err := readCheckpoint(l.dir, logStartFile)
	if err != nil {
		return err
	}
	rp, _, err := readCheckpoint(l.dir, recoveryPointFile)
	if err != nil {
		return err
	}

	for _, base := range bases {
		s, err := openSegment(l.dir, base, false)
		if err != nil {
			return err
		}
		l.segs = append(l.segs, s)
	}
	if err := l.loadSegments(clean, rp); err != nil {
		return err
	}
	if len(l.segs) == 0 {
		s, err := openSegment(l.dir, max(startCk, 0), true)
		if err != nil {
			return err
		}
		l.segs = append(l.segs, s)
	}

	l.start = l.segs[0].base
	if haveStart && startCk > l.start {
		l.start = startCk
	}
	if end := l.endOffset(); l.start > end {
		// The checkpointed start is past what survived: start over there.
		l.logger.Warn("log start offset past log end; starting empty at log start",
			zap.String("dir", l.dir), zap.Int64("log_start_offset", l.start), zap.Int64("log_end_offset", end))
		if err := l.resetTo(l.start, time.Now()); err != nil {
			return err
		}
	}

	for _, s := range l.segs {
		if err := s.loadAborted(); err != nil {
			return err
		}
	}
	if err := l.loadProducers(); err != nil {
		return err
	}
	if err := l.loadEpochs(rp); err != nil {
		return err
	}
	if l.cleanerCheckpoint, l.tombstonesDue, err = readCleanerCheckpoint(l.dir); err != nil {
		return err
	}
	// Recovery may have cut the log below the checkpoint; what is
	// appended there from now on is dirty.
	l.cleanerCheckpoint = min(l.cleanerCheckpoint, l.endOffset())

	// From here a crash is unclean again. Make everything recovered durable
	// so the recovery point can be the end.
	l.recoveryPoint = min(rp, l.endOffset())
	if !clean {
		for _, s := range l.segs {
			if err := s.file.Sync(); err != nil {
				return err
			}
			if err := s.syncIndexes(); err != nil {
				return err
			}
		}
	}
	l.recoveryPoint = l.endOffset()
	if err := writeCheckpoint(l.dir, recoveryPointFile, l.recoveryPoint, false); err != nil {
		return err
	}
	l.checkpointedRP = l.recoveryPoint
	if clean {
		if err := os.Remove(l.path(cleanShutdownFile)); err != nil {
			return err
		}
	}
	return syncDir(l.dir)
}

// scanDir finishes or undoes an interrupted clean, removes leftovers of
// interrupted deletions and writes, and index files without a segment, and
// returns the segment base offsets in ascending order.
func (l *Log) scanDir() ([]int64, error) {
	if err := l.recoverCleaning(); err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(l.dir)
	if err != nil {
		return nil, err
	}
	logs := map[int64]bool{}
	var indexes []string
	for _, de := range entries {
		name := de.Name()
		switch {
		case strings.HasSuffix(name, deletedSuffix), strings.HasSuffix(name, tmpSuffix):
			if err := os.Remove(l.path(name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return nil, err
			}
		case strings.HasSuffix(name, ".log"):
			base, err := strconv.ParseInt(strings.TrimSuffix(name, ".log"), 10, 64)
			if err != nil || base < 0 {
				l.logger.Warn("ignoring unexpected file", zap.String("dir", l.dir), zap.String("file", name))
				continue
			}
			logs[base] = true
		case strings.HasSuffix(name, ".index"), strings.HasSuffix(name, ".timeindex"), strings.HasSuffix(name, txnIndexExt):
			indexes = append(indexes, name)
		}
	}
	for _, name := range indexes {
		base, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(name, txnIndexExt), ".timeindex"), ".index"), 10, 64)
		if err == nil && !logs[base] {
			_ = os.Remove(l.path(name))
		}
	}
	bases := make([]int64, 0, len(logs))
	for b := range logs {
		bases = append(bases, b)
	}
	sort.Slice(bases, func(i, j int) bool { return bases[i] < bases[j] })
	return bases, nil
}

// loadSegments brings every opened segment's bookkeeping up: trusted ones
// from their indexes, the rest by a scan that truncates at the first bad
// batch. A truncation in a segment drops all segments after it.
func (l *Log) loadSegments(clean bool, rp int64) error {
	recoverFrom := len(l.segs)
	if !clean && len(l.segs) > 0 {
		recoverFrom = 0
		for i, s := range l.segs {
			if s.base <= rp {
				recoverFrom = i
			}
		}
	}
	for i := 0; i < len(l.segs); i++ {
		s := l.segs[i]
		last := i == len(l.segs)-1
		if i < recoverFrom {
			if !last {
				s.next = l.segs[i+1].base
			}
			err := s.loadIndexes(last)
			if err == nil {
				continue
			}
			if !errors.Is(err, errBadIndex) && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, errTorn) && !errors.Is(err, errBadHeader) {
				return err
			}
			l.logger.Warn("rebuilding segment index", zap.String("dir", l.dir), zap.Int64("base_offset", s.base), zap.Error(err))
		}
		truncated, err := l.recoverSegment(s, i >= recoverFrom || last)
		if err != nil {
			return err
		}
		if !last && s.next > l.segs[i+1].base {
			return fmt.Errorf("segment %d ends at offset %d, past the next segment's base %d", s.base, s.next, l.segs[i+1].base)
		}
		if truncated && !last {
			dropped := l.segs[i+1:]
			l.segs = l.segs[:i+1]
			for _, d := range dropped {
				l.logger.Warn("deleting segment after a corrupt one", zap.String("dir", l.dir), zap.Int64("base_offset", d.base))
				_ = d.close()
				removeAll(d.paths())
			}
		}
	}
	for _, s := range l.segs[:max(len(l.segs)-1, 0)] {
		s.page()
	}
	return nil
}

// recoverSegment rebuilds a segment's indexes by walking its batches. With
// verify it checks each batch's CRC too and truncates the file at the first
// bad batch; it reports whether it did.
func (l *Log) recoverSegment(s *segment, verify bool) (truncated bool, err error) {
	res, err := s.rebuild(l.cfg.IndexIntervalBytes, verify)
	if err != nil {
		return false, err
	}
	if res.reason != nil {
		if !verify {
			// A trusted segment turned out damaged: check it fully.
			return l.recoverSegment(s, true)
		}
		l.logger.Warn("truncating log at a torn or corrupt batch",
			zap.String("dir", l.dir), zap.String("segment", filepath.Base(s.logPath)),
			zap.Int64("offset", s.next), zap.Int64("position", res.validEnd),
			zap.Int64("bytes_dropped", s.size-res.validEnd), zap.Error(res.reason))
		if err := s.truncateFile(res.validEnd); err != nil {
			return false, err
		}
		truncated = true
	}
	if err := s.finishRecovered(); err != nil {
		return false, err
	}
	return truncated, s.writeIndexes()
}

// loadProducers restores producer state from the newest snapshot at or
// below the log end whose CRC holds, then replays the batches after it.
func (l *Log) loadProducers() error {
	offs, err := listSnapshots(l.dir)
	if err != nil {
		return err
	}
	end := l.endOffset()
	from := l.segs[0].base
	for i := len(offs) - 1; i >= 0; i-- {
		off := offs[i]
		if off > end {
			_ = os.Remove(snapshotPath(l.dir, off))
			continue
		}
		b, err := os.ReadFile(snapshotPath(l.dir, off))
		if err == nil {
			var ps producerState
			if ps, err = decodeProducerState(b, time.Now().UnixMilli()); err == nil {
				l.producers, from = ps, max(off, from)
				break
			}
		}
		l.logger.Warn("ignoring producer snapshot", zap.String("dir", l.dir), zap.Int64("offset", off), zap.Error(err))
		_ = os.Remove(snapshotPath(l.dir, off))
	}
	l.txns.reset()
	for id, e := range l.producers {
		if e.txnFirst >= 0 {
			l.txns.ongoing[id] = e.txnFirst
		}
	}
	for _, s := range l.segs {
		if s.next > from || s.base >= from {
			if err := s.dropAbortedFrom(from); err != nil {
				return err
			}
		}
	}
	if err := l.replayProducers(from); err != nil {
		return err
	}
	l.pruneDecided()
	l.refreshLastAbort()
	return nil
}

// replayProducers applies every idempotent batch at or after offset from to
// the producer state.
func (l *Log) replayProducers(from int64) error {
	for i := l.segmentFor(from); i < len(l.segs); i++ {
		s := l.segs[i]
		if s.next <= from {
			continue
		}
		pos, _, found, err := s.findBatch(from)
		if err != nil {
			return err
		}
		if !found {
			continue
		}
		br := newBatchReader(s.file, s.size)
		for pos < s.size {
			h, _, err := br.at(pos, false)
			if err != nil {
				br.release()
				return err
			}
			if h.Idempotent() && h.LastOffset() >= from {
				kind := ctlNone
				if h.IsControl() {
					_, b, err := br.at(pos, true)
					if err == nil {
						kind, err = markerKind(b)
					}
					if err != nil {
						br.release()
						return fmt.Errorf("control batch at offset %d: %w", h.BaseOffset, err)
					}
				}
				l.producers.update(h, h.BaseOffset, h.LastOffset(), h.MaxTimestamp)
				if err := l.track(s, h, kind); err != nil {
					br.release()
					return err
				}
			}
			pos += int64(h.Size())
		}
		br.release()
	}
	return nil
}

// resetTo deletes every segment and starts an empty log at offset, with an
// empty leader epoch cache (Kafka's truncateFullyAndStartAt).
// Callers hold mu (or own the log exclusively, as Open does).
func (l *Log) resetTo(offset int64, now time.Time) error {
	old := l.segs
	l.segs = nil
	s, err := openSegment(l.dir, offset, true)
	if err != nil {
		l.segs = old
		return err
	}
	var del []*segment
	for _, o := range old {
		if o.base != offset {
			del = append(del, o)
		} else {
			_ = o.close() // same files as s, already truncated
		}
	}
	l.segs = []*segment{s}
	l.deleteSegments(del, now, "reset")
	l.start = offset
	l.truncations++
	l.cleanerCheckpoint, l.tombstonesDue = offset, -1
	if err := writeCleanerCheckpoint(l.dir, offset, -1); err != nil {
		return err
	}
	l.producers = make(producerState)
	l.txns.reset()
	l.txnOpen.Store(0)
	if offs, err := listSnapshots(l.dir); err == nil {
		for _, off := range offs {
			_ = os.Remove(snapshotPath(l.dir, off))
		}
	}
	if err := l.setEpochs(newEpochCache(nil)); err != nil {
		return err
	}
	return writeCheckpoint(l.dir, logStartFile, offset, true)
}
