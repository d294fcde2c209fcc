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
	"github.com/kspring/kspring/serde"
	"github.com/kspring/kspring/template"
)

type paymentError struct{ code string }

func (e *paymentError) Error() string { return "payment declined: " + e.code }

// After Spring's default ten deliveries the record goes to <topic>-dlt, on
// its partition, with Spring's headers.
func TestDeadLetterAfterAttempts(t *testing.T) {
	b := broker(t, map[string]int32{"orders": 2})
	orders, billing := b.Topic("orders"), groupID(t, b, "billing")
	dlt := topicNamed(t, b, orders+"-dlt", 2)
	s := sender(t, b.Addr())
	r := registry(t, b.Addr(), testConfig(), listener.WithDeadLetterPublisher(s))
	var mu sync.Mutex
	attempts := map[string][]int{}
	var order []string
	require.NoError(t, r.Register(listener.ListenRecord(billing, func(_ context.Context, rec *listener.Record[string]) error {
		mu.Lock()
		defer mu.Unlock()
		attempts[rec.Value] = append(attempts[rec.Value], rec.DeliveryAttempt)
		order = append(order, rec.Value)
		if rec.Value == "bad" {
			return fmt.Errorf("charge order: %w", &paymentError{code: "insufficient-funds"})
		}
		return nil
	}, listener.Topics(orders))))

	key := []byte("order-7")
	p := int32(1)
	ts := time.UnixMilli(1_700_000_000_123)
	md := sendRecord(t, s, template.ProducerRecord[[]byte, []byte]{Topic: orders, Partition: &p, Key: &key, Value: []byte("bad"),
		Timestamp: ts, Headers: serde.Headers{{Key: "trace", Value: []byte("t-1")}}})
	send(t, s, orders, 1, "", "good")
	start(t, r)

	dl := readTopic(t, b.Addr(), dlt, 1, 0, 1)[0]
	require.Equal(t, []byte("bad"), dl.Value)
	require.Equal(t, key, dl.Key)
	require.Equal(t, []byte("t-1"), header(dl, "trace"), "original headers are kept")
	require.Equal(t, []byte(orders), header(dl, listener.HeaderDLTOriginalTopic))
	require.Equal(t, []byte{0, 0, 0, 1}, header(dl, listener.HeaderDLTOriginalPartition))
	require.Equal(t, listener.Int64Header(md.Offset), header(dl, listener.HeaderDLTOriginalOffset))
	require.Equal(t, listener.Int64Header(ts.UnixMilli()), header(dl, listener.HeaderDLTOriginalTimestamp))
	require.Equal(t, []byte("CreateTime"), header(dl, listener.HeaderDLTOriginalTimestampType))
	require.Equal(t, []byte(billing), header(dl, listener.HeaderDLTOriginalConsumerGroup))
	require.Equal(t, "fmt.wrapError", string(header(dl, listener.HeaderDLTExceptionFQCN)))
	require.Equal(t, "github.com/kspring/kspring/listener_test.paymentError", string(header(dl, listener.HeaderDLTExceptionCauseFQCN)))
	require.Equal(t, "charge order: payment declined: insufficient-funds", string(header(dl, listener.HeaderDLTExceptionMessage)))
	require.Contains(t, string(header(dl, listener.HeaderDLTExceptionStacktrace)), "Caused by: github.com/kspring/kspring/listener_test.paymentError")

	eventually(t, func() error {
		if off := committed(t, b.Addr(), billing, orders, 1); off != 2 {
			return fmt.Errorf("committed %d", off)
		}
		return nil
	})
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, attempts["bad"])
	require.Equal(t, "good", order[len(order)-1], "the next record waits for the failed one")
}

type order struct {
	ID string `json:"id"`
}

// A value that does not deserialize is never retried: it goes to the
// dead-letter topic at once and the handler never sees it.
func TestPoisonPillGoesToDeadLetterAtOnce(t *testing.T) {
	b := broker(t, map[string]int32{"orders": 1})
	orders, billing := b.Topic("orders"), groupID(t, b, "billing")
	dlt := topicNamed(t, b, orders+"-dlt", 1)
	s := sender(t, b.Addr())
	r := registry(t, b.Addr(), testConfig(), listener.WithDeadLetterPublisher(s))
	var got seen[order]
	require.NoError(t, r.Register(listener.Listen(billing, func(_ context.Context, o order) error {
		got.add(o)
		return nil
	}, listener.Topics(orders), listener.ValueDeserializer(serde.JSON[order]{}))))
	send(t, s, orders, 0, "", "{not json", `{"id":"o-1"}`)
	start(t, r)

	require.Equal(t, []order{{ID: "o-1"}}, got.waitLen(t, 1))
	dl := readTopic(t, b.Addr(), dlt, 0, 0, 1)[0]
	require.Equal(t, []byte("{not json"), dl.Value)
	require.Equal(t, "github.com/kspring/kspring/serde.DeserializationError", string(header(dl, listener.HeaderDLTExceptionFQCN)))
	require.Contains(t, string(header(dl, listener.HeaderDLTExceptionMessage)), fmt.Sprintf("deserialize value from topic %q", orders))
	eventually(t, func() error {
		if off := committed(t, b.Addr(), billing, orders, 0); off != 2 {
			return fmt.Errorf("committed %d", off)
		}
		return nil
	})
	require.Len(t, got.get(), 1)
}

