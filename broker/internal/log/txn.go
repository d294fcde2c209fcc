package log

import (
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/kspring/kspring/broker/internal/batch"
)

// Transactions, as Kafka's ProducerStateManager and transaction index keep
// them. A transactional producer's data batches (attribute bit 4) open a
// transaction at the first one's offset; a control batch (bit 5) holding a
// commit or abort marker closes it. The last stable offset (LSO) is the
// first offset of the oldest transaction not yet decided and replicated;
// read_committed consumers read below it. Aborted transactions are listed
// in the aborted transaction index of the segment that holds the abort
// marker, so a fetch can tell consumers which records to drop.

// Marker is a transaction marker: the end of producer ProducerID's
// transaction on this partition, committed or aborted, written by the
// transaction coordinator (through WriteTxnMarkers) in coordinator epoch
// CoordinatorEpoch. ProducerEpoch may be newer than the producer's
// current one (the coordinator bumps it when it fences or times out a
// producer); it then becomes the producer's epoch.
type Marker struct {
	ProducerID       int64
	ProducerEpoch    int16
	Commit           bool
	CoordinatorEpoch int32
}

// AbortedTxn is one entry of the aborted transaction index, Kafka's
// AbortedTxn: producer ProducerID's transaction from FirstOffset was aborted
// by the marker at LastOffset; LastStableOffset was the partition's first
// undecided offset once it was (an upper bound that lets a scan stop).
type AbortedTxn struct {
	ProducerID       int64
	FirstOffset      int64
	LastOffset       int64
	LastStableOffset int64
}

// Control records (Kafka's ControlRecordType and EndTransactionMarker):
// key = version int16 (0), type int16; value = version int16 (0),
// coordinator epoch int32.
const (
	controlAbort  int16 = 0
	controlCommit int16 = 1

	controlKeySize   = 4
	controlValueSize = 6
)

// ctlKind is what a batch means to transaction state.
type ctlKind int8

const (
	ctlNone   ctlKind = iota // a data batch, or a control batch of another type
	ctlAbort                 // an abort marker
	ctlCommit                // a commit marker
)

// errBadControl reports a control record that is not a transaction marker
// Kafka could have written.
var errBadControl = errors.New("malformed control record")

// ParseControlKey decodes a control record's key: its version and type (0
// abort, 1 commit; Kafka defines others, which are not transaction
// markers).
func ParseControlKey(key []byte) (version, typ int16, err error) {
	if len(key) < controlKeySize {
		return 0, 0, fmt.Errorf("control record key of %d bytes: %w", len(key), errBadControl)
	}
	version = int16(binary.BigEndian.Uint16(key))
	typ = int16(binary.BigEndian.Uint16(key[2:]))
	if version < 0 {
		return 0, 0, fmt.Errorf("control record key version %d: %w", version, errBadControl)
	}
	return version, typ, nil
}

// ParseMarkerValue decodes an end-transaction marker's value: its version
// and the coordinator epoch.
func ParseMarkerValue(value []byte) (version int16, coordinatorEpoch int32, err error) {
	if len(value) < controlValueSize {
		return 0, 0, fmt.Errorf("transaction marker value of %d bytes: %w", len(value), errBadControl)
	}
	version = int16(binary.BigEndian.Uint16(value))
	if version < 0 {
		return 0, 0, fmt.Errorf("transaction marker value version %d: %w", version, errBadControl)
	}
	return version, int32(binary.BigEndian.Uint32(value[2:])), nil
}

// markerKind decodes a control batch's first record and says which marker
// it is; a control batch of another type is ctlNone. Only control batches
// (markers: one small record) are decoded.
func markerKind(b []byte) (ctlKind, error) {
	kind, seen := ctlNone, false
	err := batch.Records(b, func(r batch.Record) error {
		if seen {
			return nil
		}
		seen = true
		_, typ, err := ParseControlKey(r.Key)
		if err != nil {
			return err
		}
		switch typ {
		case controlAbort:
			kind = ctlAbort
		case controlCommit:
			kind = ctlCommit
		}
		return nil
	})
	return kind, err
}

// markerBatch builds the control batch of m at time now (unix ms).
func markerBatch(m Marker, now int64) []byte {
	typ := controlAbort
	if m.Commit {
		typ = controlCommit
	}
	key := binary.BigEndian.AppendUint16(make([]byte, 0, controlKeySize), 0)
	key = binary.BigEndian.AppendUint16(key, uint16(typ))
	value := binary.BigEndian.AppendUint16(make([]byte, 0, controlValueSize), 0)
	value = binary.BigEndian.AppendUint32(value, uint32(m.CoordinatorEpoch))
	return batch.Build(nil, 0, now, []batch.Record{{Key: key, Value: value}},
		batch.WithProducer(m.ProducerID, m.ProducerEpoch, -1),
		batch.WithTransactional(), batch.WithControl())
}

