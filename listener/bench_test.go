package listener_test

import (
	"context"
	"flag"
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/kspring/kspring/listener"
	"github.com/kspring/kspring/template"
	"github.com/kspring/kspring/testkit"
)

var benchRecords = flag.Int("listener.records", 100_000, "records BenchmarkListenerThroughput consumes per op")

const benchPartitions = 4

var benchGroups atomic.Int64

// BenchmarkListenerThroughput consumes the same pre-filled topic (4
// partitions, -listener.records records of 100 bytes) per op with a fresh
// group, through a listener container (RECORD and BATCH ack modes) and
// through a raw sarama consumer group doing the same work (decode the value
// as a string, count it, mark the offset; sarama's auto-commit), side by
// side in one run. One op is the whole topic; records/s is reported.
func BenchmarkListenerThroughput(b *testing.B) {
	br := testkit.NewBroker(b, testkit.WithTopic("bench", benchPartitions, nil))
	topic := br.Topic("bench")
	fillBench(b, br.Addr(), topic, *benchRecords)
	n := int64(*benchRecords)

	targets := []struct {
		name string
		run  func(b *testing.B, addr, topic, group string, n int64)
	}{
		{"sarama", consumeRaw},
		{"listener-RECORD", consumeListener(listener.AckRecord)},
		{"listener-BATCH", consumeListener(listener.AckBatch)},
	}
	for _, tg := range targets {
		b.Run("target="+tg.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(n * 100)
			for b.Loop() {
				// A fresh group each op, also across -count repetitions
				// (and runs, against an external cluster).
				group := fmt.Sprintf("bench-%s-%d", tg.name, benchGroups.Add(1))
				if br.External() {
					group = testkit.UniqueName(b, group)
				}
				tg.run(b, br.Addr(), topic, group, n)
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

func fillBench(b *testing.B, addr, topic string, n int, opts ...template.Option) {
	tp, err := template.Dial[[]byte, []byte]([]string{addr}, template.Config{LingerMs: 5},
		append([]template.Option{template.WithLogger(zap.NewNop())}, opts...)...)
	require.NoError(b, err)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	value := make([]byte, 100)
	futures := make([]*template.Future[[]byte, []byte], 0, n)
	for i := range n {
		p := int32(i % benchPartitions)
		futures = append(futures, tp.SendRecord(ctx, template.ProducerRecord[[]byte, []byte]{Topic: topic, Partition: &p, Value: value}))
	}
	for _, f := range futures {
		_, err := f.Get(ctx)
		require.NoError(b, err)
	}
	require.NoError(b, tp.Close(ctx))
}

// benchWork is the per-record work of both sides.
func benchWork(v string, sum *atomic.Int64) { sum.Add(int64(len(v))) }

func consumeListener(mode listener.AckMode, opts ...listener.RegistryOption) func(b *testing.B, addr, topic, group string, n int64) {
	return func(b *testing.B, addr, topic, group string, n int64) {
		r, err := listener.NewRegistry([]string{addr}, testConfig(), append([]listener.RegistryOption{listener.WithLogger(zap.NewNop())}, opts...)...)
		require.NoError(b, err)
		var count, sum atomic.Int64
		done := make(chan struct{})
		require.NoError(b, r.Register(listener.Listen(group, func(_ context.Context, v string) error {
			benchWork(v, &sum)
			if count.Add(1) == n {
				close(done)
			}
			return nil
		}, listener.Topics(topic), listener.WithAckMode(mode))))
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		require.NoError(b, r.Start(ctx))
		select {
		case <-done:
		case <-ctx.Done():
			b.Fatalf("consumed %d of %d", count.Load(), n)
		}
		require.NoError(b, r.Stop(ctx))
	}
}

type rawHandler struct {
	n          int64
	count, sum *atomic.Int64
	done       chan struct{}
}

func (h *rawHandler) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (h *rawHandler) Cleanup(sarama.ConsumerGroupSession) error { return nil }
func (h *rawHandler) ConsumeClaim(sess sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	for {
		select {
		case msg, ok := <-claim.Messages():
			if !ok {
				return nil
			}
			benchWork(string(msg.Value), h.sum)
			sess.MarkMessage(msg, "")
			if h.count.Add(1) == h.n {
				close(h.done)
			}
		case <-sess.Context().Done():
			return nil
		}
	}
}

func consumeRaw(b *testing.B, addr, topic, group string, n int64) {
	cfg := sarama.NewConfig()
	cfg.Version = sarama.DefaultVersion
	cfg.ClientID = "raw-" + strconv.Itoa(int(n))
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	cfg.Consumer.Group.Heartbeat.Interval = 100 * time.Millisecond
	cfg.Consumer.MaxWaitTime = 100 * time.Millisecond
	cfg.Consumer.Return.Errors = true
	cfg.Metadata.Full = false
	cg, err := sarama.NewConsumerGroup([]string{addr}, group, cfg)
	require.NoError(b, err)
	go func() {
		for range cg.Errors() {
		}
	}()
	var count, sum atomic.Int64
	h := &rawHandler{n: n, count: &count, sum: &sum, done: make(chan struct{})}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	consumed := make(chan struct{})
	go func() {
		defer close(consumed)
		for ctx.Err() == nil {
			if err := cg.Consume(ctx, []string{topic}, h); err != nil {
				return
			}
		}
	}()
	select {
	case <-h.done:
	case <-ctx.Done():
		b.Fatalf("consumed %d of %d", count.Load(), n)
	}
	cancel()
	<-consumed
	require.NoError(b, cg.Close())
}