// A handler that panics fails the delivery like an error; the panic and its
// stack reach the dead letter.
func TestHandlerPanicIsAnError(t *testing.T) {
	b := broker(t, map[string]int32{"orders": 1})
	orders, billing := b.Topic("orders"), groupID(t, b, "billing")
	dlt := topicNamed(t, b, orders+"-dlt", 1)
	s := sender(t, b.Addr())
	eh := listener.NewDefaultErrorHandler(
		listener.WithBackOff(listener.FixedBackOff{Interval: time.Millisecond, MaxRetries: 1}),
		listener.WithRecoverer(listener.NewDeadLetterRecoverer(s)))
	r := registry(t, b.Addr(), testConfig())
	var calls seen[int]
	require.NoError(t, r.Register(listener.ListenRecord(billing, func(_ context.Context, rec *listener.Record[string]) error {
		calls.add(rec.DeliveryAttempt)
		if rec.Value == "boom" {
			panic("nil map in pricing")
		}
		return nil
	}, listener.Topics(orders), listener.WithErrorHandler(eh))))
	send(t, s, orders, 0, "", "boom", "fine")
	start(t, r)

	dl := readTopic(t, b.Addr(), dlt, 0, 0, 1)[0]
	require.Equal(t, "github.com/kspring/kspring/listener.PanicError", string(header(dl, listener.HeaderDLTExceptionFQCN)))
	require.Contains(t, string(header(dl, listener.HeaderDLTExceptionMessage)), "nil map in pricing")
	require.Contains(t, string(header(dl, listener.HeaderDLTExceptionStacktrace)), "TestHandlerPanicIsAnError")
	require.Equal(t, []int{1, 2, 1}, calls.waitLen(t, 3))
}

// A record in back-off does not hold its consumer past a stop (or a
// rebalance): the wait ends at once and the record stays uncommitted.
func TestBackOffEndsOnStop(t *testing.T) {
	b := broker(t, map[string]int32{"orders": 1})
	orders, billing := b.Topic("orders"), groupID(t, b, "billing")
	s := sender(t, b.Addr())
	eh := listener.NewDefaultErrorHandler(listener.WithBackOff(listener.FixedBackOff{Interval: time.Hour, MaxRetries: 3}))
	r := registry(t, b.Addr(), testConfig())
	failed := make(chan struct{}, 1)
	require.NoError(t, r.Register(listener.Listen(billing, func(context.Context, string) error {
		select {
		case failed <- struct{}{}:
		default:
		}
		return errors.New("not yet")
	}, listener.Topics(orders), listener.WithErrorHandler(eh))))
	send(t, s, orders, 0, "", "x")
	start(t, r)
	<-failed
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	c, _ := r.Container(billing)
	require.NoError(t, c.Stop(ctx))
	require.Equal(t, int64(-1), committed(t, b.Addr(), billing, orders, 0))
}

