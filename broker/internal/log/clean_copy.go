package log

import (
	"bufio"
	"errors"
	"os"
	"time"

	"github.com/kspring/kspring/broker/internal/batch"
)

// cleaner holds one Compact's working state.
type cleaner struct {
	log   *Log
	plan  *cleanPlan
	m     *offsetMap
	stats *CleanStats
	nowMs int64

	kept []batch.Record // survivors of the batch being filtered
	out  []byte         // the rebuilt batch

	// txnData marks the producers whose transaction, since their last
	// marker in this pass, still has records after cleaning: their next
	// marker is needed. The pass reads the log from its start, so every
	// transaction's records come before its marker.
	txnData map[int64]bool
}

// cleanGroup rewrites a group of segments into one cleaned segment and
// swaps it in. It returns when the earliest tombstone it kept expires (-1
// if it kept none).
func (c *cleaner) cleanGroup(g []cleanSeg, now time.Time) (tombstonesDue int64, err error) {
	l := c.log
	w, err := createCleaned(l.dir, g[0].base, c.plan.cfg.IndexIntervalBytes)
	if err != nil {
		return -1, err
	}
	defer func() {
		if !errors.Is(err, errSimulatedCrash) {
			w.discard() // after a successful swap there is nothing left to discard
		}
	}()

	changed := len(g) > 1
	keptTombstones := false
	var largestTS int64 = -1
	retention := c.plan.cfg.DeleteRetentionMs.Milliseconds()
	for _, cs := range g {
		largestTS = max(largestTS, cs.largestTS)
		dropTombstones := c.nowMs-cs.largestTS >= retention
		err := eachBatch(cs, func(h batch.Header, b []byte) error {
			out, batchChanged, tombstones, err := c.filter(h, b, dropTombstones)
			if err != nil {
				return err
			}
			changed = changed || batchChanged
			keptTombstones = keptTombstones || tombstones
			if out == nil {
				return nil
			}
			oh, _ := batch.ParseHeader(out)
			return w.add(out, oh)
		})
		if err != nil {
			return -1, err
		}
		c.stats.BytesRead += cs.size
	}

	if !changed {
		// One segment, nothing to drop: keep the original.
		if keptTombstones {
			return g[0].largestTS + retention, nil
		}
		return -1, nil
	}
	if err := w.finish(g[len(g)-1].next, largestTS); err != nil {
		return -1, err
	}
	if err := l.hook("cleaned"); err != nil {
		return -1, err
	}
	ns, err := l.swapIn(g, w, c.plan.truncations, now)
	if err != nil {
		return -1, err
	}
	c.stats.SegmentsRead += len(g)
	c.stats.SegmentsWritten++
	c.stats.BytesWritten += w.seg.size
	if !keptTombstones {
		return -1, nil
	}
	return l.largestTimestamp(ns) + retention, nil
}

// filter applies compaction to one batch. It returns the batch to write: b
// itself if every record stays, a rebuilt batch (valid until the next call)
// if some do, or nil if none does and the batch need not be kept empty.
// changed reports whether out differs from b; tombstones whether a kept
// record is a tombstone.
func (c *cleaner) filter(h batch.Header, b []byte, dropTombstones bool) (out []byte, changed, tombstones bool, err error) {
	c.stats.RecordsRead += int64(h.NumRecords)
	if h.IsControl() {
		return c.filterMarker(h, b, dropTombstones)
	}
	if h.IsTransactional() {
		defer func() {
			if err == nil && len(c.kept) > 0 {
				c.txnData[h.ProducerID] = true
			}
		}()
	}
	aborted := c.plan.abortedBatch(h)
	c.kept = c.kept[:0]
	err = batch.Records(b, func(r batch.Record) error {
		if aborted {
			c.stats.AbortedDropped++
			return nil // read_committed never shows it; no reader needs it
		}
		if r.Key == nil {
			c.stats.KeylessDropped++
			return nil
		}
		if latest, ok := c.m.get(r.Key); ok && h.BaseOffset+int64(r.OffsetDelta) < latest {
			return nil // superseded
		}
		if r.Value == nil && dropTombstones {
			c.stats.TombstonesDropped++
			return nil
		}
		tombstones = tombstones || r.Value == nil
		c.kept = append(c.kept, r)
		return nil
	})
	if err != nil {
		return nil, false, false, err
	}
	c.stats.RecordsKept += int64(len(c.kept))
	if len(c.kept) == 0 {
		// An idempotent producer's last batch is kept, emptied if need
		// be: its offset range holds the producer's last sequence, as in
		// Kafka. Any other batch left empty goes.
		if last, ok := c.plan.lastBatch[h.ProducerID]; !ok || !h.Idempotent() || last != h.LastOffset() {
			return nil, true, false, nil
		}
		if h.NumRecords == 0 {
			return b, false, false, nil
		}
	} else if len(c.kept) == int(h.NumRecords) {
		return b, false, tombstones, nil
	}

	// Rebuild with the survivors at their offsets and timestamps.
	first, codec := h.MaxTimestamp, batch.None
	if len(c.kept) > 0 {
		first, codec = h.FirstTimestamp+c.kept[0].TimestampDelta, h.Compression()
		for i := range c.kept {
			c.kept[i].TimestampDelta = h.FirstTimestamp + c.kept[i].TimestampDelta - first
		}
	}
	opts := []batch.BuildOption{
		batch.WithOffsetDeltas(h.LastOffsetDelta),
		batch.WithCompression(codec),
		batch.WithProducer(h.ProducerID, h.ProducerEpoch, h.BaseSequence),
		batch.WithPartitionLeaderEpoch(h.PartitionLeaderEpoch),
	}
	if h.IsTransactional() {
		opts = append(opts, batch.WithTransactional())
	}
	c.out = batch.Build(c.out[:0], h.BaseOffset, first, c.kept, opts...)
	if h.TimestampType() {
		batch.SetLogAppendTime(c.out, h.MaxTimestamp)
	}
	return c.out, true, tombstones, nil
}

