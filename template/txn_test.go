package template_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kspring/kspring/template"
	"github.com/kspring/kspring/testkit"
)

// These tests run transactions against the bundled broker and read back
// with isolation.level read_committed and read_uncommitted.

// txnTemplate opens a transactional template of strings whose
// transactional.id is prefix+"0": the first of the process with a prefix
// unique to the test.
func txnTemplate(t *testing.T, b *testkit.Broker) (tp *template.Template[string, string], txnID string) {
	t.Helper()
	cfg := quick()
	cfg.TransactionIDPrefix = testkit.UniqueName(t, "tx") + "-"
	tp = dial[string, string](t, b.Addr(), cfg)
	require.True(t, tp.IsTransactional())
	return tp, cfg.TransactionIDPrefix + "0"
}

// settled waits until the transaction of txnID has completed: its markers
// written, its offsets applied.
func settled(t *testing.T, b *testkit.Broker, txnID string) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()))
	require.NoError(t, err)
	defer cl.Close()
	adm := kadm.NewClient(cl)
	testkit.Eventually(t, testkit.WaitTimeout, func() error {
		described, err := adm.DescribeTransactions(t.Context(), txnID)
		if err != nil {
			return err
		}
		d := described[txnID]
		if d.Err != nil {
			return d.Err
		}
		if d.State != "CompleteCommit" && d.State != "CompleteAbort" {
			return fmt.Errorf("transaction %s is %s", txnID, d.State)
		}
		return nil
	})
}

func values(rs []testkit.Record) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = string(r.Value)
	}
	return out
}

func TestTransactionCommitsOrAbortsAsAWhole(t *testing.T) {
	b := testkit.NewBroker(t, testkit.WithTopic("ledger", 2, nil))
	topic := b.Topic("ledger")
	tp, _ := txnTemplate(t, b)
	ctx := t.Context()
	boom := errors.New("boom")
	var futures []*template.Future[string, string]

	tests := []struct {
		name      string
		fn        func(tx *template.Tx[string, string]) error
		committed bool
		wantErr   error
	}{
		{"nil commits", func(tx *template.Tx[string, string]) error {
			futures = append(futures, tx.SendKey(ctx, topic, "a", "committed-1"), tx.SendPartition(ctx, topic, 1, "b", "committed-2"))
			return nil
		}, true, nil},
		{"an error aborts", func(tx *template.Tx[string, string]) error {
			tx.Send(ctx, topic, "aborted-1")
			return boom
		}, false, boom},
		{"a send through the template with the transaction's context joins it", func(tx *template.Tx[string, string]) error {
			require.True(t, tp.InTransaction(tx.Context(ctx)))
			tp.Send(tx.Context(ctx), topic, "aborted-2")
			return boom
		}, false, boom},
		{"a failed send aborts", func(tx *template.Tx[string, string]) error {
			tx.Send(ctx, topic, "aborted-3")
			tx.Send(ctx, topic, string(make([]byte, 2<<20))) // larger than max-request-size
			return nil
		}, false, template.ErrRecordTooLarge},
	}

	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			futures = nil
			err := tp.ExecuteInTransaction(ctx, tc.fn)
			for _, f := range futures {
				select {
				case <-f.Done():
				default:
					t.Fatal("a send of the transaction had not completed when it returned")
				}
			}
			if tc.committed {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, template.ErrTransactionAborted)
			require.ErrorIs(t, err, tc.wantErr)
		})
	}
	require.ElementsMatch(t, []string{"committed-1", "committed-2"}, values(testkit.CommittedRecordsSettled(t, b.Addr(), topic)),
		"read_committed sees the committed transaction only")
	require.ElementsMatch(t, []string{"committed-1", "committed-2", "aborted-1", "aborted-2", "aborted-3"},
		values(testkit.Records(t, b.Addr(), topic)), "the aborted records are in the log, for read_uncommitted")
}

func TestPanicInsideTransactionAborts(t *testing.T) {
	b := testkit.NewBroker(t, testkit.WithTopic("ledger", 1, nil))
	topic := b.Topic("ledger")
	tp, _ := txnTemplate(t, b)
	ctx := t.Context()

	require.PanicsWithValue(t, "handler bug", func() {
		_ = tp.ExecuteInTransaction(ctx, func(tx *template.Tx[string, string]) error {
			_, err := tx.Send(ctx, topic, "before the panic").Get(ctx)
			require.NoError(t, err)
			panic("handler bug")
		})
	}, "the panic goes on in the caller's goroutine")

	// The template goes on: the next transaction commits.
	require.NoError(t, tp.ExecuteInTransaction(ctx, func(tx *template.Tx[string, string]) error {
		tx.Send(ctx, topic, "after the panic")
		return nil
	}))
	require.Equal(t, []string{"after the panic"}, values(testkit.CommittedRecordsSettled(t, b.Addr(), topic)))
}