// Non-blocking retries: a failing record moves through orders-retry-0 and
// orders-retry-1 to orders-dlt, with Spring's retry headers; the main topic
// goes on meanwhile.
func TestRetryTopics(t *testing.T) {
	b := broker(t, map[string]int32{"orders": 2})
	orders, billing := b.Topic("orders"), groupID(t, b, "billing")
	// The retry and dead-letter topics derive from the main one; the
	// container creates them.
	retry0, retry1, dlt := orders+"-retry-0", orders+"-retry-1", orders+"-dlt"
	dropAtEnd(t, b, retry0, retry1, dlt)
	s := sender(t, b.Addr())
	r := registry(t, b.Addr(), testConfig(), listener.WithDeadLetterPublisher(s))

	type hop struct {
		topic   string
		attempt int
	}
	var mu sync.Mutex
	hops := map[string][]hop{}
	flakyFailed := false
	var dead seen[*listener.RawRecord]
	var early []string
	require.NoError(t, r.Register(listener.ListenRecord(billing, func(_ context.Context, rec *listener.Record[string]) error {
		mu.Lock()
		defer mu.Unlock()
		hops[rec.Value] = append(hops[rec.Value], hop{rec.Topic, rec.DeliveryAttempt})
		if v, ok := rec.Headers.Get(listener.HeaderRetryBackoffTimestamp); ok && rec.Topic != orders {
			if due, _ := listener.ParseBigIntHeader(v); time.Now().UnixMilli() < due {
				early = append(early, fmt.Sprintf("%s on %s", rec.Value, rec.Topic))
			}
		}
		switch rec.Value {
		case "always-bad":
			return errors.New("gateway timeout")
		case "flaky":
			if !flakyFailed {
				flakyFailed = true
				return errors.New("gateway timeout")
			}
		case "fatal":
			return listener.NotRetryable(errors.New("unknown currency"))
		}
		return nil
	}, listener.Topics(orders), listener.RetryTopics(listener.RetryTopicConfig{
		Attempts: 3, Delay: 20 * time.Millisecond, Multiplier: 2,
		DLTHandler: func(_ context.Context, rec *listener.RawRecord) error {
			dead.add(rec)
			return nil
		},
	}))))
	c, _ := r.Container(billing)
	require.ElementsMatch(t, []string{orders, retry0, retry1, dlt}, c.Topics())

	send(t, s, orders, 1, "", "always-bad", "flaky", "fatal", "ok")
	start(t, r)

	dl := dead.waitLen(t, 2)
	require.Equal(t, []string{"fatal", "always-bad"}, []string{string(dl[0].Value), string(dl[1].Value)})
	for _, rec := range dl {
		require.Equal(t, dlt, rec.Topic)
		require.Equal(t, int32(1), rec.Partition, "records keep their partition")
		v, _ := rec.Headers.Get(listener.HeaderDLTOriginalTopic)
		require.Equal(t, orders, string(v), "the original topic is where the record was first consumed")
	}
	attemptsHdr, _ := dl[1].Headers.Get(listener.HeaderRetryAttempts)
	n, ok := listener.ParseBigIntHeader(attemptsHdr)
	require.True(t, ok)
	require.Equal(t, int64(3), n)
	msg, _ := dl[0].Headers.Get(listener.HeaderDLTExceptionMessage)
	require.Equal(t, "unknown currency", string(msg))

	mu.Lock()
	require.Equal(t, []hop{{orders, 1}, {retry0, 2}, {retry1, 3}}, hops["always-bad"])
	require.Equal(t, []hop{{orders, 1}, {retry0, 2}}, hops["flaky"])
	require.Equal(t, []hop{{orders, 1}}, hops["fatal"])
	require.Equal(t, []hop{{orders, 1}}, hops["ok"])
	require.Empty(t, early, "a retry is never delivered before its due time")
	mu.Unlock()

	// The hop to retry-0 carries the attempt count and a due time, as Spring
	// writes them.
	retried := readTopic(t, b.Addr(), retry0, 1, 0, 2)
	for _, m := range retried {
		a, ok := listener.ParseBigIntHeader(header(m, listener.HeaderRetryAttempts))
		require.True(t, ok)
		require.Equal(t, int64(2), a)
		due, ok := listener.ParseBigIntHeader(header(m, listener.HeaderRetryBackoffTimestamp))
		require.True(t, ok)
		orig, ok := listener.ParseBigIntHeader(header(m, listener.HeaderRetryOriginalTimestamp))
		require.True(t, ok)
		require.Greater(t, due, orig)
	}
	admin := clusterAdmin(t, b.Addr())
	topics, err := admin.ListTopics()
	require.NoError(t, err)
	for _, name := range []string{retry0, retry1, dlt} {
		require.Contains(t, topics, name)
		require.Equal(t, int32(2), topics[name].NumPartitions, "created with the main topic's partitions")
	}
}

// A batch handler never sees a record that does not deserialize: it goes to
// the error handler on its own, and the rest of the batch is delivered.
func TestBatchPoisonPill(t *testing.T) {
	b := broker(t, map[string]int32{"orders": 1})
	orders, billing := b.Topic("orders"), groupID(t, b, "billing")
	dlt := topicNamed(t, b, orders+"-dlt", 1)
	s := sender(t, b.Addr())
	r := registry(t, b.Addr(), testConfig(), listener.WithDeadLetterPublisher(s))
	var got seen[string]
	require.NoError(t, r.Register(listener.ListenBatch(billing, func(_ context.Context, recs []*listener.Record[order]) error {
		for _, rec := range recs {
			got.add(rec.Value.ID)
		}
		return nil
	}, listener.Topics(orders), listener.ValueDeserializer(serde.JSON[order]{}))))
	send(t, s, orders, 0, "", `{"id":"a"}`, "<xml/>", `{"id":"b"}`)
	start(t, r)
	require.Equal(t, []string{"a", "b"}, got.waitLen(t, 2))
	dl := readTopic(t, b.Addr(), dlt, 0, 0, 1)[0]
	require.Equal(t, "<xml/>", string(dl.Value))
	require.Equal(t, listener.Int64Header(1), header(dl, listener.HeaderDLTOriginalOffset))
}
