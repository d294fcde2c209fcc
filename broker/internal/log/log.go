package log

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/kspring/kspring/broker/internal/batch"
)

// Log is one partition's log. It is safe for concurrent use: writers
// (Append, AppendReplicated, AssignEpoch, Maintain, DeleteRecords,
// Truncate, SetConfig, Close) take turns on an internal lock, readers
// (Read, OffsetForTimestamp, offsets, ...) run concurrently with each other
// and wait only for the short critical section of a write. fsync runs
// outside that lock, so a flush does not stall readers; the one exception
// is the leader epoch checkpoint, fsynced under it when the cache changes
// (once per leader change, as Kafka does).
//
// Lock order: cleanMu, then flushMu, then mu. flushMu is held by
// everything that fsyncs or closes files (Flush, Maintain, DeleteRecords,
// Truncate, Close, Delete, and Compact while it swaps segments), so a file
// being synced is never closed under the sync. cleanMu serializes Compact.
type Log struct {
	dir    string
	logger *zap.Logger

	cleanMu sync.Mutex
	flushMu sync.Mutex
	mu      sync.RWMutex

	cfg       Config
	segs      []*segment // ascending base offsets; the last is active; never empty while open
	start     int64      // log start offset
	producers producerState
	txns      txnState     // ongoing and unreplicated decided transactions
	txnOpen   atomic.Int64 // len(txns.ongoing)+len(txns.decided), read without mu
	hwSeen    atomic.Int64 // highest high watermark passed to LastStableOffset

	recoveryPoint  int64 // everything below was fsynced
	checkpointedRP int64 // recovery point last written to disk
	lastTimeFlush  time.Time
	pendingDeletes []pendingDelete
	closed         bool

	cleanerCheckpoint int64  // first dirty offset: compaction has cleaned below it
	tombstonesDue     int64  // ms when the earliest tombstone kept by compaction expires; -1 none
	truncations       uint64 // counts truncations, so a clean across one is abandoned

	epochs epochCache // leader epoch -> start offset, mirrored in leader-epoch-checkpoint

	testHook func(step string) error // see hook; nil outside tests
}

type pendingDelete struct {
	paths []string
	at    time.Time
}

// AppendResult describes a successful Append or AppendReplicated.
type AppendResult struct {
	BaseOffset     int64 // offset of the first record written (or of the original, for a duplicate)
	LastOffset     int64 // offset of the last record written
	LogAppendTime  int64 // ms; -1 unless the log uses LogAppendTime
	Duplicate      bool  // the batch repeated one already written; nothing was written
	LogStartOffset int64
}

func (l *Log) active() *segment { return l.segs[len(l.segs)-1] }

func (l *Log) endOffset() int64 { return l.active().next }

// StartOffset returns the log start offset: the first offset a reader may
// fetch.
func (l *Log) StartOffset() int64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.start
}

// EndOffset returns the log end offset: the offset the next record gets.
func (l *Log) EndOffset() int64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.endOffset()
}

// Size returns the bytes in all segments.
func (l *Log) Size() int64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	var n int64
	for _, s := range l.segs {
		n += s.size
	}
	return n
}

// Dir returns the partition directory.
func (l *Log) Dir() string { return l.dir }

// SetConfig applies a changed topic configuration. It takes effect on the
// next Append or Maintain.
func (l *Log) SetConfig(cfg Config) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cfg = cfg.normalized()
}

// Config returns the configuration in force, with defaults filled in.
func (l *Log) Config() Config {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.cfg
}

// ProducerState returns what the log knows of an idempotent producer: its
// epoch and the sequence of its last batch (-1 if none).
func (l *Log) ProducerState(producerID int64) (epoch int16, lastSeq int32, ok bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	e, ok := l.producers[producerID]
	if !ok {
		return 0, 0, false
	}
	return e.epoch, e.lastSeq(), true
}

type appendBatch struct {
	b   []byte
	h   batch.Header
	ctl ctlKind // the marker a control batch holds
}

