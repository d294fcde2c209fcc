package log

import (
	"errors"
	"fmt"

	"go.uber.org/zap"

	"github.com/kspring/kspring/broker/internal/batch"
)

// Read returns whole batches starting with the one that holds offset, as
// many as fit in maxBytes, but always at least one whole batch if one is
// available, however large (KIP-74). Only batches whose last offset is
// below maxOffset are returned: pass the high watermark, or EndOffset() for
// everything. The first batch may hold offsets below offset; consumers skip
// them, as with Kafka.
//
// Read returns (nil, nil) when offset is EndOffset or nothing below
// maxOffset is available, and ErrOffsetOutOfRange when offset is below
// StartOffset or above EndOffset. The returned slice is newly allocated and
// owned by the caller. The broker's fetch path uses ReadChunks instead.
func (l *Log) Read(offset int64, maxBytes int, maxOffset int64) ([]byte, error) {
	var buf [4]Chunk
	chunks, err := l.ReadChunks(buf[:0], offset, maxBytes, maxOffset)
	defer ReleaseChunks(chunks)
	if err != nil || len(chunks) == 0 {
		return nil, err
	}
	out := make([]byte, 0, ChunksLen(chunks))
	for _, c := range chunks {
		if out, err = c.AppendTo(out); err != nil {
			return nil, fmt.Errorf("log %s: read offset %d: %w", l.dir, offset, err)
		}
	}
	return out, nil
}

// ReadChunks is Read that returns where the batches are instead of their
// bytes: it appends to dst the chunks of segment files that hold them, in
// order, each with a reference the caller must drop with Release once the
// bytes are sent. With nothing to read, or on error, it returns dst
// unchanged.
func (l *Log) ReadChunks(dst []Chunk, offset int64, maxBytes int, maxOffset int64) ([]Chunk, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		return dst, ErrClosed
	}
	end := l.endOffset()
	if offset < l.start || offset > end {
		return dst, fmt.Errorf("log %s: read offset %d, log has [%d, %d): %w", l.dir, offset, l.start, end, ErrOffsetOutOfRange)
	}
	if offset == end || offset >= maxOffset {
		return dst, nil
	}
	out, err := l.readChunks(dst, offset, maxBytes, maxOffset)
	if err != nil {
		ReleaseChunks(out[len(dst):])
		return dst, fmt.Errorf("log %s: read offset %d: %w", l.dir, offset, err)
	}
	return out, nil
}

// readChunks appends the chunks of whole batches from offset to dst.
// Callers hold mu.
func (l *Log) readChunks(dst []Chunk, offset int64, maxBytes int, maxOffset int64) ([]Chunk, error) {
	first := true
	budget := int64(max(maxBytes, 0))
	for i := l.segmentFor(offset); i < len(l.segs); i++ {
		s := l.segs[i]
		if s.next <= offset {
			continue
		}
		pos, h, found, err := s.findBatch(offset)
		if err != nil {
			return dst, err
		}
		if !found {
			continue
		}
		if h.LastOffset() >= maxOffset {
			return dst, nil
		}
		if first && int64(h.Size()) > budget {
			// KIP-74: one whole batch even past maxBytes.
			return append(dst, s.chunk(pos, pos+int64(h.Size()))), nil
		}
		end, err := s.batchesEnd(pos, pos+budget, maxOffset)
		if err != nil {
			return dst, err
		}
		if end > pos {
			dst = append(dst, s.chunk(pos, end))
			budget -= end - pos
			first = false
		}
		if end < s.size {
			return dst, nil // stopped inside this segment: limits reached
		}
		offset = s.next
	}
	return dst, nil
}

