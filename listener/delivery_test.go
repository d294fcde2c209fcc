package listener_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/stretchr/testify/require"

	"github.com/kspring/kspring/listener"
)

type delivered struct {
	partition int32
	offset    int64
	value     string
	attempt   int
}

// fill writes n records "p<partition>-<i>" to each partition of topic.
func fill(t *testing.T, addr, topic string, partitions int32, n int) {
	t.Helper()
	s := sender(t, addr)
	for p := range partitions {
		vals := make([]string, n)
		for i := range vals {
			vals[i] = fmt.Sprintf("p%d-%d", p, i)
		}
		send(t, s, topic, p, "", vals...)
	}
}

func distinct(ds []delivered) map[string]int {
	out := map[string]int{}
	for _, d := range ds {
		out[d.value]++
	}
	return out
}

// A graceful stop in the middle of a batch finishes the record in hand and
// commits exactly what was processed; a restart delivers the rest, each
// record once.
func TestStopMidBatchCommitsWhatWasProcessed(t *testing.T) {
	const parts, per = 3, 60
	b := broker(t, map[string]int32{"orders": parts})
	orders, billing := b.Topic("orders"), groupID(t, b, "billing")
	fill(t, b.Addr(), orders, parts, per)
	r := registry(t, b.Addr(), testConfig())

	var got seen[delivered]
	var n atomic.Int32
	blocked, gate := make(chan struct{}), make(chan struct{})
	require.NoError(t, r.Register(listener.ListenRecord(billing, func(_ context.Context, rec *listener.Record[string]) error {
		if n.Add(1) == 50 {
			close(blocked)
			<-gate
		}
		got.add(delivered{rec.Partition, rec.Offset, rec.Value, rec.DeliveryAttempt})
		return nil
	}, listener.Topics(orders), listener.WithAckMode(listener.AckBatch))))
	start(t, r)
	c, _ := r.Container(billing)

	<-blocked
	stopped := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		stopped <- c.Stop(ctx)
	}()
	eventually(t, func() error {
		if c.IsRunning() {
			return errors.New("still running")
		}
		return nil
	})
	close(gate)
	require.NoError(t, <-stopped)

	first := got.get()
	require.Len(t, first, 50, "the record in hand was finished, no other was started")
	for p := range int32(parts) {
		last := int64(-1)
		for _, d := range first {
			if d.partition == p {
				last = max(last, d.offset)
			}
		}
		want := last + 1
		if last < 0 {
			want = -1 // nothing processed, nothing committed
		}
		require.Equal(t, want, committed(t, b.Addr(), billing, orders, p), "partition %d", p)
	}

	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	require.NoError(t, c.Start(ctx))
	eventually(t, func() error {
		for p := range int32(parts) {
			if off := committed(t, b.Addr(), billing, orders, p); off != per {
				return fmt.Errorf("partition %d committed %d", p, off)
			}
		}
		return nil
	})
	all := got.get()
	require.Len(t, all, parts*per, "each record handled once")
	require.Len(t, distinct(all), parts*per)
}

// A process that dies loses its last commits, never a record: what was not
// committed is delivered again to the next consumer.
func TestCrashLosesNoRecord(t *testing.T) {
	const parts, per = 3, 40
	b := broker(t, map[string]int32{"orders": parts})
	orders, billing := b.Topic("orders"), groupID(t, b, "billing")
	fill(t, b.Addr(), orders, parts, per)
	r := registry(t, b.Addr(), testConfig())

	var got seen[delivered]
	var n atomic.Int32
	var c *listener.Container
	crashed := make(chan struct{})
	require.NoError(t, r.Register(listener.ListenRecord(billing, func(_ context.Context, rec *listener.Record[string]) error {
		got.add(delivered{rec.Partition, rec.Offset, rec.Value, rec.DeliveryAttempt})
		switch n.Add(1) {
		case 1:
			// No commit reaches the broker from here on. (Frozen before the
			// first mark: a commit already in flight would carry later marks.)
			listener.FreezeCommits(c)
		case 60:
			close(crashed)
		}
		return nil
	}, listener.Topics(orders), listener.WithAckMode(listener.AckRecord))))
	c, _ = r.Container(billing)
	start(t, r)
	<-crashed
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	require.NoError(t, c.Stop(ctx))
	var committedSum int64
	for p := range int32(parts) {
		committedSum += max(committed(t, b.Addr(), billing, orders, p), 0)
	}
	first := len(got.get())
	require.GreaterOrEqual(t, first, 60)
	require.Zero(t, committedSum, "the crash lost every commit")

	require.NoError(t, c.Start(ctx))
	eventually(t, func() error {
		for p := range int32(parts) {
			if off := committed(t, b.Addr(), billing, orders, p); off != per {
				return fmt.Errorf("partition %d committed %d", p, off)
			}
		}
		return nil
	})
	all := got.get()
	require.Len(t, distinct(all), parts*per, "no record lost")
	require.Len(t, all, first+parts*per-int(committedSum), "everything after the last commit was delivered again")
}