// Append writes batches, one or more complete batches that the caller has
// checked with batch.Validate, at the end of the log. It assigns offsets
// from EndOffset, patching each batch's base offset and partition leader
// epoch in place (and its timestamp, for LogAppendTime logs): the caller's
// slice is modified and must not be in use elsewhere. The log does not keep
// the slice after Append returns.
//
// Batches from idempotent producers are checked against the producer's
// state (see ErrInvalidProducerEpoch, ErrOutOfOrderSequence); a retried
// batch equal to one of the producer's last five is not written again and
// yields Duplicate with the original offsets. A batch with no records is
// refused with batch.ErrInvalid, as Kafka refuses it from producers.
//
// A leaderEpoch newer than the leader epoch cache's latest starts a new
// entry at the first batch's offset (see EndOffsetForEpoch); a negative one
// is not recorded.
//
// The batches are written with one write to the active segment, which is
// rolled first if they would not fit, if it is older than SegmentMs, or if
// an index is full. They reach the disk per the flush policy.
func (l *Log) Append(batches []byte, leaderEpoch int32, now time.Time) (AppendResult, error) {
	var stack [4]appendBatch
	list := stack[:0]
	err := batch.Split(batches, func(b []byte) error {
		h, err := batch.ParseHeader(b)
		if err != nil {
			return err
		}
		if h.NumRecords <= 0 || h.LastOffsetDelta < 0 {
			return fmt.Errorf("batch with %d records: %w", h.NumRecords, batch.ErrInvalid)
		}
		if h.IsControl() {
			return fmt.Errorf("control batch from a producer (markers are written with AppendMarker): %w", batch.ErrInvalid)
		}
		list = append(list, appendBatch{b: b, h: h})
		return nil
	})
	if err == nil && len(list) == 0 {
		err = fmt.Errorf("no batches: %w", batch.ErrInvalid)
	}
	if err != nil {
		return AppendResult{}, fmt.Errorf("log %s: append: %w", l.dir, err)
	}

	l.mu.Lock()
	res, flush, err := l.appendLocked(batches, list, leaderEpoch, now)
	l.mu.Unlock()
	return l.appended(res, flush, err, "append")
}

// AppendReplicated appends batches fetched from the partition's leader, as
// a follower does: one or more complete batches whose base offsets,
// partition leader epochs and timestamps the leader assigned. They are
// written as they are, not patched, so the caller's slice is not modified;
// the log does not keep it after AppendReplicated returns.
//
// The first batch must start at EndOffset, and each later one after the
// last offset of the one before it (a compacted leader's log has gaps, so
// a batch may start further on). Otherwise nothing is written and the
// error wraps ErrOffsetMismatch. A batch must frame and pass its CRC, as
// Kafka checks replicated batches too (batch.ErrCorrupt), and have a last
// offset at or after its base (batch.ErrInvalid); one with no records is
// accepted, as compaction leaves them.
//
// Idempotent producers' state is updated as the leader updated it, so
// that, should this log become the leader, it deduplicates retries and
// continues sequences; but as in Kafka's replication path nothing is
// refused for its producer epoch or sequence, and nothing is a duplicate.
// Each batch whose partition leader epoch is newer than the leader epoch
// cache's latest starts a new entry at its base offset.
//
// The write, the rolls and the flush policy are Append's. AppendResult
// holds the first and last offsets written; LogAppendTime is -1 (the
// batches carry the leader's timestamps).
func (l *Log) AppendReplicated(batches []byte, now time.Time) (AppendResult, error) {
	var stack [4]appendBatch
	list := stack[:0]
	err := batch.Split(batches, func(b []byte) error {
		h, err := batch.VerifyChecksum(b)
		if err != nil {
			return err
		}
		if h.NumRecords < 0 || h.LastOffsetDelta < 0 {
			return fmt.Errorf("batch at offset %d: %d records, last offset delta %d: %w", h.BaseOffset, h.NumRecords, h.LastOffsetDelta, batch.ErrInvalid)
		}
		if n := len(list); n > 0 && h.BaseOffset <= list[n-1].h.LastOffset() {
			return fmt.Errorf("batch at offset %d follows one ending at %d: %w", h.BaseOffset, list[n-1].h.LastOffset(), ErrOffsetMismatch)
		}
		ab := appendBatch{b: b, h: h}
		if h.IsControl() && h.Idempotent() {
			if ab.ctl, err = markerKind(b); err != nil {
				return fmt.Errorf("control batch at offset %d: %w", h.BaseOffset, err)
			}
		}
		list = append(list, ab)
		return nil
	})
	if err == nil && len(list) == 0 {
		err = fmt.Errorf("no batches: %w", batch.ErrInvalid)
	}
	if err != nil {
		return AppendResult{}, fmt.Errorf("log %s: append replicated: %w", l.dir, err)
	}

	l.mu.Lock()
	res, flush, err := l.appendReplicatedLocked(batches, list, now)
	l.mu.Unlock()
	return l.appended(res, flush, err, "append replicated")
}

