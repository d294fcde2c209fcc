package listener_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/kspring/kspring/listener"
	"github.com/kspring/kspring/template"
)

// recorder is an Observer that keeps what it is told.
type recorder struct {
	mu  sync.Mutex
	got []string // "name topic error"
}

func (r *recorder) Processed(name, topic string, _ time.Duration, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, fmt.Sprintf("%s %s %v", name, topic, err))
}

func (r *recorder) all() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.got...)
}

func tracer(t *testing.T) (*sdktrace.TracerProvider, *tracetest.InMemoryExporter) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return tp, exp
}

func spanNamed(spans tracetest.SpanStubs, name string) (tracetest.SpanStub, bool) {
	for _, s := range spans {
		if s.Name == name {
			return s, true
		}
	}
	return tracetest.SpanStub{}, false
}

func attrs(s tracetest.SpanStub) map[attribute.Key]attribute.Value {
	out := map[attribute.Key]attribute.Value{}
	for _, a := range s.Attributes {
		out[a.Key] = a.Value
	}
	return out
}

// TestTraceCrossesTheBroker: a send traced by the template and its
// processing traced by the listener are one trace across the broker: the
// listener's span is the child of the send's (and links to it), with the
// messaging conventions' attributes; the handler's ctx carries it.
func TestTraceCrossesTheBroker(t *testing.T) {
	b := broker(t, map[string]int32{"orders": 1})
	topic := b.Topic("orders")
	tp, exp := tracer(t)

	s, err := template.Dial[[]byte, []byte]([]string{b.Addr()}, template.Config{RequestTimeoutMs: 5000, MaxBlockMs: 5000},
		template.WithTracerProvider(tp), template.WithName("orders-template"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close(context.Background()) })

	handled := make(chan trace.SpanContext, 1)
	r := registry(t, b.Addr(), testConfig(), listener.WithTracerProvider(tp))
	group := groupID(t, b, "billing")
	require.NoError(t, r.Register(listener.ListenRecord(group, func(ctx context.Context, rec *listener.Record[string]) error {
		_, hasParent := rec.Headers.Get("traceparent")
		require.True(t, hasParent, "the record carries traceparent")
		handled <- trace.SpanContextFromContext(ctx)
		return nil
	}, listener.Topics(topic))))
	start(t, r)

	ctx, checkout := tp.Tracer("test").Start(context.Background(), "checkout")
	key := []byte("order-7")
	res, err := s.SendRecord(ctx, template.ProducerRecord[[]byte, []byte]{Topic: topic, Key: &key, Value: []byte("42 EUR")}).Get(ctx)
	require.NoError(t, err)
	checkout.End()

	var inHandler trace.SpanContext
	select {
	case inHandler = <-handled:
	case <-time.After(waitFor):
		t.Fatal("the listener did not get the record")
	}
	eventually(t, func() error {
		if _, ok := spanNamed(exp.GetSpans(), "process "+topic); !ok {
			return errors.New("no process span yet")
		}
		return nil
	})
	spans := exp.GetSpans()
	root, _ := spanNamed(spans, "checkout")
	pub, ok := spanNamed(spans, "publish "+topic)
	require.True(t, ok, "publish span")
	proc, _ := spanNamed(spans, "process "+topic)

	require.Equal(t, trace.SpanKindProducer, pub.SpanKind)
	require.Equal(t, trace.SpanKindConsumer, proc.SpanKind)
	require.Equal(t, root.SpanContext.TraceID(), pub.SpanContext.TraceID())
	require.Equal(t, root.SpanContext.SpanID(), pub.Parent.SpanID(), "Send's span is a child of the caller's")
	require.Equal(t, pub.SpanContext.TraceID(), proc.SpanContext.TraceID(), "one trace across the broker")
	require.Equal(t, pub.SpanContext.SpanID(), proc.Parent.SpanID(), "the listener's span is the send's child")
	require.True(t, proc.Parent.IsRemote())
	require.Len(t, proc.Links, 1)
	require.Equal(t, pub.SpanContext.SpanID(), proc.Links[0].SpanContext.SpanID())
	require.Equal(t, proc.SpanContext.SpanID(), inHandler.SpanID(), "the handler's ctx carries the process span")

	pa, ca := attrs(pub), attrs(proc)
	require.Equal(t, "kafka", pa["messaging.system"].AsString())
	require.Equal(t, "publish", pa["messaging.operation.type"].AsString())
	require.Equal(t, topic, pa["messaging.destination.name"].AsString())
	require.Equal(t, "order-7", pa["messaging.kafka.message.key"].AsString())
	require.Equal(t, "0", pa["messaging.destination.partition.id"].AsString())
	require.Equal(t, res.Metadata.Offset, pa["messaging.kafka.message.offset"].AsInt64())
	require.Equal(t, "kafka", ca["messaging.system"].AsString())
	require.Equal(t, "process", ca["messaging.operation.type"].AsString())
	require.Equal(t, topic, ca["messaging.destination.name"].AsString())
	require.Equal(t, group, ca["messaging.kafka.consumer.group"].AsString())
	require.Equal(t, res.Metadata.Offset, ca["messaging.kafka.message.offset"].AsInt64())
	require.Equal(t, "order-7", ca["messaging.kafka.message.key"].AsString())
	require.Equal(t, codes.Unset, proc.Status.Code)
}

