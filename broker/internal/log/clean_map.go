package log

import (
	"fmt"
	"hash/maphash"

	"github.com/kspring/kspring/broker/internal/batch"
)

// offsetMap maps each key of the dirty tail to its latest offset. Keys are
// held as 128-bit hashes (two seeded 64-bit hashes), as Kafka's cleaner
// holds MD5 digests: the memory per key is fixed whatever the key's size,
// and a collision, which would drop a record, has a probability around
// 2^-128 per pair of keys.
type offsetMap struct {
	seeds [2]maphash.Seed
	m     map[[2]uint64]int64
}

func newOffsetMap() *offsetMap {
	return &offsetMap{seeds: [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}, m: make(map[[2]uint64]int64)}
}

func (m *offsetMap) hash(key []byte) [2]uint64 {
	return [2]uint64{maphash.Bytes(m.seeds[0], key), maphash.Bytes(m.seeds[1], key)}
}

func (m *offsetMap) put(key []byte, offset int64) { m.m[m.hash(key)] = offset }

func (m *offsetMap) get(key []byte) (int64, bool) {
	off, ok := m.m[m.hash(key)]
	return off, ok
}

func (m *offsetMap) len() int { return len(m.m) }

// buildOffsetMap maps the keys of the dirty tail, segment by segment, while
// the map has room (at least one segment is always mapped). It returns the
// map, how many of the plan's segments the clean covers, and the end of the
// mapped range (the base of the first segment not covered).
func (l *Log) buildOffsetMap(p *cleanPlan, stats *CleanStats) (m *offsetMap, k int, end int64, err error) {
	m = newOffsetMap()
	if p.uncleanable <= p.firstDirty {
		// Nothing dirty: the clean only drops expired tombstones.
		return m, len(p.segs), p.firstDirty, nil
	}
	for i, cs := range p.segs {
		if cs.next <= p.firstDirty {
			continue
		}
		if m.len() > 0 && int64(m.len())+(cs.next-max(cs.base, p.firstDirty)) > int64(maxMapEntries) {
			return m, i, cs.base, nil
		}
		err := eachBatch(cs, func(h batch.Header, b []byte) error {
			if h.LastOffset() < p.firstDirty || h.IsControl() || p.abortedBatch(h) {
				return nil
			}
			return batch.Records(b, func(r batch.Record) error {
				if off := h.BaseOffset + int64(r.OffsetDelta); off >= p.firstDirty && r.Key != nil {
					m.put(r.Key, off)
				}
				return nil
			})
		})
		if err != nil {
			return nil, 0, 0, err
		}
	}
	return m, len(p.segs), p.uncleanable, nil
}

// eachBatch calls fn with every batch of a planned segment, checking each
// one's CRC first. b is valid until fn returns.
func eachBatch(cs cleanSeg, fn func(h batch.Header, b []byte) error) error {
	br := newBatchReader(cs.file, cs.size)
	defer br.release()
	for pos := int64(0); pos < cs.size; {
		h, b, err := br.at(pos, true)
		if err != nil {
			return fmt.Errorf("segment %d at position %d: %w", cs.base, pos, err)
		}
		if _, err := batch.VerifyChecksum(b); err != nil {
			return fmt.Errorf("segment %d at position %d: %w", cs.base, pos, err)
		}
		if err := fn(h, b); err != nil {
			return err
		}
		pos += int64(h.Size())
	}
	return nil
}