// OffsetForTimestamp finds the earliest offset whose record timestamp is at
// least ts (ListOffsets by timestamp) and that record's timestamp. found is
// false when no record has such a timestamp. Batches with LogAppendTime
// count with their append time.
func (l *Log) OffsetForTimestamp(ts int64) (offset, timestamp int64, found bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		return -1, -1, false
	}
	for i, s := range l.segs {
		if s.maxTS < ts || s.next <= l.start {
			continue
		}
		// Every record before the batch of the last entry below ts is
		// below ts too, so the scan can start there.
		e, _, err := s.lastTimeEntry(func(e timeEntry) bool { return e.ts >= ts })
		if err != nil {
			l.logWarn("offset for timestamp", err)
			return -1, -1, false
		}
		from := max(s.base+int64(e.rel), l.start)
		for _, s := range l.segs[i:] {
			off, t, ok, err := l.scanForTimestamp(s, from, ts)
			if err != nil {
				l.logWarn("offset for timestamp", err)
				return -1, -1, false
			}
			if ok {
				return off, t, true
			}
		}
		return -1, -1, false
	}
	return -1, -1, false
}

// scanForTimestamp looks in s, from offset from, for the first record at or
// after from with a timestamp of at least ts.
func (l *Log) scanForTimestamp(s *segment, from, ts int64) (offset, timestamp int64, found bool, err error) {
	if s.next <= from {
		return 0, 0, false, nil
	}
	pos, _, ok, err := s.findBatch(from)
	if err != nil || !ok {
		return 0, 0, false, err
	}
	br := newBatchReader(s.file, s.size)
	defer br.release()
	for pos < s.size {
		h, b, err := br.at(pos, false)
		if err != nil {
			return 0, 0, false, err
		}
		if h.MaxTimestamp >= ts && h.LastOffset() >= from {
			if _, b, err = br.at(pos, true); err != nil {
				return 0, 0, false, err
			}
			if off, t, ok, err := recordAtOrAfter(b, h, from, func(_, t int64) bool { return t >= ts }); err != nil || ok {
				return off, t, ok, err
			}
		}
		pos += int64(h.Size())
	}
	return 0, 0, false, nil
}

// recordAtOrAfter returns the first record of batch b (header h) with an
// offset of at least from that match accepts.
func recordAtOrAfter(b []byte, h batch.Header, from int64, match func(offset, ts int64) bool) (offset, timestamp int64, found bool, err error) {
	errFound := errors.New("found")
	err = batch.Records(b, func(r batch.Record) error {
		off := h.BaseOffset + int64(r.OffsetDelta)
		t := h.FirstTimestamp + r.TimestampDelta
		if h.TimestampType() {
			t = h.MaxTimestamp
		}
		if off >= from && match(off, t) {
			offset, timestamp = off, t
			return errFound
		}
		return nil
	})
	if errors.Is(err, errFound) {
		return offset, timestamp, true, nil
	}
	return 0, 0, false, err
}

// MaxTimestamp returns the largest record timestamp in the log and the
// offset of the first record that has it (ListOffsets -3, KIP-734), or
// (-1, -1) if the log has no timestamped records.
func (l *Log) MaxTimestamp() (timestamp, offset int64) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		return -1, -1
	}
	var best *segment
	for _, s := range l.segs {
		if s.maxTS >= 0 && (best == nil || s.maxTS > best.maxTS) {
			best = s
		}
	}
	if best == nil {
		return -1, -1
	}
	pos, h, ok, err := best.findBatch(best.maxTSOff)
	if err == nil && ok {
		b := make([]byte, h.Size())
		if _, err = best.file.ReadAt(b, pos); err == nil {
			var off int64
			if off, _, ok, err = recordAtOrAfter(b, h, h.BaseOffset, func(_, t int64) bool { return t == best.maxTS }); err == nil && ok {
				return best.maxTS, off
			}
		}
	}
	if err != nil {
		l.logWarn("max timestamp", err)
	}
	return best.maxTS, best.maxTSOff
}

func (l *Log) logWarn(what string, err error) {
	l.logger.Warn(what, zap.String("dir", l.dir), zap.Error(err))
}
