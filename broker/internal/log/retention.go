package log

import (
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"
)

// Maintain does the periodic work the broker schedules (the log starts no
// goroutines): it rolls the active segment once it is older than SegmentMs
// (or, for a compacted log, MaxCompactionLagMs if smaller),
// applies retention when the cleanup policy includes "delete", fsyncs
// rolled segments and, every FlushIntervalMs, everything, removes files
// whose FileDeleteDelay has passed, and checkpoints the recovery point.
//
// Retention deletes whole segments, oldest first: by time while a segment's
// largest timestamp (or, with none, its file's modification time) is more
// than RetentionMs before now; by size while the log stays above
// RetentionBytes without the segment. As in Kafka, when every segment
// qualifies the active one is rolled first, so the log keeps an empty
// active segment at its end offset. The log start offset moves to the first
// remaining segment.
func (l *Log) Maintain(now time.Time) error {
	l.flushMu.Lock()
	defer l.flushMu.Unlock()

	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return ErrClosed
	}
	var errs []error
	if act := l.active(); act.size > 0 && now.Sub(act.rollBase) >= l.cfg.rollMs() {
		if err := l.roll("age"); err != nil {
			errs = append(errs, err)
		}
	}
	if l.cfg.deletes() {
		if err := l.applyRetention(now); err != nil {
			errs = append(errs, err)
		}
	}
	l.removeDueFiles(now)
	l.expireProducers(now)
	flush := len(l.segs) > 1 && !l.segs[len(l.segs)-2].indexSynced
	if l.cfg.FlushIntervalMs > 0 {
		if l.lastTimeFlush.IsZero() {
			l.lastTimeFlush = now
		} else if now.Sub(l.lastTimeFlush) >= l.cfg.FlushIntervalMs {
			flush = true
			l.lastTimeFlush = now
		}
	}
	for _, s := range l.segs[:len(l.segs)-1] {
		if s.next > l.recoveryPoint {
			flush = true // rolled segments are fsynced without waiting
		}
	}
	l.mu.Unlock()

	if flush {
		if err := l.flushLocked(); err != nil {
			errs = append(errs, err)
		}
	}
	l.mu.Lock()
	rp := l.recoveryPoint
	l.mu.Unlock()
	if rp != l.checkpointedRP {
		if err := writeCheckpoint(l.dir, recoveryPointFile, rp, false); err != nil {
			errs = append(errs, err)
		} else {
			l.checkpointedRP = rp
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("log %s: maintain: %w", l.dir, errors.Join(errs...))
	}
	return nil
}

// applyRetention deletes expired segments. Callers hold flushMu and mu.
//
// A segment holding part of an ongoing transaction stays, with everything
// after it: its records are not decided yet, and read_committed consumers
// need its marker's aborted-transaction entry once it is.
func (l *Log) applyRetention(now time.Time) error {
	limit := len(l.segs)
	if first, ok := l.firstOngoingLocked(); ok {
		limit = 0
		for limit < len(l.segs) && l.segs[limit].next <= first {
			limit++
		}
	}
	n := 0
	if l.cfg.RetentionMs >= 0 {
		cutoff := now.Add(-l.cfg.RetentionMs).UnixMilli()
		for n < limit && l.deletable(n) && l.largestTimestamp(l.segs[n]) < cutoff {
			n++
		}
	}
	byTime := n
	if l.cfg.RetentionBytes >= 0 {
		var total int64
		for _, s := range l.segs {
			total += s.size
		}
		for _, s := range l.segs[:n] {
			total -= s.size
		}
		for n < limit && l.deletable(n) && total-l.segs[n].size >= l.cfg.RetentionBytes {
			total -= l.segs[n].size
			n++
		}
	}
	if n == 0 {
		return nil
	}
	why := "retention.ms"
	if n > byTime {
		why = "retention.bytes"
	}
	return l.dropFront(n, now, why)
}

// deletable reports whether retention may consider segment i: any segment
// with data, and an empty one unless it is the active segment (compaction
// can leave inactive segments empty).
func (l *Log) deletable(i int) bool {
	return l.segs[i].size > 0 || i < len(l.segs)-1
}

// largestTimestamp is what time retention judges a segment by.
func (l *Log) largestTimestamp(s *segment) int64 {
	if s.maxTS >= 0 {
		return s.maxTS
	}
	fi, err := s.file.Stat()
	if err != nil {
		return time.Now().UnixMilli() // cannot tell: keep it
	}
	return fi.ModTime().UnixMilli()
}

// dropFront deletes the first n segments, rolling first if that is all of
// them, and moves the log start offset, and the leader epoch cache's first
// entry, past them. Callers hold flushMu and mu.
func (l *Log) dropFront(n int, now time.Time, why string) error {
	if n >= len(l.segs) {
		if l.active().size > 0 {
			if err := l.roll(why); err != nil {
				return err
			}
		}
		n = len(l.segs) - 1
	}
	if n <= 0 {
		return nil
	}
	del := append([]*segment(nil), l.segs[:n]...)
	l.segs = append(l.segs[:0], l.segs[n:]...)
	l.start = max(l.start, l.segs[0].base)
	l.deleteSegments(del, now, why)
	return l.epochsToStart()
}