func TestAckModes(t *testing.T) {
	b := broker(t, map[string]int32{"acks": 1})
	acks := b.Topic("acks")
	fill(t, b.Addr(), acks, 1, 10)
	for _, mode := range []listener.AckMode{
		listener.AckRecord, listener.AckBatch, listener.AckCount, listener.AckTime, listener.AckCountTime,
		listener.AckManual, listener.AckManualImmediate,
	} {
		t.Run(mode.String(), func(t *testing.T) {
			cfg := testConfig()
			cfg.Listener.AckCount = 3
			cfg.Listener.AckTime = listener.Duration(time.Hour) // TIME commits at stop only
			r := registry(t, b.Addr(), cfg)
			group := groupID(t, b, "g-"+mode.String())
			manual := mode == listener.AckManual || mode == listener.AckManualImmediate
			var got seen[int64]
			var immediate atomic.Int64
			immediate.Store(-2)
			require.NoError(t, r.Register(listener.ListenRecord(group, func(_ context.Context, rec *listener.Record[string]) error {
				require.Equal(t, manual, rec.Ack != nil, "Ack is set in the manual modes only")
				if manual && rec.Offset < 7 {
					rec.Ack.Acknowledge()
					if mode == listener.AckManualImmediate && rec.Offset == 6 {
						immediate.Store(committed(t, b.Addr(), group, acks, 0))
					}
				}
				got.add(rec.Offset)
				return nil
			}, listener.Topics(acks), listener.WithAckMode(mode))))
			start(t, r)
			got.waitLen(t, 10)

			want := int64(10)
			if manual {
				want = 7 // what was acknowledged, not what was delivered
			}
			switch mode {
			case listener.AckRecord, listener.AckBatch, listener.AckManual, listener.AckCount:
				// Committed while running.
				eventually(t, func() error {
					if off := committed(t, b.Addr(), group, acks, 0); off != want {
						return fmt.Errorf("committed %d, want %d", off, want)
					}
					return nil
				})
			case listener.AckManualImmediate:
				require.Equal(t, int64(7), immediate.Load(), "committed before Acknowledge returned")
			}
			ctx, cancel := context.WithTimeout(context.Background(), waitFor)
			defer cancel()
			require.NoError(t, r.Stop(ctx))
			require.Equal(t, want, committed(t, b.Addr(), group, acks, 0))
			require.Equal(t, []int64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, got.get())
		})
	}
}