// The aborted transaction index, Kafka's .txnindex: 34-byte entries of
// version int16 (0), producer id int64, first offset int64, last offset
// int64, last stable offset int64, big-endian, in marker order.
const (
	txnIndexExt     = ".txnindex"
	abortedTxnSize  = 34
	abortedTxnVerV0 = 0
)

func appendAbortedTxn(dst []byte, e AbortedTxn) []byte {
	dst = binary.BigEndian.AppendUint16(dst, abortedTxnVerV0)
	dst = binary.BigEndian.AppendUint64(dst, uint64(e.ProducerID))
	dst = binary.BigEndian.AppendUint64(dst, uint64(e.FirstOffset))
	dst = binary.BigEndian.AppendUint64(dst, uint64(e.LastOffset))
	return binary.BigEndian.AppendUint64(dst, uint64(e.LastStableOffset))
}

// ParseTxnIndex decodes a .txnindex file. A torn last entry (a crash during
// its write) is dropped and reported by torn; an entry with an unknown
// version or impossible offsets fails the whole file.
func ParseTxnIndex(b []byte) (entries []AbortedTxn, torn bool, err error) {
	n := len(b) / abortedTxnSize
	entries = make([]AbortedTxn, 0, n)
	for i := range n {
		p := b[i*abortedTxnSize:]
		if v := binary.BigEndian.Uint16(p); v != abortedTxnVerV0 {
			return nil, false, fmt.Errorf("aborted transaction %d: version %d: %w", i, v, errBadIndex)
		}
		e := AbortedTxn{
			ProducerID:       int64(binary.BigEndian.Uint64(p[2:])),
			FirstOffset:      int64(binary.BigEndian.Uint64(p[10:])),
			LastOffset:       int64(binary.BigEndian.Uint64(p[18:])),
			LastStableOffset: int64(binary.BigEndian.Uint64(p[26:])),
		}
		if e.FirstOffset < 0 || e.LastOffset < e.FirstOffset || (i > 0 && e.LastOffset <= entries[i-1].LastOffset) {
			return nil, false, fmt.Errorf("aborted transaction %d: offsets %d..%d: %w", i, e.FirstOffset, e.LastOffset, errBadIndex)
		}
		entries = append(entries, e)
	}
	return entries, len(b)%abortedTxnSize != 0, nil
}

// txnSpan is a decided transaction whose marker may not be replicated yet.
type txnSpan struct{ first, marker int64 }

// txnState is the log's view of transactions, guarded by Log.mu. open
// counts ongoing and undecided-until-replicated transactions; readers check
// it without the lock, so that a partition without transactions answers
// LastStableOffset for free. hwSeen is the highest high watermark a caller
// passed: decided transactions whose marker is below it are replicated.
type txnState struct {
	ongoing   map[int64]int64 // producer id -> first offset of its open transaction
	decided   []txnSpan       // marker order
	lastAbort int64           // offset of the last abort marker in any segment's index; -1 none
}

func (t *txnState) reset() { t.ongoing, t.decided, t.lastAbort = map[int64]int64{}, nil, -1 }

// refreshLastAbort recomputes lastAbort from the segments' indexes (after a
// load or truncation). Callers hold mu.
func (l *Log) refreshLastAbort() {
	l.txns.lastAbort = -1
	for _, s := range l.segs {
		if n := len(s.aborted); n > 0 {
			l.txns.lastAbort = max(l.txns.lastAbort, s.aborted[n-1].LastOffset)
		}
	}
}

// track updates transaction state after batch h (with its marker kind) was
// written to segment s or replayed from it. Callers hold mu (or own the
// log, as Open does) and have updated the producer's idempotence state.
func (l *Log) track(s *segment, h batch.Header, kind ctlKind) error {
	e := l.producers[h.ProducerID]
	switch {
	case kind != ctlNone:
		first, open := l.txns.ongoing[h.ProducerID]
		if !open {
			first = h.BaseOffset // a marker with nothing to end spans itself, as in Kafka
		}
		delete(l.txns.ongoing, h.ProducerID)
		if e != nil {
			e.txnFirst = -1
		}
		if kind == ctlAbort {
			lso := h.BaseOffset + 1
			for _, f := range l.txns.ongoing {
				lso = min(lso, f)
			}
			if err := s.addAborted(AbortedTxn{ProducerID: h.ProducerID, FirstOffset: first, LastOffset: h.BaseOffset, LastStableOffset: lso}); err != nil {
				return err
			}
			l.txns.lastAbort = max(l.txns.lastAbort, h.BaseOffset)
		}
		l.txns.decided = append(l.txns.decided, txnSpan{first: first, marker: h.BaseOffset})
	case h.IsTransactional() && !h.IsControl():
		if _, open := l.txns.ongoing[h.ProducerID]; !open {
			l.txns.ongoing[h.ProducerID] = h.BaseOffset
		}
		if e != nil && e.txnFirst < 0 {
			e.txnFirst = l.txns.ongoing[h.ProducerID]
		}
	default:
		return nil
	}
	l.pruneDecided()
	return nil
}

