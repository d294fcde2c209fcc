package log

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
)

// The offset index maps a batch's offset, relative to the segment's base, to
// its byte position: 4-byte relative offset, 4-byte position, big-endian.
// The time index maps the largest timestamp seen so far in the segment to
// the base offset of the batch holding it: 8-byte timestamp, 4-byte
// relative offset. Both are sparse: an entry every IndexIntervalBytes, and
// the time index gets a last entry when the segment is rolled or closed.
// Both are appended to their files as they grow, kept in memory while the
// segment is active and paged from the files after (index_paged.go); they
// can always be rebuilt from the segment.
const (
	offsetEntrySize = 8
	timeEntrySize   = 12
)

type offsetEntry struct {
	rel uint32
	pos uint32
}

type timeEntry struct {
	ts  int64
	rel uint32
}

var errBadIndex = errors.New("index inconsistent")

func encodeOffsets(entries []offsetEntry) []byte {
	b := make([]byte, 0, len(entries)*offsetEntrySize)
	for _, e := range entries {
		b = binary.BigEndian.AppendUint32(b, e.rel)
		b = binary.BigEndian.AppendUint32(b, e.pos)
	}
	return b
}

func encodeTimes(entries []timeEntry) []byte {
	b := make([]byte, 0, len(entries)*timeEntrySize)
	for _, e := range entries {
		b = binary.BigEndian.AppendUint64(b, uint64(e.ts))
		b = binary.BigEndian.AppendUint32(b, e.rel)
	}
	return b
}

// readOffsetIndex loads and checks an offset index for a segment of size
// bytes: entries strictly increasing in offset and position, positions
// inside the segment.
func readOffsetIndex(path string, size int64) ([]offsetEntry, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b)%offsetEntrySize != 0 {
		return nil, fmt.Errorf("%s: %d bytes is not a whole number of entries: %w", path, len(b), errBadIndex)
	}
	entries := make([]offsetEntry, len(b)/offsetEntrySize)
	for i := range entries {
		e := offsetEntry{
			rel: binary.BigEndian.Uint32(b[i*offsetEntrySize:]),
			pos: binary.BigEndian.Uint32(b[i*offsetEntrySize+4:]),
		}
		if int64(e.pos) >= size || (i > 0 && (e.rel <= entries[i-1].rel || e.pos <= entries[i-1].pos)) {
			return nil, fmt.Errorf("%s: entry %d (offset +%d at %d) out of order or past %d bytes: %w", path, i, e.rel, e.pos, size, errBadIndex)
		}
		entries[i] = e
	}
	return entries, nil
}

// readTimeIndex loads and checks a time index: timestamps strictly
// increasing, offsets not decreasing.
func readTimeIndex(path string) ([]timeEntry, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b)%timeEntrySize != 0 {
		return nil, fmt.Errorf("%s: %d bytes is not a whole number of entries: %w", path, len(b), errBadIndex)
	}
	entries := make([]timeEntry, len(b)/timeEntrySize)
	for i := range entries {
		e := timeEntry{
			ts:  int64(binary.BigEndian.Uint64(b[i*timeEntrySize:])),
			rel: binary.BigEndian.Uint32(b[i*timeEntrySize+8:]),
		}
		if e.ts < 0 || (i > 0 && (e.ts <= entries[i-1].ts || e.rel < entries[i-1].rel)) {
			return nil, fmt.Errorf("%s: entry %d (time %d, offset +%d) out of order: %w", path, i, e.ts, e.rel, errBadIndex)
		}
		entries[i] = e
	}
	return entries, nil
}