func (l *Log) appendReplicatedLocked(data []byte, list []appendBatch, now time.Time) (AppendResult, bool, error) {
	if l.closed {
		return AppendResult{}, false, ErrClosed
	}
	if end, first := l.endOffset(), list[0].h.BaseOffset; first != end {
		return AppendResult{}, false, fmt.Errorf("first batch at offset %d, log end offset %d: %w", first, end, ErrOffsetMismatch)
	}
	flush, err := l.writeLocked(data, list, now)
	if err != nil {
		return AppendResult{}, false, err
	}
	return AppendResult{
		BaseOffset: list[0].h.BaseOffset, LastOffset: list[len(list)-1].h.LastOffset(),
		LogAppendTime: -1, LogStartOffset: l.start,
	}, flush, nil
}

// appended finishes an append outside the lock: the error wrapped, or the
// flush the policy asked for.
func (l *Log) appended(res AppendResult, flush bool, err error, what string) (AppendResult, error) {
	if err != nil {
		return AppendResult{}, fmt.Errorf("log %s: %s: %w", l.dir, what, err)
	}
	if flush {
		if err := l.Flush(); err != nil {
			return res, err
		}
	}
	return res, nil
}

func (l *Log) appendLocked(data []byte, list []appendBatch, leaderEpoch int32, now time.Time) (AppendResult, bool, error) {
	if l.closed {
		return AppendResult{}, false, ErrClosed
	}

	// Producer checks run on working copies, so a refused append changes
	// nothing; the state is updated for real after the write.
	var staged map[int64]*producerEntry
	for _, ab := range list {
		h := ab.h
		if !h.Idempotent() {
			continue
		}
		e, touched := staged[h.ProducerID]
		if !touched {
			e = l.producers[h.ProducerID]
			if dup, ok := l.producers.duplicateOf(h); ok {
				return AppendResult{
					BaseOffset: dup.baseOffset, LastOffset: dup.lastOffset,
					LogAppendTime: -1, Duplicate: true, LogStartOffset: l.start,
				}, false, nil
			}
		}
		if err := checkProducerBatch(e, h); err != nil {
			return AppendResult{}, false, err
		}
		if e != nil && e.txnFirst >= 0 && !h.IsTransactional() {
			return AppendResult{}, false, fmt.Errorf("producer %d: non-transactional batch during its transaction: %w", h.ProducerID, ErrInvalidTxnState)
		}
		switch {
		case e == nil:
			e = &producerEntry{epoch: h.ProducerEpoch, txnFirst: -1}
		case !touched:
			e = e.clone()
		}
		e.apply(h, -1, -1)
		if staged == nil {
			staged = make(map[int64]*producerEntry, 1)
		}
		staged[h.ProducerID] = e
	}

	next := l.endOffset()
	appendTime := int64(-1)
	if l.cfg.logAppendTime() {
		appendTime = now.UnixMilli()
	}
	res := AppendResult{BaseOffset: next, LogAppendTime: appendTime}
	for i := range list {
		ab := &list[i]
		batch.SetBaseOffset(ab.b, next)
		batch.SetPartitionLeaderEpoch(ab.b, leaderEpoch)
		if appendTime >= 0 {
			batch.SetLogAppendTime(ab.b, appendTime)
			ab.h.MaxTimestamp = appendTime
		}
		ab.h.BaseOffset, ab.h.PartitionLeaderEpoch = next, leaderEpoch
		next = ab.h.LastOffset() + 1
	}
	res.LastOffset = next - 1

	flush, err := l.writeLocked(data, list, now)
	if err != nil {
		return AppendResult{}, false, err
	}
	res.LogStartOffset = l.start
	return res, flush, nil
}

