package log

import (
	"fmt"
	"os"
	"sync/atomic"
)

// A Chunk is a run of whole batches in a segment file, handed to the wire
// layer to be sent as it is, with sendfile(2) where the platform has it, so
// that record data never passes through the broker's memory (Kafka's
// FileRecords.transferTo).
//
// A Chunk holds a reference on its file: the file stays open, and the bytes
// in its range stay as they are, until Release, even if the segment is
// deleted by retention or replaced by the cleaner meanwhile (an unlinked
// file is still readable). Only Log.Truncate, a follower's repair, rewrites
// bytes in place; a Chunk read before it may then see fewer bytes, which
// File readers report as an error.
//
// A Chunk is used by one goroutine and released exactly once.
type Chunk struct {
	f   *sharedFile
	pos int64
	n   int64
}

// File returns the open segment file and the range of the chunk in it. The
// file must not be closed, written or seeked; it is valid until Release.
func (c Chunk) File() (f *os.File, pos, n int64) { return c.f.File, c.pos, c.n }

// Len returns the chunk's size in bytes.
func (c Chunk) Len() int64 { return c.n }

// AppendTo reads the chunk's bytes and appends them to dst: the copying
// path, for writers that cannot send from a file.
func (c Chunk) AppendTo(dst []byte) ([]byte, error) {
	start := len(dst)
	dst = append(dst, make([]byte, c.n)...)
	if _, err := c.f.ReadAt(dst[start:], c.pos); err != nil {
		return dst[:start], fmt.Errorf("read %d bytes at %d of %s: %w", c.n, c.pos, c.f.Name(), err)
	}
	return dst, nil
}

// Release drops the chunk's reference on its file.
func (c Chunk) Release() {
	_ = c.f.release()
}

// ReleaseChunks releases every chunk of cs.
func ReleaseChunks(cs []Chunk) {
	for _, c := range cs {
		c.Release()
	}
}

// ChunksLen returns the total size of cs in bytes.
func ChunksLen(cs []Chunk) int64 {
	var n int64
	for _, c := range cs {
		n += c.n
	}
	return n
}

// sharedFile is a segment's .log file with a reference count: the segment
// holds one reference, each outstanding Chunk another, and the file is
// closed when the last goes.
type sharedFile struct {
	*os.File
	refs atomic.Int64
}

func newSharedFile(f *os.File) *sharedFile {
	sf := &sharedFile{File: f}
	sf.refs.Store(1)
	return sf
}

func (f *sharedFile) acquire() { f.refs.Add(1) }

// release drops a reference and closes the file with the last one.
func (f *sharedFile) release() error {
	if f.refs.Add(-1) == 0 {
		return f.File.Close()
	}
	return nil
}
