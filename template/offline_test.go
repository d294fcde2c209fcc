package template_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/kspring/kspring/serde"
	"github.com/kspring/kspring/template"
)

// These tests need no broker: they point at a port where nothing listens, or
// fail before the record reaches one.

func TestBrokersDownFailsEverySend(t *testing.T) {
	rec := &recorder[string, string]{}
	tp := dial[string, string](t, closedAddr(t), quick(), template.WithProducerListener[string, string](rec))

	futures := []*template.Future[string, string]{
		tp.Send(context.Background(), "orders", "a"),
		tp.SendKey(context.Background(), "orders", "k", "b"),
		tp.SendPartition(context.Background(), "orders", 0, "k", "c"),
	}
	for _, f := range futures {
		err := failed(t, f)
		var se *template.SendError[string, string]
		require.ErrorAs(t, err, &se)
		require.Equal(t, "orders", se.Record.Topic)
		require.True(t, se.Retriable(), "brokers down is worth retrying: %v", err)
		require.ErrorIs(t, err, sarama.ErrOutOfBrokers)
		require.ErrorContains(t, err, "template: send to orders")
	}
	require.Eventually(t, func() bool { _, n := rec.counts(); return n == len(futures) }, 30*time.Second, time.Millisecond)
	closeTemplate(t, tp)
	_, n := rec.counts()
	require.Equal(t, len(futures), n, "each failure heard once")
}

func TestFailuresBeforeTheBroker(t *testing.T) {
	boom := errors.New("cannot encode")
	badValue := serde.SerializerFunc[string](func(_ string, _ *serde.Headers, v string) ([]byte, error) {
		if v == "bad" {
			return nil, boom
		}
		return []byte(v), nil
	})
	rec := &recorder[string, string]{}
	cfg := quick()
	cfg.MaxRequestSize = 1000
	tp := dial[string, string](t, closedAddr(t), cfg,
		template.WithValueSerializer(badValue), template.WithProducerListener[string, string](rec))

	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name      string
		send      func() *template.Future[string, string]
		is        error
		retriable bool
		contains  string
	}{
		{"serializer error",
			func() *template.Future[string, string] { return tp.Send(context.Background(), "orders", "bad") },
			boom, false, `serialize value for topic "orders": cannot encode`},
		{"cancelled context",
			func() *template.Future[string, string] { return tp.Send(cancelled, "orders", "x") },
			context.Canceled, false, "context canceled"},
		{"record over max-request-size",
			func() *template.Future[string, string] {
				return tp.Send(context.Background(), "orders", strings.Repeat("x", 2000))
			},
			template.ErrRecordTooLarge, false, "more than max-request-size 1000"},
		{"no default topic",
			func() *template.Future[string, string] { return tp.SendDefault(context.Background(), "x") },
			template.ErrNoDefaultTopic, false, "no default topic"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := tc.send()
			// A send that fails before the broker has failed on return.
			select {
			case <-f.Done():
			default:
				t.Fatal("the future should already have failed")
			}
			err := failed(t, f)
			require.ErrorIs(t, err, tc.is)
			require.ErrorContains(t, err, tc.contains)
			var se *template.SendError[string, string]
			require.ErrorAs(t, err, &se)
			require.Equal(t, tc.retriable, se.Retriable())
			_, n := rec.counts()
			require.Equal(t, i+1, n, "the listener heard it")
		})
	}

	var se *serde.SerializationError
	require.ErrorAs(t, rec.errs()[0], &se)
	require.False(t, se.Key)

	var ke *kerr.Error
	require.ErrorAs(t, rec.errs()[2], &ke)
	require.Equal(t, kerr.MessageTooLarge, ke)
}

func TestSendAfterCloseFails(t *testing.T) {
	rec := &recorder[string, string]{}
	tp, err := template.Dial[string, string]([]string{closedAddr(t)}, quick(), template.WithProducerListener[string, string](rec))
	require.NoError(t, err)
	closeTemplate(t, tp)
	closeTemplate(t, tp) // twice is fine

	err = failed(t, tp.SendKey(context.Background(), "orders", "k", "v"))
	require.ErrorIs(t, err, template.ErrClosed)
	require.Equal(t, []error{err}, rec.errs())
	require.NoError(t, tp.Flush(context.Background()))
}