// pruneDecided forgets decided transactions whose marker the high
// watermark has passed. Callers hold mu.
func (l *Log) pruneDecided() {
	hw := l.hwSeen.Load()
	keep := l.txns.decided[:0]
	for _, t := range l.txns.decided {
		if t.marker >= hw {
			keep = append(keep, t)
		}
	}
	clear(l.txns.decided[len(keep):])
	l.txns.decided = keep
	l.txnOpen.Store(int64(len(l.txns.ongoing) + len(keep)))
}

// LastStableOffset returns the last stable offset for high watermark hw:
// the first offset of the oldest transaction that is ongoing, or decided
// by a marker at or above hw (not yet replicated), capped at hw.
// read_committed consumers read below it. It costs an atomic load on a
// partition without transactions. Safe for concurrent use.
func (l *Log) LastStableOffset(hw int64) int64 {
	if l.txnOpen.Load() == 0 {
		return hw
	}
	l.NoteHighWatermark(hw)
	l.mu.RLock()
	defer l.mu.RUnlock()
	lso := hw
	for _, f := range l.txns.ongoing {
		lso = min(lso, f)
	}
	for _, t := range l.txns.decided {
		if t.marker >= hw {
			lso = min(lso, t.first)
		}
	}
	return lso
}

// NoteHighWatermark tells the log that everything below hw is replicated
// to the ISR, so that decided transactions below it stop counting for the
// LSO (they are forgotten at the next transactional write). The replica
// calls it as its high watermark moves, on leaders and followers alike. It
// costs an atomic compare-and-swap. Safe for concurrent use.
func (l *Log) NoteHighWatermark(hw int64) {
	for {
		seen := l.hwSeen.Load()
		if hw <= seen || l.hwSeen.CompareAndSwap(seen, hw) {
			return
		}
	}
}

// FirstUnstableOffset returns the first offset of the oldest ongoing
// transaction, if any.
func (l *Log) FirstUnstableOffset() (int64, bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.firstOngoingLocked()
}

func (l *Log) firstOngoingLocked() (int64, bool) {
	first, ok := int64(0), false
	for _, f := range l.txns.ongoing {
		if !ok || f < first {
			first, ok = f, true
		}
	}
	return first, ok
}

// AbortedTransactions returns the aborted transactions that overlap the
// offsets [from, upTo): those whose marker is at or after from and whose
// first offset is below upTo, in marker order. A read_committed fetch
// sends them so the consumer drops their records. Safe for concurrent use.
//
// A fetch past the last abort marker (a consumer at the head of a log
// whose transactions commit) is answered without looking at the segments.
func (l *Log) AbortedTransactions(from, upTo int64) []AbortedTxn {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if from > l.txns.lastAbort {
		return nil
	}
	var out []AbortedTxn
	for _, s := range l.segs[l.segmentFor(from):] {
		for _, e := range s.aborted {
			if e.LastOffset >= from && e.FirstOffset < upTo {
				out = append(out, e)
			}
			if e.LastStableOffset > upTo {
				return out // no transaction open below upTo is left to end
			}
		}
	}
	return out
}

// AppendMarker writes a transaction marker for m's producer as the leader
// does, in leader epoch leaderEpoch, ending the producer's transaction (an
// abort is added to the aborted transaction index). A marker with an older
// producer epoch than the producer's is refused with
// ErrInvalidProducerEpoch; a newer one raises the producer's epoch. The
// write, rolls and flush policy are Append's.
func (l *Log) AppendMarker(m Marker, leaderEpoch int32, now time.Time) (AppendResult, error) {
	b := markerBatch(m, now.UnixMilli())
	h, err := batch.ParseHeader(b)
	if err != nil {
		return AppendResult{}, fmt.Errorf("log %s: append marker: %w", l.dir, err)
	}
	kind := ctlAbort
	if m.Commit {
		kind = ctlCommit
	}
	list := []appendBatch{{b: b, h: h, ctl: kind}}
	l.mu.Lock()
	res, flush, err := l.appendLocked(b, list, leaderEpoch, now)
	l.mu.Unlock()
	return l.appended(res, flush, err, "append marker")
}

// txnIndexPath is the aborted transaction index of the segment at base.
func txnIndexPath(dir string, base int64) string {
	return filepath.Join(dir, segmentName(base, txnIndexExt))
}
