package log

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"
)

// The swap, Kafka's protocol. With the cleaned files complete and fsynced:
//
//  1. rename <base>.{index,timeindex,log}.cleaned to .swap, the log file
//     last, and fsync the directory. The .log.swap file commits the clean:
//     from here a crash completes the swap instead of undoing it;
//  2. rename the group's original files to .deleted and fsync the
//     directory;
//  3. rename the .swap files to their final names, the log file last, and
//     fsync the directory.
//
// Open (recoverCleaning) removes .cleaned files: a clean that never
// committed, whose originals are intact. For a <base>.log.swap it
// completes the swap: the originals it replaces are the segments with a
// base in [base, end of the swap file), and their .deleted leftovers;
// segments of the group past that end held only records the clean dropped,
// so keeping them loses nothing. Index files of the swapped segment are
// rebuilt from the log.

// swapIn swaps the cleaned segment w for the group g and returns the new
// segment. It holds flushMu throughout, so nothing that deletes or rewrites
// segments (retention, DeleteRecords, Truncate, Close) runs meanwhile, and
// the write lock only to change the segment list.
func (l *Log) swapIn(g []cleanSeg, w *cleanedWriter, truncations uint64, now time.Time) (*segment, error) {
	l.flushMu.Lock()
	defer l.flushMu.Unlock()
	l.mu.RLock()
	closed := l.closed
	intact := l.intactLocked(g, truncations)
	l.mu.RUnlock()
	switch {
	case closed:
		return nil, ErrClosed
	case !intact:
		return nil, errCleanAborted
	}

	base := w.seg.base
	finals := cleanedPaths(l.dir, base)
	for _, p := range finals {
		if err := os.Rename(p+cleanedSuffix, p+swapSuffix); err != nil {
			l.undoSwap(base, nil)
			return nil, err
		}
	}
	if err := syncDir(l.dir); err != nil {
		l.undoSwap(base, nil)
		return nil, err
	}
	if err := l.hook("swap"); err != nil {
		return nil, err
	}

	var renamed []string // originals now named *.deleted
	for i, cs := range g {
		for _, p := range cs.seg.paths() {
			if err := os.Rename(p, p+deletedSuffix); err != nil {
				l.undoSwap(base, renamed)
				return nil, err
			}
			renamed = append(renamed, p)
		}
		if i == 0 {
			if err := l.hook("deleted-one"); err != nil {
				return nil, err
			}
		}
	}
	if err := syncDir(l.dir); err != nil {
		l.undoSwap(base, renamed)
		return nil, err
	}
	if err := l.hook("deleted"); err != nil {
		return nil, err
	}
	for i, p := range finals {
		if i == len(finals)-1 {
			if err := l.hook("final-index"); err != nil {
				return nil, err
			}
		}
		if err := os.Rename(p+swapSuffix, p); err != nil {
			l.undoSwap(base, renamed)
			return nil, err
		}
	}
	if err := l.hook("final"); err != nil {
		return nil, err
	}
	if err := syncDir(l.dir); err != nil {
		// The swap is visible; only its durability is in doubt, and
		// recovery handles either outcome.
		l.logger.Warn("sync directory after swap", zap.String("dir", l.dir), zap.Error(err))
	}
	ns, err := openSegment(l.dir, base, false)
	if err != nil {
		l.undoSwap(base, renamed)
		return nil, err
	}
	// The in-memory bookkeeping built while writing stands for the files.
	ns.size, ns.next = w.seg.size, w.seg.next
	ns.offsets, ns.times = w.seg.offsets, w.seg.times
	ns.maxTS, ns.maxTSOff = w.seg.maxTS, w.seg.maxTSOff
	ns.bytesSinceIndex = w.seg.bytesSinceIndex
	ns.indexSynced = true
	ns.page() // a cleaned segment is never the active one
	l.mu.RLock()
	for _, cs := range g {
		ns.aborted = append(ns.aborted, cs.seg.aborted...)
	}
	l.mu.RUnlock()
	if err := ns.rewriteAborted(); err != nil {
		// The entries stay in memory; the records they cover were
		// cleaned away (see filter), so a lost file hides nothing.
		l.logger.Warn("write aborted transaction index after a clean", zap.String("dir", l.dir), zap.Int64("base_offset", base), zap.Error(err))
	}

	l.mu.Lock()
	defer l.mu.Unlock()
	at, _ := l.groupAtLocked(g, truncations) // flushMu kept it in place
	old := make([]*segment, len(g))
	copy(old, l.segs[at:at+len(g)])
	l.segs = append(l.segs[:at], append([]*segment{ns}, l.segs[at+len(g):]...)...)
	var deleted []string
	for _, s := range old {
		if err := s.close(); err != nil {
			l.logger.Warn("close cleaned-out segment", zap.String("dir", l.dir), zap.Int64("base_offset", s.base), zap.Error(err))
		}
	}
	for _, p := range renamed {
		deleted = append(deleted, p+deletedSuffix)
	}
	if l.cfg.FileDeleteDelay <= 0 {
		removeAll(deleted)
	} else {
		l.pendingDeletes = append(l.pendingDeletes, pendingDelete{paths: deleted, at: now.Add(l.cfg.FileDeleteDelay)})
	}
	return ns, nil
}

