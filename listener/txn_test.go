package listener_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kspring/kspring/listener"
	"github.com/kspring/kspring/serde"
	"github.com/kspring/kspring/template"
	"github.com/kspring/kspring/testkit"
)

// txnTemplate returns a transactional template on the broker, with a
// transaction id prefix unique to the test, closed when the test ends.
func txnTemplate[K, V any](t testing.TB, addr, prefix string, opts ...template.Option) *template.Template[K, V] {
	t.Helper()
	tp, err := template.Dial[K, V]([]string{addr},
		template.Config{RequestTimeoutMs: 5000, MaxBlockMs: 20000, DeliveryTimeoutMs: 20000, TransactionIDPrefix: prefix}, opts...)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		require.NoError(t, tp.Close(ctx))
	})
	return tp
}

// committedTo reports an error unless group's committed offsets of topic
// are want.
func committedTo(t testing.TB, addr, group, topic string, want map[int32]int64) error {
	t.Helper()
	admin := newAdmin(t, addr)
	defer func() { _ = admin.Close() }()
	var ps []int32
	for p := range want {
		ps = append(ps, p)
	}
	res, err := admin.ListConsumerGroupOffsets(group, map[string][]int32{topic: ps})
	if err != nil {
		return err
	}
	for p, off := range want {
		b := res.GetBlock(topic, p)
		if b == nil || b.Err != 0 || b.Offset != off {
			return fmt.Errorf("partition %d: committed %+v, want %d", p, b, off)
		}
	}
	return nil
}

func values(rs []testkit.Record) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = string(r.Value)
	}
	return out
}

// TestTransactionalListenerConsumeProcessProduce: each record's output, its
// offset and, for a record that keeps failing, its dead letter commit in
// one transaction; a rolled-back record is delivered again and its aborted
// output is never read by read_committed.
func TestTransactionalListenerConsumeProcessProduce(t *testing.T) {
	b := broker(t, map[string]int32{"payments": 1, "ledger": 1})
	in, out := b.Topic("payments"), b.Topic("ledger")
	dlt := topicNamed(t, b, in+listener.DefaultDeadLetterSuffix, 1)
	group := groupID(t, b, "ledger-writer")
	prefix := testkit.UniqueName(t, "eos") + "-"
	// The container's transactions run on a template of bytes, which also
	// publishes the dead letters; the handler sends with a template of
	// strings, which joins them.
	txb := txnTemplate[[]byte, []byte](t, b.Addr(), prefix)
	txs := txnTemplate[string, string](t, b.Addr(), prefix,
		template.WithKeySerializer[string](serde.String{}), template.WithValueSerializer[string](serde.String{}))

	var mu sync.Mutex
	deliveries := map[string]int{}
	r := registry(t, b.Addr(), testConfig(),
		listener.WithTransactionManager(txb),
		listener.WithDefaultErrorHandler(listener.NewDefaultErrorHandler(
			listener.WithBackOff(listener.FixedBackOff{Interval: 10 * time.Millisecond, MaxRetries: 2}),
			listener.WithRecoverer(listener.NewDeadLetterRecoverer(txb)))))
	require.NoError(t, r.Register(listener.Listen(group, func(ctx context.Context, v string) error {
		mu.Lock()
		deliveries[v]++
		n := deliveries[v]
		mu.Unlock()
		txs.Send(ctx, out, "entry:"+v)
		switch {
		case v == "flaky" && n == 1:
			return errors.New("ledger busy")
		case v == "poison":
			return errors.New("cannot book " + v)
		}
		return nil
	}, listener.Topics(in), listener.ValueDeserializer(serde.String{}))))

	s := sender(t, b.Addr())
	send(t, s, in, 0, "", "a", "flaky", "poison", "b")
	start(t, r)

	eventually(t, func() error { return committedTo(t, b.Addr(), group, in, map[int32]int64{0: 4}) })
	require.Equal(t, []string{"entry:a", "entry:flaky", "entry:b"}, values(testkit.CommittedRecordsSettled(t, b.Addr(), out)),
		"read_committed sees each output once: not the rolled-back ones")
	require.ElementsMatch(t, []string{"entry:a", "entry:flaky", "entry:flaky", "entry:poison", "entry:poison", "entry:poison", "entry:b"},
		values(testkit.Records(t, b.Addr(), out)), "every delivery wrote its output; the aborted ones are in the log")
	mu.Lock()
	require.Equal(t, map[string]int{"a": 1, "flaky": 2, "poison": 3, "b": 1}, deliveries, "delivered again after each rollback")
	mu.Unlock()

	dead := testkit.CommittedRecordsSettled(t, b.Addr(), dlt)
	require.Len(t, dead, 1, "the dead letter committed with the poison record's offset")
	require.Equal(t, "poison", string(dead[0].Value))
	reason, _ := dead[0].Header("kafka_dlt-exception-message")
	require.True(t, strings.Contains(reason, "cannot book poison"), reason)
}

