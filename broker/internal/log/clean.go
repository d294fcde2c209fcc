package log

import (
	"errors"
	"fmt"
	"os"
	"time"

	"go.uber.org/zap"

	"github.com/kspring/kspring/broker/internal/batch"
)

// Compaction, as Kafka's log cleaner does it. The log is split at the
// cleaner checkpoint (the first dirty offset) into a clean head, already
// compacted, and a dirty tail running up to the active segment (or to the
// first segment younger than MinCompactionLagMs). A clean builds a map from
// each key of the dirty tail to its latest offset, then rewrites every
// inactive segment up to the end of the mapped range, oldest first, in
// groups that fit one segment: a record survives if no later record has its
// key, and a tombstone (a null value) also only while its segment is younger
// than DeleteRetentionMs. Survivors keep their offsets: a rewritten batch
// keeps its base offset and last offset delta, so offsets have gaps but
// never move. Each group's cleaned segment is written beside the log as
// <base>.log.cleaned (with .index.cleaned and .timeindex.cleaned), fsynced,
// renamed to .swap (the commit point), and swapped in for the originals;
// Open finishes a swap a crash interrupted and discards unfinished .cleaned
// files (see recoverCleaning).

// errCleanAborted: the log changed under the cleaner (retention deleted,
// or a truncation rewrote, segments it was cleaning). The clean is dropped
// and retried by a later Compact.
var errCleanAborted = errors.New("log changed during cleaning")

// errSimulatedCrash, returned by a test hook, stops a clean where it is and
// leaves its files as a crash would: nothing is undone or removed.
var errSimulatedCrash = errors.New("simulated crash")

// hook runs the test hook, if any, at a step of a clean. Tests stop a
// clean there (errSimulatedCrash) or change the log under it.
func (l *Log) hook(step string) error {
	if l.testHook == nil {
		return nil
	}
	return l.testHook(step)
}

// maxMapEntries bounds the keys one clean maps (Kafka's dedupe buffer, by
// default room for a few million keys); a dirty tail with more is cleaned
// in several passes. Tests lower it.
var maxMapEntries = 1 << 22

// CleanStats reports what one Compact did.
type CleanStats struct {
	Cleaned           bool   // a clean ran to the end
	Aborted           bool   // the log changed under the cleaner; a later Compact retries
	Reason            string // why the log was cleaned: "dirty ratio", "max.compaction.lag.ms", "tombstones due"
	FirstDirtyOffset  int64  // where the dirty tail began
	EndOffset         int64  // where it ended: the next clean's first dirty offset
	MapKeys           int    // distinct keys in the mapped dirty range
	SegmentsRead      int    // segments rewritten
	SegmentsWritten   int    // cleaned segments swapped in for them
	BytesRead         int64
	BytesWritten      int64
	RecordsRead       int64
	RecordsKept       int64
	TombstonesDropped int64 // tombstones past DeleteRetentionMs, removed
	KeylessDropped    int64 // records without a key, which a compacted log cannot keep
	AbortedDropped    int64 // records of aborted transactions, removed
	MarkersDropped    int64 // transaction markers with no records left, past DeleteRetentionMs
}

// cleanSeg is a snapshot of an inactive segment taken when a clean is
// planned. The cleaner reads the file through it without the log's lock;
// the swap checks that the segment is still there, unchanged.
type cleanSeg struct {
	seg          *segment
	file         *os.File
	base, next   int64
	size         int64
	largestTS    int64 // what tombstone expiry and retention judge it by
	indexEntries int
}

type cleanPlan struct {
	cfg         Config
	segs        []cleanSeg // inactive segments below uncleanable, oldest first
	firstDirty  int64
	uncleanable int64               // end of the dirty tail: a segment base
	lastBatch   map[int64]int64     // producer id -> last offset of its last batch
	aborted     map[int64][]txnSpan // producer id -> its aborted transactions
	truncations uint64              // the log's truncation count when planned
	reason      string
}