// undoSwap puts the originals back under their names (over any final file
// already swapped in) and removes the cleaned and swap files: the log is as
// before the clean. If that fails too, Open sorts it out.
func (l *Log) undoSwap(base int64, renamed []string) {
	var errs []error
	for i := len(renamed) - 1; i >= 0; i-- {
		if err := os.Rename(renamed[i]+deletedSuffix, renamed[i]); err != nil {
			errs = append(errs, err)
		}
	}
	for _, p := range cleanedPaths(l.dir, base) {
		for _, suffix := range []string{swapSuffix, cleanedSuffix} {
			if err := os.Remove(p + suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, err)
			}
		}
	}
	if err := syncDir(l.dir); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		l.logger.Error("undoing an interrupted segment swap failed; the next open completes or undoes it",
			zap.String("dir", l.dir), zap.Int64("base_offset", base), zap.Error(errors.Join(errs...)))
	}
}

// recoverCleaning deals with what a crash during a clean left behind:
// .cleaned files are removed, swaps are completed (see the protocol above),
// and index .swap files without their log are removed.
func (l *Log) recoverCleaning() error {
	entries, err := os.ReadDir(l.dir)
	if err != nil {
		return err
	}
	var swaps []int64
	var stray []string
	logs := map[int64]bool{}
	for _, de := range entries {
		name := de.Name()
		switch {
		case strings.HasSuffix(name, cleanedSuffix):
			stray = append(stray, name)
		case strings.HasSuffix(name, ".log"+swapSuffix):
			base, err := strconv.ParseInt(strings.TrimSuffix(name, ".log"+swapSuffix), 10, 64)
			if err != nil || base < 0 {
				l.logger.Warn("ignoring unexpected file", zap.String("dir", l.dir), zap.String("file", name))
				continue
			}
			swaps = append(swaps, base)
		case strings.HasSuffix(name, swapSuffix):
			stray = append(stray, name) // index swaps: completed below or never committed
		case strings.HasSuffix(name, ".log"):
			if base, err := strconv.ParseInt(strings.TrimSuffix(name, ".log"), 10, 64); err == nil {
				logs[base] = true
			}
		}
	}
	if len(swaps) == 0 && len(stray) == 0 {
		return nil
	}
	sort.Slice(swaps, func(i, j int) bool { return swaps[i] < swaps[j] })
	for _, base := range swaps {
		if err := l.completeSwap(base, logs); err != nil {
			return fmt.Errorf("complete interrupted swap of segment %d: %w", base, err)
		}
	}
	for _, name := range stray {
		if err := os.Remove(l.path(name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return syncDir(l.dir)
}

// completeSwap finishes the swap of <base>.log.swap.
func (l *Log) completeSwap(base int64, logs map[int64]bool) error {
	swapPath := filepath.Join(l.dir, segmentName(base, ".log"+swapSuffix))
	end, err := segmentFileEnd(swapPath, base)
	if err != nil {
		return err
	}
	var replaced []int64
	for b := range logs {
		if b > base && b < end {
			replaced = append(replaced, b)
		}
	}
	for _, b := range replaced {
		logPath, offPath, timePath := segmentPaths(l.dir, b)
		removeAll([]string{logPath, offPath, timePath})
		delete(logs, b)
	}
	// The swapped segment's indexes are rebuilt from its log.
	logPath, offPath, timePath := segmentPaths(l.dir, base)
	for _, p := range []string{offPath, timePath, offPath + swapSuffix, timePath + swapSuffix} {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	if err := os.Rename(swapPath, logPath); err != nil {
		return err
	}
	logs[base] = true
	l.logger.Warn("completed a segment swap interrupted by a crash",
		zap.String("dir", l.dir), zap.Int64("base_offset", base), zap.Int64("end_offset", end),
		zap.Int64s("replaced_segments", replaced))
	return nil
}

// segmentFileEnd returns the offset after the last whole batch of the
// segment file at path (base if it has none).
func segmentFileEnd(path string, base int64) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	br := newBatchReader(f, fi.Size())
	defer br.release()
	end := base
	for pos := int64(0); pos < fi.Size(); {
		h, _, err := br.at(pos, false)
		if err != nil {
			if errors.Is(err, errTorn) || errors.Is(err, errBadHeader) {
				break // recovery cuts it there
			}
			return 0, err
		}
		end = max(end, h.LastOffset()+1)
		pos += int64(h.Size())
	}
	return end, nil
}

// The cleaner checkpoint holds the first dirty offset and when the earliest
// tombstone kept by the last clean expires (ms, -1 for none): a version
// line and one line each.

func writeCleanerCheckpoint(dir string, firstDirty, tombstonesDue int64) error {
	return writeFileAtomic(dir, cleanerFile,
		[]byte("0\n"+strconv.FormatInt(firstDirty, 10)+"\n"+strconv.FormatInt(tombstonesDue, 10)+"\n"), false)
}

// readCleanerCheckpoint returns the checkpoint, or (0, -1) if it is missing
// or unreadable: everything is then dirty, which costs a full clean and
// loses nothing.
func readCleanerCheckpoint(dir string) (firstDirty, tombstonesDue int64, err error) {
	b, err := os.ReadFile(filepath.Join(dir, cleanerFile))
	if errors.Is(err, os.ErrNotExist) {
		return 0, -1, nil
	}
	if err != nil {
		return 0, -1, err
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 3 || lines[0] != "0" {
		return 0, -1, nil
	}
	off, err1 := strconv.ParseInt(lines[1], 10, 64)
	due, err2 := strconv.ParseInt(lines[2], 10, 64)
	if err1 != nil || err2 != nil || off < 0 {
		return 0, -1, nil
	}
	return off, due, nil
}