// expireProducers forgets idempotent producers that have not written for
// ProducerIDExpiration (Kafka's producer.id.expiration.ms), so the state of
// short-lived producers, one per client with kgo's and Java's idempotent
// defaults, does not pile up in memory and snapshots. Callers hold mu.
func (l *Log) expireProducers(now time.Time) {
	if l.cfg.ProducerIDExpiration < 0 || len(l.producers) == 0 {
		return
	}
	if n := l.producers.expire(now.Add(-l.cfg.ProducerIDExpiration).UnixMilli()); n > 0 {
		l.logger.Info("expired idempotent producers", zap.String("dir", l.dir), zap.Int("producers", n),
			zap.Int("remaining", len(l.producers)), zap.Duration("producer_id_expiration", l.cfg.ProducerIDExpiration))
	}
}

// removeDueFiles removes deleted files whose delay has passed.
func (l *Log) removeDueFiles(now time.Time) {
	keep := l.pendingDeletes[:0]
	for _, pd := range l.pendingDeletes {
		if now.Before(pd.at) {
			keep = append(keep, pd)
			continue
		}
		removeAll(pd.paths)
	}
	l.pendingDeletes = keep
}

// DeleteRecords moves the log start offset to before (DeleteRecords API),
// persisting it in the directory's log-start-offset checkpoint, and deletes
// the segments wholly below it, and moves the leader epoch cache's start
// with it (Kafka's truncateFromStart). It returns the new log start offset,
// which is never lowered. before > EndOffset gives ErrOffsetOutOfRange.
func (l *Log) DeleteRecords(before int64) (newStart int64, err error) {
	l.flushMu.Lock()
	defer l.flushMu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return 0, ErrClosed
	}
	end := l.endOffset()
	if before < 0 || before > end {
		return l.start, fmt.Errorf("log %s: delete records before %d, log has [%d, %d]: %w", l.dir, before, l.start, end, ErrOffsetOutOfRange)
	}
	if before <= l.start {
		return l.start, nil
	}
	if err := writeCheckpoint(l.dir, logStartFile, before, true); err != nil {
		return l.start, fmt.Errorf("log %s: delete records: %w", l.dir, err)
	}
	l.start = before
	n := 0
	for n < len(l.segs) && l.segs[n].next <= before && l.deletable(n) {
		n++
	}
	if err := l.dropFront(n, time.Now(), "delete records"); err != nil {
		return l.start, fmt.Errorf("log %s: delete records: %w", l.dir, err)
	}
	if err := l.epochsToStart(); err != nil {
		return l.start, fmt.Errorf("log %s: delete records: %w", l.dir, err)
	}
	l.logger.Info("log start offset moved", zap.String("dir", l.dir), zap.Int64("log_start_offset", l.start))
	return l.start, nil
}

// Truncate removes every batch from offset to onwards, for a follower that
// diverged from its leader. It cuts at batch boundaries: if to falls inside
// a batch, that whole batch goes and EndOffset becomes its base offset.
// The leader epoch cache loses the entries starting at or after the new
// EndOffset. Truncating below the log start empties the log and the cache
// and starts the log at to.
func (l *Log) Truncate(to int64) error {
	l.flushMu.Lock()
	defer l.flushMu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrClosed
	}
	if to < 0 {
		return fmt.Errorf("log %s: truncate to %d: %w", l.dir, to, ErrOffsetOutOfRange)
	}
	if to >= l.endOffset() {
		return nil
	}
	if err := l.truncateLocked(to); err != nil {
		return fmt.Errorf("log %s: truncate to %d: %w", l.dir, to, err)
	}
	return nil
}

func (l *Log) truncateLocked(to int64) error {
	now := time.Now()
	if to < l.start || to <= l.segs[0].base {
		return l.resetTo(to, now)
	}
	l.truncations++
	i := l.segmentFor(to)
	s := l.segs[i]
	del := append([]*segment(nil), l.segs[i+1:]...)
	l.segs = l.segs[:i+1]
	l.deleteSegments(del, now, "truncate")

	pos, _, found, err := s.findBatch(to)
	if err != nil {
		return err
	}
	if found {
		if err := s.truncateFile(pos); err != nil {
			return err
		}
	}
	if _, err := s.rebuild(l.cfg.IndexIntervalBytes, false); err != nil {
		return err
	}
	if err := s.writeIndexes(); err != nil {
		return err
	}
	if s.size == 0 {
		s.next = max(s.next, s.base)
	}
	end := l.endOffset()
	l.recoveryPoint = min(l.recoveryPoint, end)
	if l.cleanerCheckpoint > end {
		l.cleanerCheckpoint = end
		if err := writeCleanerCheckpoint(l.dir, end, l.tombstonesDue); err != nil {
			return err
		}
	}

	// Producer state: the newest snapshot at or below the new end, then
	// the batches after it.
	offs, err := listSnapshots(l.dir)
	if err != nil {
		return err
	}
	for _, off := range offs {
		if off > end {
			removeAll([]string{snapshotPath(l.dir, off)})
		}
	}
	l.producers = make(producerState)
	if err := l.loadProducers(); err != nil {
		return err
	}
	return l.epochsToEnd()
}
