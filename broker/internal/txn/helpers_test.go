package txn

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// memStore is a Store in memory: the records of each partition in order.
// failing makes appends fail with that error.
type memStore struct {
	mu      sync.Mutex
	recs    map[int32][][2][]byte
	failing error
}

func (s *memStore) Append(ctx context.Context, p int32, key, value []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failing != nil {
		return s.failing
	}
	if s.recs == nil {
		s.recs = map[int32][][2][]byte{}
	}
	rec := [2][]byte{slices.Clone(key), nil}
	if value != nil { // a tombstone stays nil
		rec[1] = slices.Clone(value)
	}
	s.recs[p] = append(s.recs[p], rec)
	return ctx.Err()
}

func (s *memStore) Load(ctx context.Context, p int32, fn func(key, value []byte) error) error {
	s.mu.Lock()
	recs := slices.Clone(s.recs[p])
	s.mu.Unlock()
	for _, r := range recs {
		if err := fn(r[0], r[1]); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// last returns the last state stored for id, decoded.
func (s *memStore) last(t *testing.T, p int32, id string) *Metadata {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out *Metadata
	for _, r := range s.recs[p] {
		got, m, err := DecodeRecord(r[0], r[1])
		require.NoError(t, err)
		if got == id {
			out = m
		}
	}
	return out
}

// markerLog records the markers written; down makes partitions refuse them.
type markerLog struct {
	mu      sync.Mutex
	written []writtenMarker
	down    map[TopicPartition]error
}

type writtenMarker struct {
	Marker
	TopicPartition
}

func (l *markerLog) Write(ctx context.Context, m Marker, tps []TopicPartition) map[TopicPartition]error {
	l.mu.Lock()
	defer l.mu.Unlock()
	failed := map[TopicPartition]error{}
	for _, tp := range tps {
		if err := l.down[tp]; err != nil {
			failed[tp] = err
			continue
		}
		l.written = append(l.written, writtenMarker{m, tp})
	}
	return failed
}

func (l *markerLog) setDown(tp TopicPartition, down bool) {
	var err error
	if down {
		err = kerr.NotLeaderForPartition
	}
	l.refuse(tp, err)
}

// refuse makes tp refuse markers with err (nil: take them again).
func (l *markerLog) refuse(tp TopicPartition, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.down == nil {
		l.down = map[TopicPartition]error{}
	}
	l.down[tp] = err
}

func (l *markerLog) all() []writtenMarker {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.written)
}

type harness struct {
	t       *testing.T
	c       *Coordinator
	store   *memStore
	markers *markerLog
	nextPID int64
	now     time.Time
	mu      sync.Mutex
}

// newHarness returns a coordinator with every partition loaded at epoch 7.
func newHarness(t *testing.T, cfg Config) *harness {
	t.Helper()
	h := &harness{t: t, store: &memStore{}, markers: &markerLog{}, nextPID: 1000, now: time.UnixMilli(1_700_000_000_000)}
	h.start(cfg)
	return h
}

func (h *harness) clock() time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.now
}

func (h *harness) advance(d time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.now = h.now.Add(d)
}

func (h *harness) start(cfg Config) {
	h.t.Helper()
	h.startWith(cfg, h.markers)
}

// startWith starts a coordinator over h's store that writes markers with m.
func (h *harness) startWith(cfg Config, m Markers) {
	h.t.Helper()
	if cfg.Partitions == 0 {
		cfg.Partitions = 4
	}
	cfg.MarkerRetryBackoff = time.Millisecond
	h.c = New(cfg, h.store, m, func(context.Context) (int64, error) {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.nextPID++
		return h.nextPID, nil
	}, nil, WithClock(h.clock), WithPartitionCheck(func(topic string, _ int32) bool { return topic != "missing" }))
	c := h.c
	h.t.Cleanup(func() { c.Close() })
	require.NoError(h.t, c.Start())
	for p := range cfg.Partitions {
		h.c.Load(p, 7)
	}
	h.eventually(func() error {
		for p := range cfg.Partitions {
			if _, code := h.c.shardFor(idOn(p, cfg.Partitions)); code != 0 {
				return errors.New("loading")
			}
		}
		return nil
	})
}

// restart closes the coordinator and loads a new one over the same store.
func (h *harness) restart(cfg Config) {
	h.t.Helper()
	h.c.Close()
	h.start(cfg)
}

// idOn returns a transactional id of partition p.
func idOn(p, n int32) string {
	for i := 0; ; i++ {
		id := "t" + string(rune('a'+i%26)) + string(rune('a'+i/26%26))
		if New(Config{Partitions: n}, nil, nil, nil, nil).PartitionFor(id) == p {
			return id
		}
	}
}

func (h *harness) eventually(cond func() error) {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("condition not met in 10s: %v", err)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func (h *harness) init(id string, timeout time.Duration) *kmsg.InitProducerIDResponse {
	req := kmsg.NewPtrInitProducerIDRequest()
	req.Version = 4
	req.TransactionalID = &id
	req.TransactionTimeoutMillis = int32(timeout.Milliseconds())
	req.ProducerID, req.ProducerEpoch = -1, -1
	return h.c.InitProducerID(context.Background(), req)
}

func (h *harness) add(id string, pid int64, epoch int16, topic string, parts ...int32) int16 {
	return h.addCtx(context.Background(), id, pid, epoch, topic, parts...)
}

func (h *harness) addCtx(ctx context.Context, id string, pid int64, epoch int16, topic string, parts ...int32) int16 {
	req := kmsg.NewPtrAddPartitionsToTxnRequest()
	req.Version = 3
	req.TransactionalID, req.ProducerID, req.ProducerEpoch = id, pid, epoch
	rt := kmsg.NewAddPartitionsToTxnRequestTopic()
	rt.Topic, rt.Partitions = topic, parts
	req.Topics = append(req.Topics, rt)
	resp := h.c.AddPartitionsToTxn(ctx, req)
	return resp.Topics[0].Partitions[0].ErrorCode
}

func (h *harness) end(id string, pid int64, epoch int16, commit bool) int16 {
	req := kmsg.NewPtrEndTxnRequest()
	req.Version = 3
	req.TransactionalID, req.ProducerID, req.ProducerEpoch, req.Commit = id, pid, epoch, commit
	return h.c.EndTxn(req).ErrorCode
}

func (h *harness) describe(id string) kmsg.DescribeTransactionsResponseTransactionState {
	req := kmsg.NewPtrDescribeTransactionsRequest()
	req.TransactionalIDs = []string{id}
	return h.c.DescribeTransactions(req).TransactionStates[0]
}

// waitState waits until id is in state.
func (h *harness) waitState(id string, state kmsg.TransactionState) {
	h.t.Helper()
	h.eventually(func() error {
		d := h.describe(id)
		if d.State != state.String() {
			return errors.New("state " + d.State)
		}
		_, tm, _ := h.c.lookup(id, false)
		tm.mu.Lock()
		defer tm.mu.Unlock()
		if tm.pending {
			return errors.New("completion pending")
		}
		return nil
	})
}