func TestBatchListener(t *testing.T) {
	b := broker(t, map[string]int32{"bulk": 1})
	bulk := b.Topic("bulk")
	fill(t, b.Addr(), bulk, 1, 20)
	cfg := testConfig()
	cfg.Consumer.MaxPollRecords = 5
	r := registry(t, b.Addr(), cfg)

	var mu sync.Mutex
	processed := map[string]int{}
	attempts := map[string][]int{}
	var sizes []int
	failedOnce := false
	require.NoError(t, r.Register(listener.ListenBatch(bulk, func(_ context.Context, recs []*listener.Record[string]) error {
		mu.Lock()
		defer mu.Unlock()
		sizes = append(sizes, len(recs))
		for i, rec := range recs {
			attempts[rec.Value] = append(attempts[rec.Value], rec.DeliveryAttempt)
			if rec.Value == "p0-7" && !failedOnce {
				failedOnce = true
				for _, done := range recs[:i] {
					processed[done.Value]++
				}
				return listener.BatchFailed(i, errors.New("p0-7 is not ready"))
			}
		}
		for _, rec := range recs {
			processed[rec.Value]++
		}
		return nil
	}, listener.Topics(bulk))))
	start(t, r)
	eventually(t, func() error {
		mu.Lock()
		defer mu.Unlock()
		if len(processed) < 20 {
			return fmt.Errorf("%d of 20", len(processed))
		}
		return nil
	})
	eventually(t, func() error {
		if off := committed(t, b.Addr(), bulk, bulk, 0); off != 20 {
			return fmt.Errorf("committed %d", off)
		}
		return nil
	})
	mu.Lock()
	defer mu.Unlock()
	for v, n := range processed {
		require.Equal(t, 1, n, "%s processed once", v)
	}
	for _, n := range sizes {
		require.LessOrEqual(t, n, 5, "max-poll-records bounds a batch")
	}
	require.Equal(t, []int{1, 2}, attempts["p0-7"], "the failed record was delivered again as attempt 2")
}

// A batch handler error retries the whole batch; once the back-off is spent
// every record of it is recovered.
func TestBatchListenerRetriesAndRecoversWholeBatch(t *testing.T) {
	b := broker(t, map[string]int32{"bulk": 1})
	bulk := b.Topic("bulk")
	fill(t, b.Addr(), bulk, 1, 3)
	var recovered seen[int64]
	eh := listener.NewDefaultErrorHandler(
		listener.WithBackOff(listener.FixedBackOff{Interval: time.Millisecond, MaxRetries: 2}),
		listener.WithRecoverer(listener.RecovererFunc(func(_ context.Context, rec *listener.RawRecord, _ error) error {
			recovered.add(rec.Offset)
			return nil
		})))
	r := registry(t, b.Addr(), testConfig())
	var calls seen[int]
	require.NoError(t, r.Register(listener.ListenBatch(bulk, func(_ context.Context, recs []*listener.Record[string]) error {
		calls.add(recs[0].DeliveryAttempt)
		if recs[0].Offset == 0 {
			return errors.New("downstream is down")
		}
		return nil
	}, listener.Topics(bulk), listener.WithErrorHandler(eh))))
	start(t, r)
	eventually(t, func() error {
		if off := committed(t, b.Addr(), bulk, bulk, 0); off != 3 {
			return fmt.Errorf("committed %d", off)
		}
		return nil
	})
	got := recovered.get()
	require.NotEmpty(t, got)
	require.Equal(t, int64(0), got[0])
	require.True(t, slices.IsSorted(got))
	require.Equal(t, []int{1, 2, 3}, calls.get()[:3], "three deliveries of the failing batch")
}

// Concurrency is Spring's: that many consumers in the group, each handling
// one record at a time; extra consumers beyond the partition count idle.
func TestConcurrency(t *testing.T) {
	const parts, per = 4, 50
	b := broker(t, map[string]int32{"work": parts})
	work := b.Topic("work")
	fill(t, b.Addr(), work, parts, per)
	for _, n := range []int{2, 6} {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			r := registry(t, b.Addr(), testConfig())
			group := groupID(t, b, "work-"+strconv.Itoa(n))
			var inFlight, peak atomic.Int32
			var got seen[delivered]
			require.NoError(t, r.Register(listener.ListenRecord(group, func(_ context.Context, rec *listener.Record[string]) error {
				cur := inFlight.Add(1)
				defer inFlight.Add(-1)
				for {
					p := peak.Load()
					if cur <= p || peak.CompareAndSwap(p, cur) {
						break
					}
				}
				got.add(delivered{rec.Partition, rec.Offset, rec.Value, rec.DeliveryAttempt})
				return nil
			}, listener.Topics(work), listener.Concurrency(n))))
			start(t, r)
			c, _ := r.Container(group)
			eventually(t, func() error {
				if a := c.Assignments()[work]; len(a) != parts {
					return fmt.Errorf("assigned %v", a)
				}
				return nil
			})
			all := got.waitLen(t, parts*per)
			require.LessOrEqual(t, int(peak.Load()), n)
			require.Len(t, distinct(all), parts*per)
			requireOrdered(t, all)

			admin := clusterAdmin(t, b.Addr())
			eventually(t, func() error {
				desc, err := admin.DescribeConsumerGroups([]string{group})
				if err != nil {
					return err
				}
				if len(desc[0].Members) != n {
					return fmt.Errorf("%d members", len(desc[0].Members))
				}
				return nil
			})
		})
	}
}

