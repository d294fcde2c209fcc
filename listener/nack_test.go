package listener_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kspring/kspring/listener"
)

// Nack redelivers the record after the sleep, with the records after it;
// nothing from it on is committed until acknowledged.
func TestNack(t *testing.T) {
	b := broker(t, map[string]int32{"jobs": 1})
	jobs := b.Topic("jobs")
	fill(t, b.Addr(), jobs, 1, 5)
	r := registry(t, b.Addr(), testConfig())
	var got seen[int64]
	var once sync.Once
	require.NoError(t, r.Register(listener.ListenRecord(jobs, func(_ context.Context, rec *listener.Record[string]) error {
		got.add(rec.Offset)
		if rec.Offset == 2 {
			nacked := false
			once.Do(func() { rec.Ack.Nack(10 * time.Millisecond); nacked = true })
			if nacked {
				return nil
			}
		}
		rec.Ack.Acknowledge()
		return nil
	}, listener.Topics(jobs), listener.WithAckMode(listener.AckManual))))
	start(t, r)
	require.Equal(t, []int64{0, 1, 2, 2, 3, 4}, got.waitLen(t, 6))
	eventually(t, func() error {
		if off := committed(t, b.Addr(), jobs, jobs, 0); off != 5 {
			return fmt.Errorf("committed %d", off)
		}
		return nil
	})
}

// Batch nack: the records before the index are done, the rest come again.
func TestBatchNack(t *testing.T) {
	b := broker(t, map[string]int32{"jobs": 1})
	jobs := b.Topic("jobs")
	fill(t, b.Addr(), jobs, 1, 4)
	r := registry(t, b.Addr(), testConfig())
	var mu sync.Mutex
	var batches [][]int64
	nackedAt := -1
	require.NoError(t, r.Register(listener.ListenBatch(jobs, func(_ context.Context, recs []*listener.Record[string]) error {
		mu.Lock()
		defer mu.Unlock()
		var offs []int64
		for _, rec := range recs {
			offs = append(offs, rec.Offset)
		}
		batches = append(batches, offs)
		if nackedAt < 0 {
			for _, rec := range recs {
				if rec.Offset == 2 {
					nackedAt = len(batches) - 1
					rec.Ack.Nack(time.Millisecond)
					return nil
				}
			}
		}
		recs[len(recs)-1].Ack.Acknowledge()
		return nil
	}, listener.Topics(jobs), listener.WithAckMode(listener.AckManualImmediate))))
	start(t, r)
	eventually(t, func() error {
		if off := committed(t, b.Addr(), jobs, jobs, 0); off != 4 {
			return fmt.Errorf("committed %d", off)
		}
		return nil
	})
	mu.Lock()
	defer mu.Unlock()
	count := map[int64]int{}
	for _, b := range batches {
		for _, off := range b {
			count[off]++
		}
	}
	require.Equal(t, 1, count[0], "before the nack: done")
	require.Equal(t, 1, count[1], "before the nack: done")
	require.Equal(t, 2, count[2], "the nacked record comes again")
	require.Equal(t, int64(2), batches[nackedAt+1][0], "the next batch starts at the nacked record: %v", batches)
}

// A record waiting out its back-off does not hold the consumer: its other
// partitions go on (the wait lets go of the member's turn).
func TestBackOffDoesNotBlockOtherPartitions(t *testing.T) {
	b := broker(t, map[string]int32{"orders": 2})
	orders := b.Topic("orders")
	s := sender(t, b.Addr())
	eh := listener.NewDefaultErrorHandler(listener.WithBackOff(listener.FixedBackOff{Interval: time.Hour, MaxRetries: 1}))
	r := registry(t, b.Addr(), testConfig())
	failed := make(chan struct{})
	var once sync.Once
	var got seen[string]
	require.NoError(t, r.Register(listener.Listen(orders, func(_ context.Context, v string) error {
		if v == "stuck" {
			once.Do(func() { close(failed) })
			return errors.New("not now")
		}
		got.add(v)
		return nil
	}, listener.Topics(orders), listener.Concurrency(1), listener.WithErrorHandler(eh))))
	send(t, s, orders, 0, "", "stuck", "after-stuck")
	start(t, r)
	<-failed
	send(t, s, orders, 1, "", "other-1", "other-2")
	require.Equal(t, []string{"other-1", "other-2"}, got.waitLen(t, 2))
	require.Equal(t, int64(-1), committed(t, b.Addr(), orders, orders, 0), "the stuck record and the ones after it wait")
}