// writeLocked writes batches whose offsets and partition leader epochs are
// final at the end of the log: the one writer behind Append and
// AppendReplicated. data holds the batches of list back to back, the first
// at the log end. It records leader epochs newer than the cache's latest,
// rolls the active segment as needed, writes each run of batches that fits
// one segment's offset range with one write (a single run, but for a
// replicated batch far past a compaction gap), indexes the batches and
// records idempotent producers' batches. It reports whether the flush
// policy asks for a flush. Callers hold mu.
//
// On an error nothing of the failed run is left in the log; runs written
// before it stay.
func (l *Log) writeLocked(data []byte, list []appendBatch, now time.Time) (flush bool, err error) {
	noted := false
	for i := range list {
		// The common case, an append in the current epoch, costs this
		// one compare per batch.
		if list[i].h.PartitionLeaderEpoch > l.epochs.latest {
			if err := l.noteEpochs(list[i:]); err != nil {
				return false, err
			}
			noted = true
			break
		}
	}
	for len(list) > 0 {
		n, size := 1, list[0].h.Size()
		for n < len(list) && list[n].h.LastOffset()-list[0].h.BaseOffset <= maxRelOffset {
			size += list[n].h.Size()
			n++
		}
		if err := l.writeRun(data[:size], list[:n], now); err != nil {
			if noted {
				l.dropEpochsPastEnd()
			}
			return false, err
		}
		data, list = data[size:], list[n:]
	}
	return l.endOffset()-l.recoveryPoint >= l.cfg.FlushIntervalMessages, nil
}

// writeRun writes batches that fit one segment's offset range with one
// write to the active segment, rolling it first if needed.
func (l *Log) writeRun(data []byte, list []appendBatch, now time.Time) error {
	if err := l.maybeRoll(int64(len(data)), list[0].h.BaseOffset, list[len(list)-1].h.LastOffset(), now); err != nil {
		return err
	}
	seg := l.active()
	if _, err := seg.file.WriteAt(data, seg.size); err != nil {
		// Cut whatever part of the write landed, so the file ends on a
		// batch boundary again.
		if terr := seg.file.Truncate(seg.size); terr != nil {
			err = errors.Join(err, terr)
		}
		return err
	}
	if seg.size == 0 {
		seg.rollBase = now
	}
	pos := seg.size
	for _, ab := range list {
		off, t := seg.indexBatch(pos, ab.h, l.cfg.IndexIntervalBytes)
		if err := seg.writeIndexEntries(off, t); err != nil {
			// The data is written; a bad index is rebuilt at recovery.
			l.logger.Warn("index write failed", zap.String("dir", l.dir), zap.Int64("offset", ab.h.BaseOffset), zap.Error(err))
		}
		pos += int64(ab.h.Size())
		if ab.h.Idempotent() {
			l.producers.update(ab.h, ab.h.BaseOffset, ab.h.LastOffset(), now.UnixMilli())
			if ab.ctl != ctlNone || ab.h.IsTransactional() {
				if err := l.track(seg, ab.h, ab.ctl); err != nil {
					// The batch is written; recovery rebuilds the index.
					l.logger.Warn("aborted transaction index write failed", zap.String("dir", l.dir), zap.Int64("offset", ab.h.BaseOffset), zap.Error(err))
				}
			}
		}
	}
	seg.size = pos
	return nil
}

// maybeRoll rolls the active segment if an append of size bytes holding
// offsets first..last would overfill it, if it is older than SegmentMs, or
// if an index is full. An empty segment is never rolled. The new segment
// starts at the log end, or at first if last is out of range from there
// too (a replicated batch past a wide compaction gap).
func (l *Log) maybeRoll(size, first, last int64, now time.Time) error {
	seg := l.active()
	if seg.size == 0 {
		return nil
	}
	var why string
	switch {
	case seg.size+size > l.cfg.SegmentBytes:
		why = "size"
	case now.Sub(seg.rollBase) >= l.cfg.rollMs():
		why = "age"
	case len(seg.offsets) >= int(l.cfg.SegmentIndexBytes/offsetEntrySize) || len(seg.times) >= int(l.cfg.SegmentIndexBytes/timeEntrySize):
		why = "index full"
	case last-seg.base > maxRelOffset:
		why = "offset range"
	default:
		return nil
	}
	base := seg.next
	if last-base > maxRelOffset {
		base = first
	}
	return l.rollAt(why, base)
}

