package log

import (
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/kspring/kspring/broker/internal/batch"
)

// errTorn reports bytes at the end of a segment that do not form a whole
// batch: a write cut short by a crash.
var errTorn = errors.New("torn batch")

// errBadHeader reports a batch header whose fields cannot be right.
var errBadHeader = errors.New("bad batch header")

const scanChunk = 64 << 10

var scanBufs = sync.Pool{New: func() any { b := make([]byte, scanChunk); return &b }}

// batchReader walks the batches of a segment file with few, large preads.
// It keeps one window of the file in buf; a batch that does not fit is read
// into a grown buffer.
type batchReader struct {
	r      io.ReaderAt
	end    int64 // file size: bytes past it are not read
	buf    []byte
	pooled *[]byte
	winPos int64 // file position of buf[0]
	winLen int   // valid bytes in buf
}

func newBatchReader(r io.ReaderAt, end int64) *batchReader {
	p := scanBufs.Get().(*[]byte)
	return &batchReader{r: r, end: end, buf: *p, pooled: p}
}

// headerWindow is the read size of a reader that looks at batch headers
// only: enough for the headers of the small batches between two offset
// index entries, without reading the records of a large one.
const headerWindow = 4 << 10

// newHeaderReader returns a batchReader for walking headers (at with full
// false) with small reads.
func newHeaderReader(r io.ReaderAt, end int64) *batchReader {
	br := newBatchReader(r, end)
	br.buf = br.buf[:headerWindow]
	return br
}

// release returns the buffer to the pool; the reader must not be used after.
func (br *batchReader) release() {
	if br.pooled != nil && cap(br.buf) == scanChunk {
		scanBufs.Put(br.pooled)
	}
	br.pooled, br.buf = nil, nil
}

// window returns file bytes [pos, pos+n), reading them if needed.
func (br *batchReader) window(pos int64, n int) ([]byte, error) {
	if pos >= br.winPos && pos+int64(n) <= br.winPos+int64(br.winLen) {
		off := int(pos - br.winPos)
		return br.buf[off : off+n], nil
	}
	if n > len(br.buf) {
		br.buf = make([]byte, n)
	}
	want := int(min(int64(len(br.buf)), br.end-pos))
	got, err := br.r.ReadAt(br.buf[:want], pos)
	if got < n {
		if err == nil || errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("read %d bytes at %d: %w", n, pos, err)
	}
	br.winPos, br.winLen = pos, got
	return br.buf[:n], nil
}

// at returns the header of the batch at pos and, if full, its bytes (valid
// until the next call). It returns errTorn when the header or the batch runs
// past the end and errBadHeader for an impossible header.
func (br *batchReader) at(pos int64, full bool) (batch.Header, []byte, error) {
	if br.end-pos < batch.HeaderSize {
		return batch.Header{}, nil, fmt.Errorf("%d bytes at position %d, less than a batch header: %w", br.end-pos, pos, errTorn)
	}
	hb, err := br.window(pos, batch.HeaderSize)
	if err != nil {
		return batch.Header{}, nil, err
	}
	h, _ := batch.ParseHeader(hb)
	switch {
	case h.Magic != 2:
		return h, nil, fmt.Errorf("magic %d at position %d: %w", h.Magic, pos, errBadHeader)
	case h.Length < batch.HeaderSize-12:
		return h, nil, fmt.Errorf("length %d at position %d: %w", h.Length, pos, errBadHeader)
	case h.LastOffsetDelta < 0:
		return h, nil, fmt.Errorf("last offset delta %d at position %d: %w", h.LastOffsetDelta, pos, errBadHeader)
	case int64(h.Size()) > br.end-pos:
		return h, nil, fmt.Errorf("batch of %d bytes at position %d, %d bytes remain: %w", h.Size(), pos, br.end-pos, errTorn)
	}
	if !full {
		return h, nil, nil
	}
	b, err := br.window(pos, h.Size())
	return h, b, err
}
