package log

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/kspring/kspring/broker/internal/batch"
)

// Idempotent producers, as Kafka's ProducerStateManager tracks them: per
// producer id the current epoch and the last few batches, so that a retried
// batch is recognised as a duplicate and a gap or reordering is refused.

// maxProducerBatches is how many recent batches per producer are kept for
// duplicate detection (Kafka's max.in.flight.requests.per.connection limit
// for idempotence).
const maxProducerBatches = 5

type batchMeta struct {
	firstSeq, lastSeq      int32
	baseOffset, lastOffset int64
}

type producerEntry struct {
	epoch     int16
	lastWrite int64       // unix ms of the producer's last batch, for expiry
	batches   []batchMeta // oldest first, at most maxProducerBatches
	txnFirst  int64       // first offset of its ongoing transaction; -1 none
}

// lastSeq is the sequence of the producer's last batch, -1 if none is known.
func (e *producerEntry) lastSeq() int32 {
	if len(e.batches) == 0 {
		return -1
	}
	return e.batches[len(e.batches)-1].lastSeq
}

func (e *producerEntry) clone() *producerEntry {
	return &producerEntry{epoch: e.epoch, lastWrite: e.lastWrite, batches: slices.Clone(e.batches), txnFirst: e.txnFirst}
}

// add records a batch, dropping the oldest beyond the limit.
func (e *producerEntry) add(m batchMeta) {
	if len(e.batches) == maxProducerBatches {
		e.batches = append(e.batches[:0], e.batches[1:]...)
	}
	e.batches = append(e.batches, m)
}

type producerState map[int64]*producerEntry

// inSequence reports whether next follows last, with int32 wrap-around.
func inSequence(last, next int32) bool {
	return int64(next) == int64(last)+1 || (next == 0 && last == math.MaxInt32)
}

// duplicateOf returns the recorded batch h repeats, if any. Only batches of
// the current epoch with exactly the same sequence range count.
func (ps producerState) duplicateOf(h batch.Header) (batchMeta, bool) {
	e, ok := ps[h.ProducerID]
	if !ok || e.epoch != h.ProducerEpoch {
		return batchMeta{}, false
	}
	first, last := h.BaseSequence, h.LastSequence()
	for _, m := range e.batches {
		if m.firstSeq == first && m.lastSeq == last {
			return m, true
		}
	}
	return batchMeta{}, false
}

// check validates one client batch against e (nil for an unknown producer):
//   - an epoch lower than the known one is fenced: ErrInvalidProducerEpoch;
//   - a new epoch must start at sequence 0: ErrOutOfOrderSequence;
//   - in the same epoch the first sequence must follow the last one:
//     ErrOutOfOrderSequence;
//   - an unknown producer may start at any sequence: its state may have
//     been lost to retention, and Kafka 2.5+ accepts it too.
//
// Control batches (transaction markers) and batches without a sequence
// (a coordinator's transactional writes, Kafka's NO_SEQUENCE) only move the
// epoch.
func checkProducerBatch(e *producerEntry, h batch.Header) error {
	if e == nil {
		return nil
	}
	if h.ProducerEpoch < e.epoch {
		return fmt.Errorf("producer %d: epoch %d is older than %d: %w", h.ProducerID, h.ProducerEpoch, e.epoch, ErrInvalidProducerEpoch)
	}
	if h.IsControl() || h.BaseSequence < 0 {
		return nil
	}
	if h.ProducerEpoch != e.epoch {
		if h.BaseSequence != 0 {
			return fmt.Errorf("producer %d: new epoch %d starts at sequence %d, not 0: %w", h.ProducerID, h.ProducerEpoch, h.BaseSequence, ErrOutOfOrderSequence)
		}
		return nil
	}
	if last := e.lastSeq(); !inSequence(last, h.BaseSequence) {
		return fmt.Errorf("producer %d epoch %d: sequence %d does not follow %d: %w", h.ProducerID, h.ProducerEpoch, h.BaseSequence, last, ErrOutOfOrderSequence)
	}
	return nil
}

// update records a batch written at base..last at time at (unix ms). It
// does no checks: callers have run checkProducerBatch, or are replaying the
// log.
func (ps producerState) update(h batch.Header, base, last, at int64) {
	e, ok := ps[h.ProducerID]
	if !ok {
		e = &producerEntry{epoch: h.ProducerEpoch, txnFirst: -1}
		ps[h.ProducerID] = e
	}
	e.apply(h, base, last)
	e.lastWrite = max(e.lastWrite, at)
}

// expire forgets the producers that last wrote at or before cutoff (unix
// ms) and returns how many. A producer with an open transaction stays:
// only its marker ends it, as in Kafka.
func (ps producerState) expire(cutoff int64) int {
	n := 0
	for id, e := range ps {
		if e.lastWrite <= cutoff && e.txnFirst < 0 {
			delete(ps, id)
			n++
		}
	}
	return n
}