// Compact cleans the log if its cleanup policy includes "compact" and it is
// due: the dirty tail's share of the bytes below the active segment has
// reached MinCleanableDirtyRatio, a dirty segment's first batch is older
// than MaxCompactionLagMs, or a tombstone kept by an earlier clean has
// outlived DeleteRetentionMs. Otherwise it does nothing and returns zero
// stats. now is the clock for the lags and the tombstone expiry.
//
// Compact keeps the latest record per key and, for idempotent producers,
// the batch holding each producer's last sequence (emptied if need be).
// Records without a key are dropped, as Kafka's cleaner drops them.
// Transactions as in Kafka: the records of aborted transactions are
// removed, those of committed ones compact like any others, control
// batches (markers) are never read as keyed records and are kept while
// their transaction has records and then for DeleteRetentionMs, and
// nothing from the oldest ongoing transaction's segment on is cleaned.
// Compressed batches are recompressed with their codec.
//
// Concurrency: Compact runs one at a time per log and holds no lock while
// it reads and writes: appends, reads and maintenance go on. Only the swap
// of each cleaned segment takes the write lock, briefly. If retention or a
// truncation changes the segments being cleaned, the clean is abandoned
// (stats.Aborted) and nothing is lost.
func (l *Log) Compact(now time.Time) (CleanStats, error) {
	l.cleanMu.Lock()
	defer l.cleanMu.Unlock()
	p, err := l.planClean(now)
	if err != nil || p == nil {
		if err != nil {
			err = fmt.Errorf("log %s: compact: %w", l.dir, err)
		}
		return CleanStats{}, err
	}
	stats := CleanStats{Reason: p.reason, FirstDirtyOffset: p.firstDirty}
	err = l.clean(p, now, &stats)
	switch {
	case err == nil:
		stats.Cleaned = true
		l.logger.Info("cleaned log", zap.String("dir", l.dir), zap.String("reason", p.reason),
			zap.Int64("first_dirty_offset", stats.FirstDirtyOffset), zap.Int64("end_offset", stats.EndOffset),
			zap.Int("map_keys", stats.MapKeys), zap.Int("segments_read", stats.SegmentsRead),
			zap.Int("segments_written", stats.SegmentsWritten), zap.Int64("bytes_read", stats.BytesRead),
			zap.Int64("bytes_written", stats.BytesWritten), zap.Int64("records_read", stats.RecordsRead),
			zap.Int64("records_kept", stats.RecordsKept), zap.Int64("tombstones_dropped", stats.TombstonesDropped),
			zap.Int64("keyless_dropped", stats.KeylessDropped))
		return stats, nil
	case errors.Is(err, errCleanAborted):
		stats.Aborted = true
		l.logger.Info("log cleaning abandoned: the log changed under it", zap.String("dir", l.dir))
		return stats, nil
	}
	return stats, fmt.Errorf("log %s: compact: %w", l.dir, err)
}

// planClean decides whether the log is due for cleaning and snapshots what
// the clean needs. It returns nil when there is nothing to do.
func (l *Log) planClean(now time.Time) (*cleanPlan, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		return nil, ErrClosed
	}
	cfg := l.cfg
	if !cfg.Compacts() || len(l.segs) < 2 {
		return nil, nil
	}
	nowMs := now.UnixMilli()
	inactive := l.segs[:len(l.segs)-1]
	activeBase := l.active().base
	first := min(max(l.cleanerCheckpoint, l.start, l.segs[0].base), activeBase)

	// The dirty tail ends at the active segment or at the first segment
	// with a record younger than min.compaction.lag.ms.
	uncleanable := activeBase
	if f, ok := l.firstOngoingLocked(); ok {
		uncleanable = min(uncleanable, l.segs[l.segmentFor(f)].base)
	}
	if lag := cfg.MinCompactionLagMs.Milliseconds(); lag > 0 {
		for _, s := range inactive[l.segmentFor(first):] {
			if l.largestTimestamp(s) > nowMs-lag {
				uncleanable = s.base
				break
			}
		}
	}

	p := &cleanPlan{cfg: cfg, firstDirty: first, uncleanable: uncleanable, truncations: l.truncations}
	var cleanBytes, dirtyBytes int64
	maxLagPassed := false
	for _, s := range inactive {
		if s.base >= uncleanable {
			break
		}
		p.segs = append(p.segs, cleanSeg{
			seg: s, file: s.file.File, base: s.base, next: s.next, size: s.size,
			largestTS: l.largestTimestamp(s), indexEntries: s.offsetEntries(),
		})
		if s.next <= first || uncleanable <= first {
			cleanBytes += s.size
			continue
		}
		dirtyBytes += s.size
		if !maxLagPassed && cfg.MaxCompactionLagMs < maxDuration {
			ts, err := firstBatchTimestamp(s)
			if err != nil {
				return nil, err
			}
			maxLagPassed = ts >= 0 && nowMs-ts > cfg.MaxCompactionLagMs.Milliseconds()
		}
	}
	switch {
	case dirtyBytes > 0 && float64(dirtyBytes)/float64(dirtyBytes+cleanBytes) >= cfg.MinCleanableDirtyRatio:
		p.reason = "dirty ratio"
	case dirtyBytes > 0 && maxLagPassed:
		p.reason = "max.compaction.lag.ms"
	case l.tombstonesDue >= 0 && nowMs >= l.tombstonesDue && len(p.segs) > 0:
		p.reason = "tombstones due"
	default:
		return nil, nil
	}
	for _, s := range l.segs {
		for _, e := range s.aborted {
			if p.aborted == nil {
				p.aborted = map[int64][]txnSpan{}
			}
			p.aborted[e.ProducerID] = append(p.aborted[e.ProducerID], txnSpan{first: e.FirstOffset, marker: e.LastOffset})
		}
	}
	p.lastBatch = make(map[int64]int64, len(l.producers))
	for id, e := range l.producers {
		if n := len(e.batches); n > 0 {
			p.lastBatch[id] = e.batches[n-1].lastOffset
		}
	}
	return p, nil
}

const maxDuration = time.Duration(1<<63 - 1)