func TestPlainSendOnTransactionalTemplateCommitsBeforeItsFutureCompletes(t *testing.T) {
	b := testkit.NewBroker(t, testkit.WithTopic("ledger", 1, nil))
	topic := b.Topic("ledger")
	tp, txnID := txnTemplate(t, b)
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()))
	require.NoError(t, err)
	defer cl.Close()
	adm := kadm.NewClient(cl)
	for i := range 3 {
		res, err := get(t, tp.Send(t.Context(), topic, fmt.Sprint("solo-", i)))
		require.NoError(t, err)
		require.GreaterOrEqual(t, res.Metadata.Offset, int64(0))
		// The future completed after the commit: the coordinator has
		// decided (its markers may still be on their way).
		described, err := adm.DescribeTransactions(t.Context(), txnID)
		require.NoError(t, err)
		d, ok := described[txnID]
		require.True(t, ok, "transaction %s described", txnID)
		require.NoError(t, d.Err)
		require.Contains(t, []string{"PrepareCommit", "CompleteCommit"}, d.State, "after send %d", i)
	}
	require.NoError(t, tp.Flush(t.Context()))
	require.Equal(t, []string{"solo-0", "solo-1", "solo-2"}, values(testkit.CommittedRecordsSettled(t, b.Addr(), topic)))
}

func TestSendOffsetsCommitWithTheTransaction(t *testing.T) {
	b := testkit.NewBroker(t, testkit.WithTopic("in", 1, nil), testkit.WithTopic("out", 1, nil))
	in, out := b.Topic("in"), b.Topic("out")
	group := testkit.UniqueName(t, "billing")
	tp, txnID := txnTemplate(t, b)
	ctx := t.Context()
	offsets := func(next int64) []template.PartitionOffset {
		return []template.PartitionOffset{{Topic: in, Partition: 0, Offset: next}}
	}

	require.NoError(t, tp.ExecuteInTransaction(ctx, func(tx *template.Tx[string, string]) error {
		tx.Send(ctx, out, "committed")
		return tx.SendOffsets(ctx, offsets(42), template.GroupOnly(group))
	}))
	settled(t, b, txnID) // the markers, which make the offsets visible, follow the commit
	require.Equal(t, map[int32]int64{0: 42}, testkit.CommittedOffsets(t, b.Addr(), group, in))

	err := tp.ExecuteInTransaction(ctx, func(tx *template.Tx[string, string]) error {
		tx.Send(ctx, out, "aborted")
		require.NoError(t, tx.SendOffsets(ctx, offsets(77), template.GroupOnly(group)))
		return errors.New("rolled back")
	})
	require.ErrorIs(t, err, template.ErrTransactionAborted)
	settled(t, b, txnID)
	require.Equal(t, map[int32]int64{0: 42}, testkit.CommittedOffsets(t, b.Addr(), group, in), "an aborted transaction commits no offsets")
	require.Equal(t, []string{"committed"}, values(testkit.CommittedRecordsSettled(t, b.Addr(), out)))

	// Once the transaction has ended, its Tx refuses more.
	var done *template.Tx[string, string]
	require.NoError(t, tp.ExecuteInTransaction(ctx, func(tx *template.Tx[string, string]) error { done = tx; return nil }))
	require.ErrorIs(t, done.SendOffsets(ctx, offsets(50), template.GroupOnly(group)), template.ErrTransactionDone)
	_, err = get(t, done.Send(ctx, out, "late"))
	require.ErrorIs(t, err, template.ErrTransactionDone)
	require.ErrorIs(t, tp.ExecuteInTransaction(done.Context(ctx), func(*template.Tx[string, string]) error { return nil }),
		template.ErrInTransaction, "nested transactions are refused, as Spring does")
}

func TestFencedProducerIsReplacedOnTheNextTransaction(t *testing.T) {
	b := testkit.NewBroker(t, testkit.WithTopic("ledger", 1, nil))
	topic := b.Topic("ledger")
	tp, txnID := txnTemplate(t, b)
	ctx := t.Context()

	err := tp.ExecuteInTransaction(ctx, func(tx *template.Tx[string, string]) error {
		_, err := tx.Send(ctx, topic, "zombie's").Get(ctx)
		require.NoError(t, err)
		// Another producer starts with the same transactional.id: the
		// broker aborts our open transaction and fences our epoch.
		other, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()), kgo.TransactionalID(txnID))
		require.NoError(t, err)
		defer other.Close()
		require.NoError(t, other.BeginTransaction())
		require.NoError(t, other.EndTransaction(ctx, kgo.TryAbort))
		return nil
	})
	require.ErrorIs(t, err, template.ErrTransactionAborted)
	var ke *kerr.Error
	require.ErrorAs(t, err, &ke)
	require.Contains(t, []*kerr.Error{kerr.ProducerFenced, kerr.InvalidProducerEpoch}, ke, "fenced: %v", err)

	// The next transaction runs on a new producer, which fences the other.
	require.NoError(t, tp.ExecuteInTransaction(ctx, func(tx *template.Tx[string, string]) error {
		tx.Send(ctx, topic, "after fencing")
		return nil
	}))
	require.Equal(t, []string{"after fencing"}, values(testkit.CommittedRecordsSettled(t, b.Addr(), topic)))
}