// TestTransactionalListenerReadsCommittedByDefault: a transactional
// container's consumers skip aborted records, unless isolation.level says
// otherwise.
func TestTransactionalListenerReadsCommittedByDefault(t *testing.T) {
	b := broker(t, map[string]int32{"mixed": 1})
	in := b.Topic("mixed")
	prefix := testkit.UniqueName(t, "iso") + "-"
	txb := txnTemplate[[]byte, []byte](t, b.Addr(), prefix)

	// One aborted and one committed record.
	ctx := t.Context()
	err := txb.ExecuteInTransaction(ctx, func(tx *template.Tx[[]byte, []byte]) error {
		tx.Send(ctx, in, []byte("aborted"))
		return errors.New("roll back")
	})
	require.ErrorIs(t, err, template.ErrTransactionAborted)
	_, err = txb.Send(ctx, in, []byte("committed")).Get(ctx)
	require.NoError(t, err)

	tests := []struct {
		name  string
		props map[string]string
		want  []string
	}{
		{"default read_committed", nil, []string{"committed"}},
		{"isolation.level honoured", map[string]string{"isolation.level": "read_uncommitted"}, []string{"aborted", "committed"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := make(chan string, 10)
			r := registry(t, b.Addr(), testConfig(), listener.WithTransactionManager(txb))
			require.NoError(t, r.Register(listener.Listen(groupID(t, b, testkit.UniqueName(t, "g")), func(ctx context.Context, v string) error {
				got <- v
				return nil
			}, listener.Topics(in), listener.ValueDeserializer(serde.String{}), listener.ConsumerProperties(tc.props))))
			start(t, r)
			var seen []string
			for range tc.want {
				seen = append(seen, testkit.Receive(t, got, waitFor))
			}
			require.Equal(t, tc.want, seen)
		})
	}
}

// TestTransactionalListenerForms: a batch listener's batch and a listener
// on explicit partitions (no group management, offsets committed for the
// group without a generation) run in transactions too; a failed delivery
// rolls back and the records come again.
func TestTransactionalListenerForms(t *testing.T) {
	tests := []struct {
		name     string
		endpoint func(id, in string, handle func(ctx context.Context, vs []string) error) listener.Endpoint
	}{
		{"batch", func(id, in string, handle func(ctx context.Context, vs []string) error) listener.Endpoint {
			return listener.ListenBatch(id, func(ctx context.Context, rs []*listener.Record[string]) error {
				vs := make([]string, len(rs))
				for i, r := range rs {
					vs[i] = r.Value
				}
				return handle(ctx, vs)
			}, listener.Topics(in), listener.ValueDeserializer(serde.String{}))
		}},
		{"explicit partitions", func(id, in string, handle func(ctx context.Context, vs []string) error) listener.Endpoint {
			return listener.Listen(id, func(ctx context.Context, v string) error { return handle(ctx, []string{v}) },
				listener.Partitions(in, map[int32]int64{0: listener.OffsetCommitted}), listener.ValueDeserializer(serde.String{}))
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := broker(t, map[string]int32{"in": 1, "out": 1})
			in, out := b.Topic("in"), b.Topic("out")
			group := groupID(t, b, testkit.UniqueName(t, "forms"))
			txb := txnTemplate[[]byte, []byte](t, b.Addr(), testkit.UniqueName(t, "forms")+"-")
			send(t, sender(t, b.Addr()), in, 0, "", "a", "b", "c")

			var mu sync.Mutex
			failedOnce := false
			r := registry(t, b.Addr(), testConfig(), listener.WithTransactionManager(txb))
			require.NoError(t, r.Register(tc.endpoint(group, in, func(ctx context.Context, vs []string) error {
				for _, v := range vs {
					txb.SendRecord(ctx, template.ProducerRecord[[]byte, []byte]{Topic: out, Value: []byte("out:" + v)})
				}
				mu.Lock()
				defer mu.Unlock()
				if !failedOnce && slices.Contains(vs, "b") {
					failedOnce = true
					return errors.New("fails once")
				}
				return nil
			})))
			start(t, r)

			eventually(t, func() error { return committedTo(t, b.Addr(), group, in, map[int32]int64{0: 3}) })
			require.Equal(t, []string{"out:a", "out:b", "out:c"}, values(testkit.CommittedRecordsSettled(t, b.Addr(), out)))
			mu.Lock()
			require.True(t, failedOnce)
			mu.Unlock()
		})
	}
}

