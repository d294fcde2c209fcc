package log

import (
	"bytes"
	"testing"

	"github.com/kspring/kspring/broker/internal/batch"
)

// FuzzParseTxnIndex: any bytes parse without a panic; what parses encodes
// back to the same whole entries.
func FuzzParseTxnIndex(f *testing.F) {
	var b []byte
	b = appendAbortedTxn(b, AbortedTxn{ProducerID: 1, FirstOffset: 0, LastOffset: 30, LastStableOffset: 10})
	b = appendAbortedTxn(b, AbortedTxn{ProducerID: 2, FirstOffset: 12, LastOffset: 40, LastStableOffset: 41})
	f.Add(b)
	f.Add(b[:50])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, torn, err := ParseTxnIndex(data)
		if err != nil {
			return
		}
		if torn != (len(data)%abortedTxnSize != 0) {
			t.Fatalf("torn %v for %d bytes", torn, len(data))
		}
		var out []byte
		for _, e := range entries {
			out = appendAbortedTxn(out, e)
		}
		whole := data[:len(data)/abortedTxnSize*abortedTxnSize]
		if !bytes.Equal(out, whole) {
			t.Fatalf("round trip: %x != %x", out, whole)
		}
	})
}

// FuzzControlRecord: control keys, marker values and control batches of
// any bytes decode without a panic, and a marker round-trips.
func FuzzControlRecord(f *testing.F) {
	f.Add([]byte{0, 0, 0, 1}, []byte{0, 0, 0, 0, 0, 5}, true, int32(5))
	f.Add([]byte{0, 0, 0, 0}, []byte{0, 0}, false, int32(-1))
	f.Add([]byte{0xff, 0xff, 0, 2}, []byte{}, false, int32(0))
	f.Fuzz(func(t *testing.T, key, value []byte, commit bool, coordEpoch int32) {
		_, _, _ = ParseControlKey(key)
		_, _, _ = ParseMarkerValue(value)
		arbitrary := batch.Build(nil, 0, 0, []batch.Record{{Key: key, Value: value}}, batch.WithControl(), batch.WithProducer(1, 0, -1))
		_, _ = markerKind(arbitrary)
		if len(key) > 8 {
			_, _ = markerKind(key) // not a batch at all
		}

		b := markerBatch(Marker{ProducerID: 7, ProducerEpoch: 2, Commit: commit, CoordinatorEpoch: coordEpoch}, 1)
		kind, err := markerKind(b)
		if err != nil {
			t.Fatal(err)
		}
		if want := map[bool]ctlKind{true: ctlCommit, false: ctlAbort}[commit]; kind != want {
			t.Fatalf("kind %d, want %d", kind, want)
		}
		err = batch.Records(b, func(r batch.Record) error {
			_, ce, err := ParseMarkerValue(r.Value)
			if err == nil && ce != coordEpoch {
				t.Fatalf("coordinator epoch %d, want %d", ce, coordEpoch)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzDecodeProducerState: snapshots of any bytes decode without a panic
// and what decodes encodes (as version 3) and decodes back the same.
func FuzzDecodeProducerState(f *testing.F) {
	ps := producerState{
		7: {epoch: 2, lastWrite: 123, txnFirst: 12, batches: []batchMeta{{firstSeq: 0, lastSeq: 4, baseOffset: 10, lastOffset: 14}}},
		9: {epoch: 0, lastWrite: 5, txnFirst: -1},
	}
	f.Add(ps.encode())
	f.Add(producerState{}.encode())
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := decodeProducerState(b, 1)
		if err != nil {
			return
		}
		again, err := decodeProducerState(got.encode(), 1)
		if err != nil {
			t.Fatalf("re-encoded snapshot: %v", err)
		}
		if len(again) != len(got) {
			t.Fatalf("%d producers, then %d", len(got), len(again))
		}
		for id, e := range got {
			a := again[id]
			if a == nil || a.epoch != e.epoch || a.lastWrite != e.lastWrite || a.txnFirst != e.txnFirst || len(a.batches) != len(e.batches) {
				t.Fatalf("producer %d: %+v, then %+v", id, e, a)
			}
		}
	})
}