// roll closes the active segment for writes and starts a new one at the log
// end. The old segment is fsynced by the next Flush or Maintain.
func (l *Log) roll(why string) error { return l.rollAt(why, l.active().next) }

// rollAt is roll with the new segment starting at base, at or after the
// log end.
func (l *Log) rollAt(why string, base int64) error {
	old := l.active()
	if err := old.finish(); err != nil {
		return err
	}
	seg, err := openSegment(l.dir, base, true)
	if err != nil {
		return fmt.Errorf("roll: %w", err)
	}
	old.page() // only now: had the roll failed, old would stay active
	l.segs = append(l.segs, seg)
	l.logger.Debug("rolled segment", zap.String("dir", l.dir), zap.Int64("base_offset", seg.base), zap.String("reason", why))
	// A snapshot per roll bounds replay after a crash. It is not fsynced:
	// its CRC tells a torn one, and an older one (or a full replay) serves.
	if err := l.writeSnapshot(seg.base, false); err != nil {
		l.logger.Warn("producer snapshot failed", zap.String("dir", l.dir), zap.Error(err))
	}
	return nil
}

// writeSnapshot saves the producer state at offset off and drops old
// snapshots beyond the last few.
func (l *Log) writeSnapshot(off int64, durable bool) error {
	if err := writeFileAtomic(l.dir, segmentName(off, snapshotExt), l.producers.encode(), durable); err != nil {
		return err
	}
	offs, err := listSnapshots(l.dir)
	if err != nil {
		return err
	}
	for len(offs) > keepSnapshots {
		_ = os.Remove(snapshotPath(l.dir, offs[0]))
		offs = offs[1:]
	}
	return nil
}

// segmentFor returns the index of the segment that holds offset: the last
// whose base is at most offset (0 if offset is below every base).
func (l *Log) segmentFor(offset int64) int {
	i := sort.Search(len(l.segs), func(i int) bool { return l.segs[i].base > offset })
	return max(i-1, 0)
}

// Flush fsyncs everything written so far and advances the recovery point.
func (l *Log) Flush() error {
	l.flushMu.Lock()
	defer l.flushMu.Unlock()
	return l.flushLocked()
}

// flushLocked needs flushMu. It syncs outside mu: files are closed only
// under flushMu, so none is closed during the sync.
func (l *Log) flushLocked() error {
	l.mu.RLock()
	if l.closed {
		l.mu.RUnlock()
		return ErrClosed
	}
	end := l.endOffset()
	var logs []*os.File
	var inactive []*segment
	type txnIndexSync struct {
		s   *segment
		gen uint64
	}
	var txnIndexes []txnIndexSync
	for i, s := range l.segs {
		last := i == len(l.segs)-1
		if s.next > l.recoveryPoint || (s.size > 0 && s.base >= l.recoveryPoint) {
			logs = append(logs, s.file.File)
		}
		if s.abortedDirty {
			txnIndexes = append(txnIndexes, txnIndexSync{s, s.abortedGen})
		}
		if !last && !s.indexSynced {
			inactive = append(inactive, s)
		}
	}
	l.mu.RUnlock()

	for _, f := range logs {
		if err := f.Sync(); err != nil {
			return fmt.Errorf("log %s: flush: %w", l.dir, err)
		}
	}
	// Aborted transaction indexes too: recovery replays only from the
	// newest snapshot, trusting the entries before it. They change only
	// under mu, which flushMu's holder does not need for this.
	for _, ts := range txnIndexes {
		if err := syncTxnIndex(ts.s.txnPath()); err != nil {
			return fmt.Errorf("log %s: flush aborted transaction index: %w", l.dir, err)
		}
	}
	// Index files of inactive segments must be durable before the recovery
	// point passes them: recovery trusts them from then on. indexSynced is
	// guarded by mu, and inactive segments' indexes no longer change.
	for _, s := range inactive {
		if err := s.offFile.Sync(); err != nil {
			return fmt.Errorf("log %s: flush index: %w", l.dir, err)
		}
		if err := s.timeFile.Sync(); err != nil {
			return fmt.Errorf("log %s: flush index: %w", l.dir, err)
		}
	}
	l.mu.Lock()
	for _, s := range inactive {
		s.indexSynced = true
	}
	for _, ts := range txnIndexes {
		if ts.s.abortedGen == ts.gen { // nothing written since the sync
			ts.s.abortedDirty = false
		}
	}
	if end > l.recoveryPoint {
		l.recoveryPoint = end
	}
	l.mu.Unlock()
	return nil
}

