package log

import (
	"errors"
	"fmt"
	"io"
	"slices"

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
// owned by the caller.
func (l *Log) Read(offset int64, maxBytes int, maxOffset int64) ([]byte, error) {
	return l.ReadAppend(nil, offset, maxBytes, maxOffset)
}

// ReadAppend is Read that appends the batches to dst and returns the
// extended slice, so a caller can reuse one buffer across reads. With
// nothing to read it returns dst unchanged.
func (l *Log) ReadAppend(dst []byte, offset int64, maxBytes int, maxOffset int64) ([]byte, error) {
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
	out, err := l.read(dst, offset, maxBytes, maxOffset)
	if err != nil {
		return dst, fmt.Errorf("log %s: read offset %d: %w", l.dir, offset, err)
	}
	return out, nil
}

// read appends whole batches from offset to dst.
func (l *Log) read(dst []byte, offset int64, maxBytes int, maxOffset int64) ([]byte, error) {
	base := len(dst)
	budget := int64(max(maxBytes, 0))
	for i := l.segmentFor(offset); i < len(l.segs); i++ {
		s := l.segs[i]
		if s.next <= offset {
			continue
		}
		pos, first, found, err := s.findBatch(offset)
		if err != nil {
			return nil, err
		}
		if !found {
			continue
		}
		if first.LastOffset() >= maxOffset {
			return dst, nil
		}
		if len(dst) == base && int64(first.Size()) > budget {
			// KIP-74: one whole batch even past maxBytes.
			dst = slices.Grow(dst, first.Size())
			b := dst[len(dst) : len(dst)+first.Size()]
			if _, err := s.file.ReadAt(b, pos); err != nil {
				return nil, err
			}
			return dst[:len(dst)+first.Size()], nil
		}
		// Read as much as the budget allows in one pread, then cut at the
		// last whole batch within the limits.
		n := int(min(budget, s.size-pos))
		dst = slices.Grow(dst, n)
		buf := dst[len(dst) : len(dst)+n]
		if _, err := s.file.ReadAt(buf, pos); err != nil && !errors.Is(err, io.EOF) {
			return nil, err
		}
		cut := 0
		for cut+batch.HeaderSize <= len(buf) {
			h, _ := batch.ParseHeader(buf[cut:])
			if h.LastOffset() >= maxOffset || cut+h.Size() > len(buf) || h.Size() < batch.HeaderSize {
				break
			}
			cut += h.Size()
		}
		dst = dst[:len(dst)+cut]
		budget -= int64(cut)
		if int64(cut) < s.size-pos {
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
		from := max(s.base+int64(lookupTime(s.times, ts)), l.start)
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