// apply records a batch in e: a new epoch forgets the old epoch's batches,
// a control batch only moves the epoch.
func (e *producerEntry) apply(h batch.Header, base, last int64) {
	if h.ProducerEpoch != e.epoch {
		e.epoch, e.batches = h.ProducerEpoch, e.batches[:0]
	}
	if h.IsControl() || h.BaseSequence < 0 {
		return
	}
	e.add(batchMeta{firstSeq: h.BaseSequence, lastSeq: h.LastSequence(), baseOffset: base, lastOffset: last})
}

// Snapshots: "<20-digit offset>.snapshot" holds the state after every batch
// below that offset. Layout (big-endian): version int16, count int32, then
// per producer: id int64, epoch int16, last write int64 (unix ms; not in
// version 1), first offset of its ongoing transaction int64 (-1 none;
// since version 3), n int8, n x (firstSeq int32, lastSeq int32, baseOffset int64,
// lastOffset int64); then a CRC-32C of everything before it. A torn or
// corrupt snapshot fails its CRC and is ignored.

const (
	snapshotExt     = ".snapshot"
	snapshotVersion = 3
	keepSnapshots   = 3
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func (ps producerState) encode() []byte {
	b := binary.BigEndian.AppendUint16(nil, snapshotVersion)
	b = binary.BigEndian.AppendUint32(b, uint32(len(ps)))
	for _, id := range slices.Sorted(maps.Keys(ps)) {
		e := ps[id]
		b = binary.BigEndian.AppendUint64(b, uint64(id))
		b = binary.BigEndian.AppendUint16(b, uint16(e.epoch))
		b = binary.BigEndian.AppendUint64(b, uint64(e.lastWrite))
		b = binary.BigEndian.AppendUint64(b, uint64(e.txnFirst))
		b = append(b, byte(len(e.batches)))
		for _, m := range e.batches {
			b = binary.BigEndian.AppendUint32(b, uint32(m.firstSeq))
			b = binary.BigEndian.AppendUint32(b, uint32(m.lastSeq))
			b = binary.BigEndian.AppendUint64(b, uint64(m.baseOffset))
			b = binary.BigEndian.AppendUint64(b, uint64(m.lastOffset))
		}
	}
	return binary.BigEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

var errBadSnapshot = errors.New("producer snapshot corrupt")

// decodeProducerState decodes a snapshot. Producers from a version 1
// snapshot, which has no write times, count as having written at loadedAt.
func decodeProducerState(b []byte, loadedAt int64) (producerState, error) {
	if len(b) < 10 {
		return nil, errBadSnapshot
	}
	body, sum := b[:len(b)-4], binary.BigEndian.Uint32(b[len(b)-4:])
	version := binary.BigEndian.Uint16(body)
	if crc32.Checksum(body, castagnoli) != sum || version < 1 || version > snapshotVersion {
		return nil, errBadSnapshot
	}
	head := 11 // id, epoch, batch count
	if version >= 2 {
		head += 8 // last write
	}
	if version >= 3 {
		head += 8 // ongoing transaction
	}
	n := binary.BigEndian.Uint32(body[2:])
	body = body[6:]
	ps := make(producerState, min(int(n), len(body)/head))
	for range n {
		if len(body) < head {
			return nil, errBadSnapshot
		}
		id := int64(binary.BigEndian.Uint64(body))
		e := &producerEntry{epoch: int16(binary.BigEndian.Uint16(body[8:])), lastWrite: loadedAt, txnFirst: -1}
		if version >= 2 {
			e.lastWrite = int64(binary.BigEndian.Uint64(body[10:]))
		}
		if version >= 3 {
			e.txnFirst = int64(binary.BigEndian.Uint64(body[18:]))
			if e.txnFirst < -1 {
				return nil, errBadSnapshot
			}
		}
		nb := int(body[head-1])
		body = body[head:]
		if nb > maxProducerBatches || len(body) < nb*24 {
			return nil, errBadSnapshot
		}
		for range nb {
			e.batches = append(e.batches, batchMeta{
				firstSeq:   int32(binary.BigEndian.Uint32(body)),
				lastSeq:    int32(binary.BigEndian.Uint32(body[4:])),
				baseOffset: int64(binary.BigEndian.Uint64(body[8:])),
				lastOffset: int64(binary.BigEndian.Uint64(body[16:])),
			})
			body = body[24:]
		}
		ps[id] = e
	}
	if len(body) != 0 {
		return nil, errBadSnapshot
	}
	return ps, nil
}

// listSnapshots returns the offsets of the snapshot files in dir, ascending.
func listSnapshots(dir string) ([]int64, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var offs []int64
	for _, de := range entries {
		name := de.Name()
		if !strings.HasSuffix(name, snapshotExt) {
			continue
		}
		off, err := strconv.ParseInt(strings.TrimSuffix(name, snapshotExt), 10, 64)
		if err != nil {
			continue
		}
		offs = append(offs, off)
	}
	sort.Slice(offs, func(i, j int) bool { return offs[i] < offs[j] })
	return offs, nil
}

func snapshotPath(dir string, off int64) string {
	return filepath.Join(dir, segmentName(off, snapshotExt))
}