// TestObservedFailuresAndLag: a handler failure is observed as such (its
// span has an error status), each delivery attempt once, with the
// "<id>-<n>" name; the container's lag is the records not yet processed.
func TestObservedFailuresAndLag(t *testing.T) {
	b := broker(t, map[string]int32{"jobs": 1})
	topic := b.Topic("jobs")
	tp, exp := tracer(t)
	rec := &recorder{}
	release := make(chan struct{})
	r := registry(t, b.Addr(), testConfig(), listener.WithTracerProvider(tp), listener.WithObserver(rec),
		listener.WithDefaultErrorHandler(listener.NewDefaultErrorHandler(listener.WithBackOff(listener.FixedBackOff{Interval: time.Millisecond, MaxRetries: 1}))))
	id := groupID(t, b, "jobs")
	require.NoError(t, r.Register(listener.Listen(id, func(_ context.Context, v string) error {
		if v == "bad" {
			return errors.New("bad job")
		}
		if v == "slow" {
			<-release
		}
		return nil
	}, listener.Topics(topic))))
	start(t, r)
	s := sender(t, b.Addr())
	send(t, s, topic, 0, "", "bad", "slow", "a", "b", "c")

	// The handler holds "slow" (offset 1): four records are not processed.
	c, _ := r.Container(id)
	eventually(t, func() error {
		lag := c.Lag()
		if len(lag) != 1 || lag[0].Lag != 4 || lag[0].Position != 1 || lag[0].HighWatermark != 5 {
			return fmt.Errorf("lag %+v, want position 1 of 5", lag)
		}
		return nil
	})
	require.Equal(t, c.Lag(), r.Lag())
	close(release)
	eventually(t, func() error {
		if lag := c.Lag(); len(lag) != 1 || lag[0].Lag != 0 {
			return fmt.Errorf("lag %+v, want 0", lag)
		}
		return nil
	})
	name := id + "-0"
	require.Equal(t, []string{
		name + " " + topic + " bad job", // first delivery
		name + " " + topic + " bad job", // the retry
		name + " " + topic + " <nil>", name + " " + topic + " <nil>", name + " " + topic + " <nil>", name + " " + topic + " <nil>",
	}, rec.all())
	var failed int
	for _, sp := range exp.GetSpans() {
		if sp.Status.Code == codes.Error {
			failed++
			require.Equal(t, "bad job", sp.Status.Description)
		}
	}
	require.Equal(t, 2, failed, "each failed attempt's span has an error status")
}