// requireOrdered checks that each partition's records were handled in offset
// order.
func requireOrdered(t *testing.T, ds []delivered) {
	t.Helper()
	last := map[int32]int64{}
	for _, d := range ds {
		prev, ok := last[d.partition]
		if ok {
			require.Greater(t, d.offset, prev, "partition %d out of order", d.partition)
		}
		last[d.partition] = d.offset
	}
}

func clusterAdmin(t *testing.T, addr string) sarama.ClusterAdmin {
	t.Helper()
	a := newAdmin(t, addr)
	t.Cleanup(func() { _ = a.Close() })
	return a
}

// Keyed records keep their order per key across a group with several
// consumers.
func TestOrderingPerKey(t *testing.T) {
	b := broker(t, map[string]int32{"events": 3})
	events := b.Topic("events")
	s := sender(t, b.Addr())
	keys := []string{"alice", "bob", "carol", "dave", "erin"}
	for i := range 40 {
		for _, k := range keys {
			send(t, s, events, -1, k, fmt.Sprintf("%s-%02d", k, i))
		}
	}
	r := registry(t, b.Addr(), testConfig())
	type keyed struct {
		delivered
		key string
	}
	var got seen[keyed]
	require.NoError(t, r.Register(listener.ListenRecord(events, func(_ context.Context, rec *listener.Record[string]) error {
		got.add(keyed{delivered{rec.Partition, rec.Offset, rec.Value, rec.DeliveryAttempt}, string(rec.Key)})
		return nil
	}, listener.Topics(events), listener.Concurrency(3))))
	start(t, r)
	all := got.waitLen(t, 200)
	perKey := map[string][]string{}
	var ds []delivered
	for _, d := range all {
		perKey[d.key] = append(perKey[d.key], d.value)
		ds = append(ds, d.delivered)
	}
	requireOrdered(t, ds)
	for _, k := range keys {
		require.True(t, slices.IsSorted(perKey[k]), "key %s out of order: %v", k, perKey[k])
		require.Len(t, perKey[k], 40)
	}
}

func TestFilterAndInterceptor(t *testing.T) {
	b := broker(t, map[string]int32{"mixed": 1})
	mixed := b.Topic("mixed")
	s := sender(t, b.Addr())
	send(t, s, mixed, 0, "", "keep-1", "drop-1", "skip-1", "keep-2")
	r := registry(t, b.Addr(), testConfig())
	var got seen[string]
	var after seen[string]
	type ctxKey struct{}
	require.NoError(t, r.Register(listener.Listen(mixed, func(ctx context.Context, v string) error {
		require.Equal(t, "traced", ctx.Value(ctxKey{}), "the interceptor's context reaches the handler")
		info, ok := listener.ListenerInfoFrom(ctx)
		require.True(t, ok)
		require.Equal(t, mixed, info.ID)
		require.Equal(t, mixed, info.GroupID)
		got.add(v)
		return nil
	}, listener.Topics(mixed),
		listener.Filter(func(rec *listener.RawRecord) bool { return string(rec.Value) == "drop-1" }),
		listener.Interceptor(listener.InterceptorFuncs{
			Before: func(ctx context.Context, rec *listener.RawRecord) (context.Context, bool) {
				return context.WithValue(ctx, ctxKey{}, "traced"), string(rec.Value) != "skip-1"
			},
			After: func(_ context.Context, rec *listener.RawRecord, err error) {
				require.NoError(t, err)
				after.add(string(rec.Value))
			},
		}))))
	start(t, r)
	eventually(t, func() error {
		if off := committed(t, b.Addr(), mixed, mixed, 0); off != 4 {
			return fmt.Errorf("committed %d", off)
		}
		return nil
	})
	require.Equal(t, []string{"keep-1", "keep-2"}, got.get())
	require.Equal(t, []string{"keep-1", "keep-2"}, after.get())
}