// filterMarker applies compaction to a control batch, as Kafka's cleaner
// does: a transaction marker stays while its transaction has records left,
// and once it has none, until the marker is DeleteRetentionMs old (like a
// tombstone: a read_committed consumer that read the records before they
// went still needs the marker, within that time), then goes. Control
// batches are never read as keyed records.
func (c *cleaner) filterMarker(h batch.Header, b []byte, dropTombstones bool) (out []byte, changed, tombstones bool, err error) {
	hasData := c.txnData[h.ProducerID]
	delete(c.txnData, h.ProducerID)
	if !hasData && dropTombstones {
		c.stats.MarkersDropped++
		return nil, true, false, nil
	}
	c.stats.RecordsKept += int64(h.NumRecords)
	// A marker kept only for its retention is due for removal like a
	// tombstone.
	return b, false, !hasData, nil
}

// cleanedWriter writes one cleaned segment to <base>.log.cleaned and keeps
// its index in memory, to write .index.cleaned and .timeindex.cleaned at
// the end.
type cleanedWriter struct {
	dir      string
	interval int32
	seg      segment // bookkeeping only; no files
	f        *os.File
	w        *bufio.Writer
}

// cleanedPaths returns the final paths of the segment at base; the
// cleaned and swap files add a suffix to them. The log file comes last:
// its rename is the step that commits.
func cleanedPaths(dir string, base int64) [3]string {
	logPath, offPath, timePath := segmentPaths(dir, base)
	return [3]string{offPath, timePath, logPath}
}

func createCleaned(dir string, base int64, interval int32) (*cleanedWriter, error) {
	paths := cleanedPaths(dir, base)
	f, err := os.OpenFile(paths[2]+cleanedSuffix, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, err
	}
	w := &cleanedWriter{dir: dir, interval: interval, f: f, w: bufio.NewWriterSize(f, 256<<10)}
	w.seg = segment{base: base, next: base, maxTS: -1, maxTSOff: -1}
	return w, nil
}

// add appends a batch.
func (w *cleanedWriter) add(b []byte, h batch.Header) error {
	if _, err := w.w.Write(b); err != nil {
		return err
	}
	w.seg.indexBatch(w.seg.size, h, w.interval)
	w.seg.size += int64(len(b))
	return nil
}

// finish makes the cleaned files complete and durable: the log data, its
// two indexes (with the closing time-index entry), the log file's
// modification time set to the group's (which retention and tombstone
// expiry fall back on when a segment has no timestamps), and next, the
// offset after the group.
func (w *cleanedWriter) finish(next, largestTS int64) error {
	if err := w.w.Flush(); err != nil {
		return err
	}
	w.seg.maybeTimeEntry()
	w.seg.next = max(w.seg.next, next)
	w.seg.bytesSinceIndex = w.seg.size
	if n := len(w.seg.offsets); n > 0 {
		w.seg.bytesSinceIndex = w.seg.size - int64(w.seg.offsets[n-1].pos)
	}
	paths := cleanedPaths(w.dir, w.seg.base)
	for i, data := range [][]byte{encodeOffsets(w.seg.offsets), encodeTimes(w.seg.times)} {
		if err := writeSynced(paths[i]+cleanedSuffix, data); err != nil {
			return err
		}
	}
	if largestTS >= 0 {
		t := time.UnixMilli(largestTS)
		if err := os.Chtimes(w.f.Name(), t, t); err != nil {
			return err
		}
	}
	if err := w.f.Sync(); err != nil {
		return err
	}
	err := w.f.Close()
	w.f = nil
	return err
}

// discard removes whatever cleaned files are left (none after a swap).
func (w *cleanedWriter) discard() {
	if w.f != nil {
		_ = w.f.Close()
	}
	for _, p := range cleanedPaths(w.dir, w.seg.base) {
		_ = os.Remove(p + cleanedSuffix)
	}
}

// writeSynced creates path with data and fsyncs it.
func writeSynced(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