// TestTransactionsRunInParallel: a template's transactions take producers
// from a pool, so one can commit while another is open.
func TestTransactionsRunInParallel(t *testing.T) {
	b := testkit.NewBroker(t, testkit.WithTopic("ledger", 1, nil))
	topic := b.Topic("ledger")
	tp, _ := txnTemplate(t, b)
	ctx := t.Context()

	aOpen, bDone := make(chan struct{}), make(chan error, 1)
	go func() {
		<-aOpen
		bDone <- tp.ExecuteInTransaction(ctx, func(tx *template.Tx[string, string]) error {
			tx.Send(ctx, topic, "b")
			return nil
		})
	}()
	require.NoError(t, tp.ExecuteInTransaction(ctx, func(tx *template.Tx[string, string]) error {
		tx.Send(ctx, topic, "a")
		close(aOpen)
		return <-bDone // b commits while a is open, on a second producer
	}))
	require.ElementsMatch(t, []string{"a", "b"}, values(testkit.CommittedRecordsSettled(t, b.Addr(), topic)))
}

// TestCloseWhileTransactionsRun: Close waits for the transactions and the
// sends in transactions of their own that it did not refuse; later ones
// fail with ErrClosed.
func TestCloseWhileTransactionsRun(t *testing.T) {
	b := testkit.NewBroker(t, testkit.WithTopic("ledger", 2, nil))
	topic := b.Topic("ledger")
	cfg := quick()
	cfg.TransactionIDPrefix = testkit.UniqueName(t, "close") + "-"
	tp, err := template.Dial[string, string]([]string{b.Addr()}, cfg)
	require.NoError(t, err)
	ctx := t.Context()

	var wg sync.WaitGroup
	futures := make(chan *template.Future[string, string], 400)
	for g := range 4 {
		wg.Go(func() {
			for i := range 100 {
				futures <- tp.Send(ctx, topic, fmt.Sprintf("g%d-%d", g, i))
			}
		})
	}
	closeTemplate(t, tp)
	wg.Wait()
	close(futures)
	var sent, refused int
	for f := range futures {
		_, err := get(t, f)
		switch {
		case err == nil:
			sent++
		case errors.Is(err, template.ErrClosed):
			refused++
		default:
			t.Fatalf("a send failed otherwise: %v", err)
		}
	}
	require.Equal(t, 400, sent+refused)
	require.Len(t, testkit.CommittedRecordsSettled(t, b.Addr(), topic), sent, "every send that succeeded committed")
}

// TestZombieGroupMemberOffsetsAbort: offsets sent for a group member with a
// generation the group has moved past (a zombie after a rebalance, KIP-447)
// are refused, and the transaction with them aborts.
func TestZombieGroupMemberOffsetsAbort(t *testing.T) {
	b := testkit.NewBroker(t, testkit.WithTopic("in", 1, nil), testkit.WithTopic("out", 1, nil))
	in, out := b.Topic("in"), b.Topic("out")
	group := testkit.UniqueName(t, "zombies")
	tp, _ := txnTemplate(t, b)
	ctx := t.Context()

	// A live member of the group.
	member, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()), kgo.ConsumerGroup(group), kgo.ConsumeTopics(in))
	require.NoError(t, err)
	defer member.Close()
	testkit.Eventually(t, testkit.WaitTimeout, func() error {
		pollCtx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		defer cancel()
		member.PollFetches(pollCtx) // joins
		if _, gen := member.GroupMetadata(); gen <= 0 {
			return errors.New("not in the group yet")
		}
		return nil
	})
	memberID, gen := member.GroupMetadata()

	err = tp.ExecuteInTransaction(ctx, func(tx *template.Tx[string, string]) error {
		tx.Send(ctx, out, "zombie's")
		return tx.SendOffsets(ctx, []template.PartitionOffset{{Topic: in, Partition: 0, Offset: 5}},
			template.GroupMetadata{GroupID: group, GenerationID: gen - 1, MemberID: memberID})
	})
	require.ErrorIs(t, err, template.ErrTransactionAborted, "a stale generation is fenced")

	require.NoError(t, tp.ExecuteInTransaction(ctx, func(tx *template.Tx[string, string]) error {
		tx.Send(ctx, out, "member's")
		return tx.SendOffsets(ctx, []template.PartitionOffset{{Topic: in, Partition: 0, Offset: 7}},
			template.GroupMetadata{GroupID: group, GenerationID: gen, MemberID: memberID})
	}))
	require.Equal(t, []string{"member's"}, values(testkit.CommittedRecordsSettled(t, b.Addr(), out)))
}
