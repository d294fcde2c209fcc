package load_test

import (
	"context"
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/goleak"

	"github.com/kspring/kspring/bench/internal/load"
	"github.com/kspring/kspring/bench/internal/target"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func start(t *testing.T, name string) *target.Target {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tg, err := target.Start(ctx, target.Spec{Name: name, Dir: t.TempDir(), Topic: "t", Partitions: 6})
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		require.NoError(t, tg.Close(ctx))
	})
	return tg
}

// Every record the pipeline acknowledges, in both acks modes, comes back
// from ConsumeAll exactly once and in order within its partition.
func TestPipelineRoundTrip(t *testing.T) {
	for _, name := range []string{target.NameKspring, target.NameKfake} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			tg := start(t, name)
			const perMode = 3000
			for _, acks := range []load.Acks{load.AcksLeader, load.AcksAll} {
				cl, err := load.NewProducer(tg.Addr, "t", acks, 100)
				require.NoError(t, err)
				p := load.NewPipeline(cl, 100)
				var onAck atomic.Int64
				p.OnAck(func(*kgo.Record) { onAck.Add(1) })
				for i := range perMode {
					v := []byte(string(acks) + "/" + strconv.Itoa(i))
					require.NoError(t, p.Produce(ctx, &kgo.Record{Key: v, Value: v})) // keys spread records over partitions
				}
				require.NoError(t, p.Flush(ctx))
				require.Equal(t, int64(perMode), p.Acked())
				require.Equal(t, int64(perMode), onAck.Load(), "OnAck sees every acknowledgement")
				cl.Close()
			}

			seen := map[string]int{}
			last := map[int32]int64{}
			records, bytes, err := load.ConsumeAll(ctx, tg.Addr, "t", 2*perMode, func(r *kgo.Record) {
				seen[string(r.Value)]++
				if prev, ok := last[r.Partition]; ok {
					require.Greater(t, r.Offset, prev, "partition %d", r.Partition)
				}
				last[r.Partition] = r.Offset
			})
			require.NoError(t, err)
			require.Equal(t, int64(2*perMode), records)
			require.Len(t, seen, 2*perMode)
			var want int64
			for v, n := range seen {
				require.Equal(t, 1, n, "record %q", v)
				want += int64(len(v))
			}
			require.Equal(t, want, bytes)
			require.Greater(t, len(last), 1, "keyed records should spread over partitions")

			// FetchAll sees the same records, in whole batches with good CRCs.
			records, batchBytes, err := load.FetchAll(ctx, tg.Addr, "t", 2*perMode)
			require.NoError(t, err)
			require.Equal(t, int64(2*perMode), records)
			require.Greater(t, batchBytes, bytes, "batches are values plus keys and framing")
		})
	}
}

// Fill writes exactly n records, which ConsumeAll then reads back.
func TestFill(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tg := start(t, target.NameKspring)
	require.NoError(t, load.Fill(ctx, tg.Addr, "t", load.AcksAll, 5000, make([]byte, 100)))
	records, bytes, err := load.ConsumeAll(ctx, tg.Addr, "t", 5000, nil)
	require.NoError(t, err)
	require.Equal(t, int64(5000), records)
	require.Equal(t, int64(5000*100), bytes)
}

// A record the broker rejects surfaces from Flush instead of being counted.
func TestPipelineReportsFailure(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tg := start(t, target.NameKfake) // kfake does not auto-create topics
	cl, err := load.NewProducer(tg.Addr, "missing", load.AcksAll, 10, kgo.UnknownTopicRetries(0))
	require.NoError(t, err)
	defer cl.Close()
	p := load.NewPipeline(cl, 10)
	require.NoError(t, p.Produce(ctx, &kgo.Record{Value: []byte("x")}))
	require.Error(t, p.Flush(ctx))
	require.Zero(t, p.Acked())
}

// ConsumeAll stops with the context when fewer records exist than wanted.
func TestConsumeAllBoundedByContext(t *testing.T) {
	tg := start(t, target.NameKfake)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	require.NoError(t, load.Fill(ctx, tg.Addr, "t", load.AcksLeader, 10, []byte("v")))
	short, cancelShort := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancelShort()
	records, _, err := load.ConsumeAll(short, tg.Addr, "t", 11, nil)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Equal(t, int64(10), records)
}

func TestProducerOptsRejectsUnknownAcks(t *testing.T) {
	_, err := load.ProducerOpts(load.Acks("0"))
	require.ErrorContains(t, err, fmt.Sprintf("%q", "0"))
}
