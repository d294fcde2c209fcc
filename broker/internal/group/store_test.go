package group

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/kspring/kspring/broker/internal/batch"
)

// fileStore is the tests' Store: each partition of __consumer_offsets is a
// file of RecordBatch v2 batches built with package batch, fsynced on every
// append, and replayed by reading the file back, so a new Coordinator over
// the same directory sees exactly what was durably written.
type fileStore struct {
	dir string

	mu   sync.Mutex
	next map[int32]int64 // next offset per partition

	// failAppend, when set, makes Append fail with its error.
	failAppend error
	// appendGate, when set, makes Append wait for it (or ctx) first.
	appendGate chan struct{}
	// loadGate, when set, makes Load wait for it (or ctx) first.
	loadGate chan struct{}
}

func newFileStore(dir string) *fileStore {
	return &fileStore{dir: dir, next: make(map[int32]int64)}
}

func (s *fileStore) path(p int32) string {
	return filepath.Join(s.dir, fmt.Sprintf("__consumer_offsets-%d.log", p))
}

func (s *fileStore) Append(ctx context.Context, p int32, recs []Record) error {
	s.mu.Lock()
	gate, fail := s.appendGate, s.failAppend
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
	brs := make([]batch.Record, len(recs))
	for i, r := range recs {
		brs[i] = batch.Record{Key: r.Key, Value: r.Value}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	base := s.next[p]
	b := batch.Build(nil, base, time.Now().UnixMilli(), brs)
	f, err := os.OpenFile(s.path(p), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	s.next[p] = base + int64(len(recs))
	return f.Close()
}

func (s *fileStore) Load(ctx context.Context, p int32, fn func(Record) error) error {
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
	data, err := os.ReadFile(s.path(p))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var last int64 = -1
	err = batch.Split(data, func(b []byte) error {
		h, err := batch.Validate(b)
		if err != nil {
			return err
		}
		last = h.LastOffset()
		return batch.Records(b, func(r batch.Record) error {
			return fn(Record{Key: r.Key, Value: r.Value})
		})
	})
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.next[p] = max(s.next[p], last+1)
	s.mu.Unlock()
	return nil
}

// records returns every record of partition p, in order.
func (s *fileStore) records(p int32) ([]Record, error) {
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

func (s *fileStore) setFail(err error) {
	s.mu.Lock()
	s.failAppend = err
	s.mu.Unlock()
}
