package log

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"sync"
)

// While a segment is active its indexes are kept in memory in full, as they
// are appended to. Once it is not, they are paged: memory keeps the first
// entry of each page (indexPageBytes) of each index file, and a lookup reads
// the one page its answer is on. A closed segment's offset index then costs
// 8 bytes of heap per 512 entries instead of per entry, so the heap does not
// grow with the data a broker holds; the pages a lookup reads are served
// by the page cache, as Kafka's memory-mapped indexes are.

// indexPageBytes is the size of an index page, rounded down to whole
// entries. A variable so that tests can make pages small.
var indexPageBytes = 4096

var indexPages = sync.Pool{New: func() any { b := make([]byte, indexPageBytes); return &b }}

// pagedIndex is an index file of n fixed-size entries, searched a page at a
// time. It is immutable; lookups may run concurrently.
type pagedIndex[E any] struct {
	f         *os.File
	n         int
	entrySize int
	perPage   int
	firsts    []E // the first entry of each page
	decode    func([]byte) E
}

// pageIndex returns the paged form of the entries, which f holds in the
// same order, entrySize bytes each.
func pageIndex[E any](f *os.File, entries []E, entrySize int, decode func([]byte) E) *pagedIndex[E] {
	per := max(indexPageBytes/entrySize, 1)
	p := &pagedIndex[E]{f: f, n: len(entries), entrySize: entrySize, perPage: per, decode: decode}
	p.firsts = make([]E, 0, (len(entries)+per-1)/per)
	for i := 0; i < len(entries); i += per {
		p.firsts = append(p.firsts, entries[i])
	}
	return p
}

// last returns the last entry for which beyond is false, or false when
// there is none. beyond must be false for a prefix of the entries and
// true for the rest.
func (p *pagedIndex[E]) last(beyond func(E) bool) (E, bool, error) {
	var zero E
	page := sort.Search(len(p.firsts), func(i int) bool { return beyond(p.firsts[i]) }) - 1
	if page < 0 {
		return zero, false, nil
	}
	from := page * p.perPage
	n := min(p.perPage, p.n-from)
	bp := indexPages.Get().(*[]byte)
	defer indexPages.Put(bp)
	if len(*bp) < n*p.entrySize {
		*bp = make([]byte, n*p.entrySize)
	}
	b := (*bp)[:n*p.entrySize]
	if _, err := p.f.ReadAt(b, int64(from*p.entrySize)); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return zero, false, fmt.Errorf("%s: read entries %d-%d: %w", p.f.Name(), from, from+n-1, err)
	}
	i := sort.Search(n, func(i int) bool { return beyond(p.decode(b[i*p.entrySize:])) })
	// The page's first entry is not beyond (it is firsts[page]), unless
	// the file no longer holds what was paged.
	if i == 0 {
		return zero, false, fmt.Errorf("%s: entry %d changed on disk: %w", p.f.Name(), from, errBadIndex)
	}
	return p.decode(b[(i-1)*p.entrySize:]), true, nil
}

// lastIn is pagedIndex.last for entries in memory.
func lastIn[E any](entries []E, beyond func(E) bool) (E, bool) {
	i := sort.Search(len(entries), func(i int) bool { return beyond(entries[i]) })
	if i == 0 {
		var zero E
		return zero, false
	}
	return entries[i-1], true
}

func decodeOffset(b []byte) offsetEntry {
	return offsetEntry{rel: binary.BigEndian.Uint32(b), pos: binary.BigEndian.Uint32(b[4:])}
}

func decodeTime(b []byte) timeEntry {
	return timeEntry{ts: int64(binary.BigEndian.Uint64(b)), rel: binary.BigEndian.Uint32(b[8:])}
}

// page moves the segment's indexes out of memory, into their files' paged
// form; for a segment that is no longer appended to, whose index files
// hold every entry.
func (s *segment) page() {
	if s.pagedOff != nil {
		return
	}
	s.pagedOff = pageIndex(s.offFile, s.offsets, offsetEntrySize, decodeOffset)
	s.pagedTime = pageIndex(s.timeFile, s.times, timeEntrySize, decodeTime)
	s.offsets, s.times = nil, nil
}

// lastOffsetEntry returns the segment's last offset-index entry for which
// beyond is false (see pagedIndex.last).
func (s *segment) lastOffsetEntry(beyond func(offsetEntry) bool) (offsetEntry, bool, error) {
	if s.pagedOff != nil {
		return s.pagedOff.last(beyond)
	}
	e, ok := lastIn(s.offsets, beyond)
	return e, ok, nil
}

// lastTimeEntry is lastOffsetEntry for the time index.
func (s *segment) lastTimeEntry(beyond func(timeEntry) bool) (timeEntry, bool, error) {
	if s.pagedTime != nil {
		return s.pagedTime.last(beyond)
	}
	e, ok := lastIn(s.times, beyond)
	return e, ok, nil
}

// offsetEntries is the number of entries in the offset index.
func (s *segment) offsetEntries() int {
	if s.pagedOff != nil {
		return s.pagedOff.n
	}
	return len(s.offsets)
}