// TestRequestReplyInTransactions: requests from a transactional template
// (each in a transaction of its own) reach a transactional reply listener,
// whose reply commits with the request's offset; the replying template of a
// transactional template reads replies read_committed.
func TestRequestReplyInTransactions(t *testing.T) {
	b := broker(t, map[string]int32{"asks": 1, "answers": 1})
	asks, answers := b.Topic("asks"), b.Topic("answers")
	prefix := testkit.UniqueName(t, "rr") + "-"
	txb := txnTemplate[[]byte, []byte](t, b.Addr(), prefix)
	r := registry(t, b.Addr(), testConfig(), listener.WithTransactionManager(txb), listener.WithReplyTemplate(txb))
	require.NoError(t, r.Register(listener.ListenReply(groupID(t, b, "answerer"), func(_ context.Context, q string) (string, error) {
		return strings.ToUpper(q), nil
	}, listener.Topics(asks), listener.ValueDeserializer(serde.String{}), listener.ReplySerializer(serde.String{}))))
	start(t, r)

	requests := txnTemplate[string, string](t, b.Addr(), prefix,
		template.WithKeySerializer[string](serde.String{}), template.WithValueSerializer[string](serde.String{}))
	rt, err := listener.NewReplyingTemplate[string, string, string](requests, []string{b.Addr()}, answers,
		listener.ReplyDeserializer(serde.String{}), listener.ReplyTimeout(waitFor), listener.ReplyConsumerConfig(testConfig()))
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	require.NoError(t, rt.Start(ctx))
	t.Cleanup(func() { require.NoError(t, rt.Close(context.Background())) })

	res, err := rt.SendAndReceive(ctx, template.ProducerRecord[string, string]{Topic: asks, Value: "ping"})
	require.NoError(t, err)
	require.Equal(t, "PING", res.Value)
	require.Len(t, testkit.CommittedRecordsSettled(t, b.Addr(), answers), 1, "the reply committed")
}

// tmFunc is a TransactionManager for configuration checks: registering
// never runs a transaction.
type tmFunc func(ctx context.Context, fn func(ctx context.Context, tx template.Transaction) error) error

func (f tmFunc) RunInTransaction(ctx context.Context, fn func(ctx context.Context, tx template.Transaction) error) error {
	return f(ctx, fn)
}

// senderFunc is a Sender for configuration checks.
type senderFunc func(ctx context.Context, rec template.ProducerRecord[[]byte, []byte]) *template.Future[[]byte, []byte]

func (f senderFunc) SendRecord(ctx context.Context, rec template.ProducerRecord[[]byte, []byte]) *template.Future[[]byte, []byte] {
	return f(ctx, rec)
}

func TestTransactionsRefuseWhatTheyDoNotMixWith(t *testing.T) {
	never := tmFunc(func(context.Context, func(context.Context, template.Transaction) error) error {
		panic("no transaction runs while registering")
	})
	var noSend senderFunc = func(context.Context, template.ProducerRecord[[]byte, []byte]) *template.Future[[]byte, []byte] {
		panic("nothing is sent while registering")
	}
	noop := func(context.Context, string) error { return nil }
	tests := []struct {
		name string
		ep   listener.Endpoint
		want string // "" registers
	}{
		{"retry topics", listener.Listen("a", noop, listener.Topics("t"), listener.RetryTopics(listener.RetryTopicConfig{})),
			"transactions do not mix with RetryTopics"},
		{"retry topics without transactions", listener.Listen("b", noop, listener.Topics("t"),
			listener.RetryTopics(listener.RetryTopicConfig{}), listener.NoTransactions()), ""},
		{"explicit partitions without a group", listener.Listen("c", noop, listener.Partitions("t", map[int32]int64{0: 0}),
			listener.IDIsGroup(false)), "transactional offsets need a group id"},
		{"explicit partitions with a group", listener.Listen("d", noop, listener.Partitions("t", map[int32]int64{0: 0})), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := listener.NewRegistry([]string{"127.0.0.1:1"}, listener.Config{},
				listener.WithTransactionManager(never), listener.WithDeadLetterPublisher(noSend))
			require.NoError(t, err)
			err = r.Register(tc.ep)
			if tc.want == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, listener.ErrConfig)
			require.ErrorContains(t, err, tc.want)
		})
	}
}