func TestNewChecksClientAndOptions(t *testing.T) {
	addr := closedAddr(t)
	newClient := func(sc *sarama.Config) sarama.Client {
		c, err := sarama.NewClient([]string{addr}, sc)
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	good, err := quick().Sarama()
	require.NoError(t, err)

	plain := sarama.NewConfig() // Return.Successes off, hash partitioner
	plain.Metadata.Full = false
	_, err = template.New[string, string](newClient(plain))
	require.ErrorIs(t, err, template.ErrConfig)
	require.ErrorContains(t, err, "Return.Successes")
	require.ErrorContains(t, err, "template.NewPartitioner")

	_, err = template.New[string, string](nil)
	require.ErrorIs(t, err, template.ErrConfig)

	client := newClient(good)
	_, err = template.New[string, string](client, template.WithValueSerializer(serde.Int32{}))
	require.ErrorIs(t, err, template.ErrConfig)
	require.ErrorContains(t, err, "value serializer serde.Int32 is not a serde.Serializer[string]")

	_, err = template.New[string, string](client, template.WithProducerListener[int, string](&recorder[int, string]{}))
	require.ErrorIs(t, err, template.ErrConfig)

	_, err = template.New[string, string](client, template.WithConfig(template.Config{Acks: "most"}))
	require.ErrorIs(t, err, template.ErrConfig)

	_, err = template.Dial[string, string]([]string{addr}, template.Config{CompressionType: "rar"})
	require.ErrorIs(t, err, template.ErrConfig)

	// Spring's allowNonTransactional has no kspring form on a transactional
	// template; asking for it is an error, not a silent change.
	_, err = template.New[string, string](client, template.WithConfig(template.Config{TransactionIDPrefix: "tx-"}),
		template.WithAllowNonTransactional(true))
	require.ErrorIs(t, err, template.ErrConfig)
	require.ErrorContains(t, err, "non-transactional sends on a transactional template are not supported")

	// A good client: the template owns only its producer.
	tp, err := template.New[string, string](client)
	require.NoError(t, err)
	require.False(t, tp.IsTransactional())
	called := false
	err = tp.ExecuteInTransaction(t.Context(), func(*template.Tx[string, string]) error { called = true; return nil })
	require.ErrorIs(t, err, template.ErrNotTransactional)
	require.False(t, called, "no transaction, no function")
	closeTemplate(t, tp)
	require.False(t, client.Closed(), "New leaves the client to its owner")
}

// With the completer held up, records stay in flight and hold buffer-memory:
// the next Send waits max-block-ms and fails with ErrBufferFull.
func TestFullBufferFailsAfterMaxBlock(t *testing.T) {
	gate := make(chan struct{})
	entered := make(chan struct{})
	blocker := template.ProducerListenerFuncs[string, string]{
		Error: func(rec template.ProducerRecord[string, string], err error) {
			if rec.Value == "blocker" {
				close(entered)
				<-gate // hold the completer
			}
		},
	}
	rec := &recorder[string, string]{}
	cfg := quick()
	cfg.BufferMemory = 60 // room for one small record: 36 bytes of overhead plus the value
	cfg.MaxBlockMs = 50
	tp := dial[string, string](t, closedAddr(t), cfg,
		template.WithProducerListener[string, string](blocker), template.WithProducerListener[string, string](rec))

	tp.Send(context.Background(), "orders", "blocker")
	<-entered
	held := tp.Send(context.Background(), "orders", "held") // takes the budget; cannot come back yet

	err := failed(t, tp.Send(context.Background(), "orders", "no room"))
	require.ErrorIs(t, err, template.ErrBufferFull)
	var se *template.SendError[string, string]
	require.ErrorAs(t, err, &se)
	require.True(t, se.Retriable())
	require.Equal(t, "no room", se.Record.Value)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cancelled, cancelNow := context.WithCancel(ctx)
	cancelNow()
	require.ErrorIs(t, failed(t, tp.Send(cancelled, "orders", "no room either")), context.Canceled)

	err = failed(t, tp.Send(context.Background(), "orders", strings.Repeat("x", 300)))
	require.ErrorIs(t, err, template.ErrRecordTooLarge, "a record larger than the whole buffer never fits")
	require.ErrorContains(t, err, "buffer-memory 60")

	close(gate)
	require.ErrorIs(t, failed(t, held), sarama.ErrOutOfBrokers)
	require.NoError(t, tp.Flush(ctx))
}

// Close with a context that ends fails every outstanding future with
// ErrClosed, and nothing waits on the producer.
func TestCloseDeadlineFailsOutstanding(t *testing.T) {
	gate := make(chan struct{})
	entered := make(chan struct{})
	blocker := template.ProducerListenerFuncs[string, string]{
		Error: func(rec template.ProducerRecord[string, string], err error) {
			if rec.Value == "blocker" {
				close(entered)
				<-gate
			}
		},
	}
	tp, err := template.Dial[string, string]([]string{closedAddr(t)}, quick(), template.WithProducerListener[string, string](blocker))
	require.NoError(t, err)

	tp.Send(context.Background(), "orders", "blocker")
	<-entered
	outstanding := tp.Send(context.Background(), "orders", "outstanding")

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, tp.Close(ctx), context.DeadlineExceeded)
	err = failed(t, outstanding)
	require.ErrorIs(t, err, template.ErrClosed)
	require.ErrorIs(t, err, context.DeadlineExceeded)

	close(gate)
	closeTemplate(t, tp) // the producer finishes; the goroutines and client go away
}