// Close flushes the log, saves the producer state and index ends, writes
// the clean-shutdown marker and closes the files. Later calls do nothing;
// other methods return ErrClosed.
func (l *Log) Close() error {
	l.flushMu.Lock()
	defer l.flushMu.Unlock()
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.mu.Unlock()
	err := l.flushLocked()

	l.mu.Lock()
	defer l.mu.Unlock()
	if err == nil {
		err = l.closeCleanly()
	}
	l.closeFiles()
	l.closed = true
	if err != nil {
		return fmt.Errorf("log %s: close: %w", l.dir, err)
	}
	return nil
}

// closeCleanly writes what a clean open needs: the active segment's last
// time-index entry, durable indexes, a producer snapshot at the end, the
// recovery point, and last the marker.
func (l *Log) closeCleanly() error {
	act := l.active()
	if err := act.finish(); err != nil {
		return err
	}
	for _, s := range l.segs {
		if err := s.syncIndexes(); err != nil {
			return err
		}
	}
	end := l.endOffset()
	if err := l.writeSnapshot(end, true); err != nil {
		return err
	}
	if err := writeCheckpoint(l.dir, recoveryPointFile, end, true); err != nil {
		return err
	}
	for _, pd := range l.pendingDeletes {
		removeAll(pd.paths)
	}
	l.pendingDeletes = nil
	return writeFileAtomic(l.dir, cleanShutdownFile, nil, true)
}

func (l *Log) closeFiles() {
	for _, s := range l.segs {
		if err := s.close(); err != nil {
			l.logger.Warn("close segment", zap.String("dir", l.dir), zap.Int64("base_offset", s.base), zap.Error(err))
		}
	}
}

// Delete closes the log without the clean-shutdown work and removes its
// directory (topic deletion).
func (l *Log) Delete() error {
	l.flushMu.Lock()
	defer l.flushMu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.closed {
		l.closeFiles()
		l.closed = true
	}
	if err := os.RemoveAll(l.dir); err != nil {
		return fmt.Errorf("log %s: delete: %w", l.dir, err)
	}
	return nil
}

func removeAll(paths []string) {
	for _, p := range paths {
		_ = os.Remove(p)
	}
}

// deleteSegments renames the segments' files to *.deleted, closes them and
// removes them now or, with a FileDeleteDelay, from a later Maintain.
// Callers hold flushMu and mu and have already taken the segments out of
// l.segs.
func (l *Log) deleteSegments(segs []*segment, now time.Time, why string) {
	for _, s := range segs {
		var renamed []string
		for _, p := range s.paths() {
			if err := os.Rename(p, p+deletedSuffix); err == nil {
				renamed = append(renamed, p+deletedSuffix)
			} else {
				l.logger.Warn("rename for deletion", zap.String("path", p), zap.Error(err))
			}
		}
		if err := s.close(); err != nil {
			l.logger.Warn("close deleted segment", zap.String("dir", l.dir), zap.Error(err))
		}
		l.logger.Info("deleting segment", zap.String("dir", l.dir), zap.Int64("base_offset", s.base),
			zap.Int64("next_offset", s.next), zap.Int64("bytes", s.size), zap.String("reason", why))
		if l.cfg.FileDeleteDelay <= 0 {
			removeAll(renamed)
		} else {
			l.pendingDeletes = append(l.pendingDeletes, pendingDelete{paths: renamed, at: now.Add(l.cfg.FileDeleteDelay)})
		}
	}
}

// path joins a file name to the log directory.
func (l *Log) path(name string) string { return filepath.Join(l.dir, name) }