// firstBatchTimestamp returns the max timestamp of a segment's first batch
// (Kafka's measure of how long a segment has waited), -1 if it has none.
func firstBatchTimestamp(s *segment) (int64, error) {
	if s.size < batch.HeaderSize {
		return -1, nil
	}
	br := newBatchReader(s.file, s.size)
	defer br.release()
	h, _, err := br.at(0, false)
	if err != nil {
		return -1, err
	}
	return h.MaxTimestamp, nil
}

// clean runs a planned clean: the offset map, then each group of segments
// rewritten and swapped in, then the checkpoint.
func (l *Log) clean(p *cleanPlan, now time.Time, stats *CleanStats) error {
	m, k, mapEnd, err := l.buildOffsetMap(p, stats)
	if err != nil {
		return l.cleanError(p, p.segs, err)
	}
	stats.MapKeys = m.len()
	stats.EndOffset = max(p.firstDirty, mapEnd)

	c := &cleaner{log: l, plan: p, m: m, stats: stats, nowMs: now.UnixMilli(), txnData: map[int64]bool{}}
	tombstonesDue := int64(-1)
	for _, g := range groupForCleaning(p.segs[:k], p.cfg) {
		due, err := c.cleanGroup(g, now)
		if err != nil {
			return l.cleanError(p, g, err)
		}
		if due >= 0 && (tombstonesDue < 0 || due < tombstonesDue) {
			tombstonesDue = due
		}
	}
	return l.finishClean(p, stats.EndOffset, tombstonesDue)
}

// cleanError turns an error met while reading or writing into
// errCleanAborted if the log changed under the cleaner (a segment deleted
// or truncated, whose file may have been closed) or ErrClosed if it was
// closed.
func (l *Log) cleanError(p *cleanPlan, g []cleanSeg, err error) error {
	l.mu.RLock()
	defer l.mu.RUnlock()
	switch {
	case l.closed:
		return ErrClosed
	case !l.intactLocked(g, p.truncations):
		return errCleanAborted
	}
	return err
}

// intactLocked reports whether the segments of g are still in the log,
// consecutive, inactive and unchanged since they were planned, and no
// truncation happened. Callers hold mu.
func (l *Log) intactLocked(g []cleanSeg, truncations uint64) bool {
	_, ok := l.groupAtLocked(g, truncations)
	return ok
}

// groupAtLocked returns where g's segments are in l.segs.
func (l *Log) groupAtLocked(g []cleanSeg, truncations uint64) (int, bool) {
	if l.truncations != truncations || len(g) == 0 {
		return 0, false
	}
	at := -1
	for i, s := range l.segs {
		if s == g[0].seg {
			at = i
			break
		}
	}
	if at < 0 || at+len(g) >= len(l.segs) {
		return 0, false
	}
	for j, cs := range g {
		s := l.segs[at+j]
		if s != cs.seg || s.size != cs.size || s.base != cs.base {
			return 0, false
		}
	}
	return at, true
}

// finishClean records the new first dirty offset and when the next kept
// tombstone expires, unless a truncation made them stale.
func (l *Log) finishClean(p *cleanPlan, checkpoint, tombstonesDue int64) error {
	l.flushMu.Lock()
	defer l.flushMu.Unlock()
	l.mu.Lock()
	switch {
	case l.closed:
		l.mu.Unlock()
		return ErrClosed
	case l.truncations != p.truncations:
		l.mu.Unlock()
		return errCleanAborted
	}
	l.cleanerCheckpoint, l.tombstonesDue = checkpoint, tombstonesDue
	l.mu.Unlock()
	return writeCleanerCheckpoint(l.dir, checkpoint, tombstonesDue)
}

// groupForCleaning splits segments into runs that fit one segment: at most
// SegmentBytes of data, an offset index of at most SegmentIndexBytes, and
// offsets within the index's relative range. Each run becomes one cleaned
// segment, so a log of many small compacted segments shrinks to a few.
func groupForCleaning(segs []cleanSeg, cfg Config) [][]cleanSeg {
	maxEntries := int(cfg.SegmentIndexBytes / offsetEntrySize)
	var groups [][]cleanSeg
	for len(segs) > 0 {
		n, size, entries := 1, segs[0].size, segs[0].indexEntries
		for n < len(segs) {
			s := segs[n]
			if size+s.size > cfg.SegmentBytes || entries+s.indexEntries > maxEntries || s.next-1-segs[0].base > maxRelOffset {
				break
			}
			size += s.size
			entries += s.indexEntries
			n++
		}
		groups = append(groups, segs[:n:n])
		segs = segs[n:]
	}
	return groups
}

// abortedBatch reports whether h is a data batch of an aborted transaction.
func (p *cleanPlan) abortedBatch(h batch.Header) bool {
	if !h.IsTransactional() || h.IsControl() {
		return false
	}
	for _, t := range p.aborted[h.ProducerID] {
		if t.first <= h.BaseOffset && h.BaseOffset < t.marker {
			return true
		}
	}
	return false
}