func TestInterceptorsSeeEverySend(t *testing.T) {
	type ack struct {
		value string
		err   error
	}
	acks := make(chan ack, 10)
	tracing := template.InterceptorFuncs[string, string]{
		Send: func(ctx context.Context, rec template.ProducerRecord[string, string]) template.ProducerRecord[string, string] {
			rec.Headers.Add("trace-id", []byte("t-1"))
			return rec
		},
		Acknowledgement: func(rec template.ProducerRecord[string, string], md template.RecordMetadata, err error) {
			v, _ := rec.Headers.Get("trace-id")
			require.Equal(t, "t-1", string(v))
			acks <- ack{rec.Value, err}
		},
	}
	tp := dial[string, string](t, closedAddr(t), quick(), template.WithInterceptors[string, string](tracing))

	userHeaders := serde.Headers{{Key: "a", Value: []byte("1")}}
	err := failed(t, tp.SendRecord(context.Background(), template.ProducerRecord[string, string]{
		Topic: "orders", Value: "v", Headers: userHeaders,
	}))
	var se *template.SendError[string, string]
	require.ErrorAs(t, err, &se)
	require.Equal(t, serde.Headers{{Key: "a", Value: []byte("1")}, {Key: "trace-id", Value: []byte("t-1")}}, se.Record.Headers)
	require.Len(t, userHeaders, 1, "the caller's headers are not changed")

	a := <-acks
	require.Equal(t, "v", a.value)
	require.ErrorIs(t, a.err, sarama.ErrOutOfBrokers)
}

func TestPanicsInHooksAreContained(t *testing.T) {
	tp := dial[string, string](t, closedAddr(t), quick(),
		template.WithProducerListener[string, string](template.ProducerListenerFuncs[string, string]{
			Error: func(template.ProducerRecord[string, string], error) { panic("listener") },
		}),
		template.WithInterceptors[string, string](template.InterceptorFuncs[string, string]{
			Send: func(context.Context, template.ProducerRecord[string, string]) template.ProducerRecord[string, string] {
				panic("interceptor")
			},
		}))
	f := tp.Send(context.Background(), "orders", "v")
	f.OnFailure(func(error) { panic("callback") })
	require.ErrorIs(t, failed(t, f), sarama.ErrOutOfBrokers)
	// The completer survived: the next send completes too.
	require.ErrorIs(t, failed(t, tp.Send(context.Background(), "orders", "w")), sarama.ErrOutOfBrokers)
}
