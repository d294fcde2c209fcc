package txn

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kerr"
)

// flakyMarkers refuses every third write of a partition, so completions
// retry while other transactions go on.
type flakyMarkers struct {
	markerLog
	n atomic.Int64
}

func (f *flakyMarkers) Write(ctx context.Context, m Marker, tps []TopicPartition) map[TopicPartition]error {
	if f.n.Add(1)%3 == 0 {
		failed := map[TopicPartition]error{}
		for _, tp := range tps {
			failed[tp] = kerr.NotLeaderForPartition
		}
		return failed
	}
	return f.markerLog.Write(ctx, m, tps)
}

// TestConcurrentTransactions runs many producers' transactions at once,
// with markers refused now and then: every transaction ends in its
// Complete state with exactly one marker per partition, of its own kind.
func TestConcurrentTransactions(t *testing.T) {
	h := newHarness(t, Config{})
	flaky := &flakyMarkers{}
	h.c.Close()
	h.markers = &flaky.markerLog
	h.startWith(Config{}, flaky)
	const producers, rounds = 8, 20
	retry := func(f func() int16) int16 {
		for {
			code := f()
			if code != kerr.ConcurrentTransactions.Code {
				return code
			}
			time.Sleep(time.Millisecond)
		}
	}
	var wg sync.WaitGroup
	pids := make([]int64, producers)
	for i := range producers {
		wg.Go(func() {
			id := fmt.Sprintf("producer-%d", i)
			ip := h.init(id, time.Minute)
			if ip.ErrorCode != 0 {
				t.Errorf("%s: init: %v", id, kerr.ErrorForCode(ip.ErrorCode))
				return
			}
			pids[i] = ip.ProducerID
			for r := range rounds {
				if code := retry(func() int16 { return h.add(id, ip.ProducerID, 0, "orders", int32(i%3), int32(3+r%2)) }); code != 0 {
					t.Errorf("%s round %d: add: %v", id, r, kerr.ErrorForCode(code))
					return
				}
				if code := retry(func() int16 { return h.end(id, ip.ProducerID, 0, r%2 == 0) }); code != 0 {
					t.Errorf("%s round %d: end: %v", id, r, kerr.ErrorForCode(code))
					return
				}
			}
			h.waitState(id, TxnCompleteAbort) // the last round (odd) aborts
		})
	}
	wg.Wait()
	require.False(t, t.Failed())
	for i, pid := range pids {
		commits, aborts := 0, 0
		for _, w := range h.markers.all() {
			if w.ProducerID != pid {
				continue
			}
			if w.Commit {
				commits++
			} else {
				aborts++
			}
		}
		require.Equal(t, rounds, commits, "producer %d: two partitions in each of %d committed transactions", i, rounds/2)
		require.Equal(t, rounds, aborts, "producer %d", i)
	}
}