// TestLagOfExplicitPartitions: a container on explicit partitions (no
// group rebalancing) reports its lag too, and none once stopped.
func TestLagOfExplicitPartitions(t *testing.T) {
	b := broker(t, map[string]int32{"ledger": 1})
	topic := b.Topic("ledger")
	s := sender(t, b.Addr())
	send(t, s, topic, 0, "", "a", "b", "c")
	release := make(chan struct{})
	r := registry(t, b.Addr(), testConfig())
	id := groupID(t, b, "ledger")
	require.NoError(t, r.Register(listener.Listen(id, func(_ context.Context, v string) error {
		if v == "b" {
			<-release
		}
		return nil
	}, listener.Partitions(topic, map[int32]int64{0: listener.OffsetEarliest}))))
	start(t, r)
	c, _ := r.Container(id)
	eventually(t, func() error {
		lag := c.Lag()
		if len(lag) != 1 || lag[0].Position != 1 || lag[0].HighWatermark != 3 || lag[0].Lag != 2 {
			return fmt.Errorf("lag %+v, want position 1 of 3", lag)
		}
		return nil
	})
	close(release)
	eventually(t, func() error {
		if lag := c.Lag(); len(lag) != 1 || lag[0].Lag != 0 || lag[0].Position != 3 {
			return fmt.Errorf("lag %+v, want 0 at 3", lag)
		}
		return nil
	})
	require.NoError(t, c.Stop(t.Context()))
	require.Empty(t, c.Lag(), "a stopped container holds no partition")
}

// TestTraceOfBatch: a batch delivery's span links to the sending span of
// every record in the batch, and is in the handler's ctx.
func TestTraceOfBatch(t *testing.T) {
	b := broker(t, map[string]int32{"bulk": 1})
	topic := b.Topic("bulk")
	tp, exp := tracer(t)
	s, err := template.Dial[[]byte, []byte]([]string{b.Addr()}, template.Config{RequestTimeoutMs: 5000, MaxBlockMs: 5000},
		template.WithTracerProvider(tp))
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	send(t, s, topic, 0, "", "a", "b", "c")

	got := make(chan trace.SpanContext, 4)
	var n atomicCount
	r := registry(t, b.Addr(), testConfig(), listener.WithTracerProvider(tp))
	require.NoError(t, r.Register(listener.ListenBatch(groupID(t, b, "bulk"), func(ctx context.Context, recs []*listener.Record[string]) error {
		got <- trace.SpanContextFromContext(ctx)
		n.add(len(recs))
		return nil
	}, listener.Topics(topic))))
	start(t, r)
	eventually(t, func() error {
		if n.get() < 3 {
			return fmt.Errorf("%d of 3 records", n.get())
		}
		return nil
	})
	publish := map[trace.SpanID]bool{}
	for _, sp := range exp.GetSpans() {
		if sp.Name == "publish "+topic {
			publish[sp.SpanContext.SpanID()] = true
		}
	}
	require.Len(t, publish, 3)
	eventually(t, func() error {
		linked := map[trace.SpanID]bool{}
		for _, sp := range exp.GetSpans() {
			if sp.Name != "process "+topic {
				continue
			}
			require.Equal(t, trace.SpanKindConsumer, sp.SpanKind)
			require.Equal(t, int64(len(sp.Links)), attrs(sp)["messaging.batch.message_count"].AsInt64())
			for _, l := range sp.Links {
				linked[l.SpanContext.SpanID()] = true
			}
		}
		if len(linked) != 3 {
			return fmt.Errorf("%d of the 3 sends linked", len(linked))
		}
		for id := range publish {
			if !linked[id] {
				return fmt.Errorf("send %v not linked", id)
			}
		}
		return nil
	})
	require.True(t, (<-got).IsValid(), "the handler's ctx carries the batch span")
}

type atomicCount struct {
	mu sync.Mutex
	n  int
}

func (c *atomicCount) add(d int) { c.mu.Lock(); c.n += d; c.mu.Unlock() }
func (c *atomicCount) get() int  { c.mu.Lock(); defer c.mu.Unlock(); return c.n }
