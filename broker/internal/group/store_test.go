package group

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/kspring/kspring/broker/internal/batch"
	"github.com/kspring/kspring/broker/internal/log"
)

// logStore is the tests' Store, built as the broker builds it: each
// partition of __consumer_offsets is a partition log (package log) in a
// temporary directory, written with RecordBatch v2 batches (package batch)
// and replayed by reading them back. reopen closes every log, so the next
// Coordinator replays what reached the files.
type logStore struct {
	dir string

	mu   sync.Mutex
	logs map[int32]*log.Log
	// failAppend, when set, makes Append fail with its error.
	failAppend error
	// appendGate, when set, makes Append wait for it (or ctx) first.
	appendGate chan struct{}
	// loadGate, when set, makes Load wait for it (or ctx) first.
	loadGate chan struct{}
	appends  int
}

func newLogStore(dir string) *logStore {
	return &logStore{dir: dir, logs: make(map[int32]*log.Log)}
}

func (s *logStore) partition(p int32) (*log.Log, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if l := s.logs[p]; l != nil {
		return l, nil
	}
	l, err := log.Open(filepath.Join(s.dir, fmt.Sprintf("__consumer_offsets-%d", p)), log.DefaultConfig(), zap.NewNop())
	if err != nil {
		return nil, err
	}
	s.logs[p] = l
	return l, nil
}

func (s *logStore) Append(ctx context.Context, p int32, recs []Record) error {
	s.mu.Lock()
	gate, fail := s.appendGate, s.failAppend
	s.appends++
	s.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if fail != nil {
		return fail
	}
	l, err := s.partition(p)
	if err != nil {
		return err
	}
	brs := make([]batch.Record, len(recs))
	for i, r := range recs {
		brs[i] = batch.Record{Key: r.Key, Value: r.Value}
	}
	now := time.Now()
	_, err = l.Append(batch.Build(nil, 0, now.UnixMilli(), brs), 0, now)
	return err
}

func (s *logStore) Load(ctx context.Context, p int32, fn func(Record) error) error {
	s.mu.Lock()
	gate := s.loadGate
	s.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	l, err := s.partition(p)
	if err != nil {
		return err
	}
	for next, end := l.StartOffset(), l.EndOffset(); next < end; {
		if err := ctx.Err(); err != nil {
			return err
		}
		from := next
		data, err := l.Read(from, 1<<20, end)
		if err != nil {
			return err
		}
		err = batch.Split(data, func(b []byte) error {
			h, err := batch.VerifyChecksum(b)
			if err != nil {
				return err
			}
			next = h.LastOffset() + 1
			if h.BaseOffset < from {
				return nil // Read starts at the batch holding from
			}
			return BatchRecords(b, fn)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// AppendTxn writes a producer's transactional batch, as the broker's store
// does.
func (s *logStore) AppendTxn(ctx context.Context, p int32, producerID int64, epoch int16, recs []Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	l, err := s.partition(p)
	if err != nil {
		return err
	}
	now := time.Now()
	_, err = l.Append(TxnBatch(producerID, epoch, recs, now.UnixMilli()), 0, now)
	return err
}

// marker writes producer producerID's transaction marker to partition p,
// as WriteTxnMarkers does.
func (s *logStore) marker(p int32, producerID int64, epoch int16, commit bool) error {
	l, err := s.partition(p)
	if err != nil {
		return err
	}
	_, err = l.AppendMarker(log.Marker{ProducerID: producerID, ProducerEpoch: epoch, Commit: commit}, 0, time.Now())
	return err
}

// reopen closes every partition log; they open again on next use.
func (s *logStore) reopen() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for p, l := range s.logs {
		errs = append(errs, l.Close())
		delete(s.logs, p)
	}
	return errors.Join(errs...)
}

// records returns every record of partition p, in order.
func (s *logStore) records(p int32) ([]Record, error) {
	var out []Record
	err := s.Load(context.Background(), p, func(r Record) error {
		out = append(out, Record{Key: append([]byte(nil), r.Key...), Value: cloneNil(r.Value)})
		return nil
	})
	return out, err
}

func cloneNil(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte{}, b...)
}

func (s *logStore) setFail(err error) {
	s.mu.Lock()
	s.failAppend = err
	s.mu.Unlock()
}

func (s *logStore) setAppendGate(ch chan struct{}) {
	s.mu.Lock()
	s.appendGate = ch
	s.mu.Unlock()
}
