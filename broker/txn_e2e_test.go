package broker_test

// Transactions end to end with real clients: franz-go, sarama, kcat.
// Every check of what read_committed shows reads up to a sentinel record
// produced after the transactions, so "nothing aborted is visible" is
// checked on everything before it, not on whatever arrived in time.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kspring/kspring/broker"
)

const sentinel = "sentinel"

// kgoTxnProducer is a franz-go transactional producer of id writing to topic.
func kgoTxnProducer(t testing.TB, addr, id, topic string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	return newKgo(t, addr, append([]kgo.Opt{
		kgo.TransactionalID(id),
		kgo.DefaultProduceTopic(topic),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.TransactionTimeout(time.Minute),
	}, opts...)...)
}

// inTxn runs one franz-go transaction producing values to partition 0 and
// ends it with commit.
func inTxn(t testing.TB, cl *kgo.Client, commit kgo.TransactionEndTry, values ...string) {
	t.Helper()
	require.NoError(t, cl.BeginTransaction())
	for _, v := range values {
		produceSync(t, cl, &kgo.Record{Value: []byte(v)})
	}
	require.NoError(t, cl.EndTransaction(testCtx(t), commit))
}

// committedValues produces a sentinel to each of topic's partitions, then
// reads the topic read_committed from the start up to the sentinels and
// returns every value before them: what a read_committed consumer sees of
// everything written before. opts (a login) go to both clients.
func committedValues(t testing.TB, addr, topic string, partitions int32, opts ...kgo.Opt) []string {
	t.Helper()
	p := newKgo(t, addr, append([]kgo.Opt{kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.ManualPartitioner())}, opts...)...)
	for i := range partitions {
		produceSync(t, p, &kgo.Record{Partition: i, Value: []byte(sentinel)})
	}
	return readCommitted(t, addr, topic, partitions, opts...)
}

// readCommitted reads topic read_committed up to one sentinel per partition.
func readCommitted(t testing.TB, addr, topic string, partitions int32, opts ...kgo.Opt) []string {
	t.Helper()
	cl := newKgo(t, addr, append([]kgo.Opt{kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted())}, opts...)...)
	ctx := testCtx(t)
	var out []string
	for seen := int32(0); seen < partitions; {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read_committed: %d of %d sentinels within %v; read %q", seen, partitions, waitFor, out)
		}
		fs.EachError(func(topic string, p int32, err error) { t.Fatalf("fetch %s[%d]: %v", topic, p, err) })
		for _, r := range fs.Records() {
			if string(r.Value) == sentinel {
				seen++
				continue
			}
			out = append(out, string(r.Value))
		}
	}
	return out
}

func TestTransactionsFranzGoCommitAndAbort(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	createTopic(t, b.Addr(), "kgo-txn", 1, nil)
	cl := kgoTxnProducer(t, b.Addr(), "tx-kgo", "kgo-txn")
	inTxn(t, cl, kgo.TryCommit, seq("committed-", 10)...)
	inTxn(t, cl, kgo.TryAbort, seq("aborted-", 10)...)
	inTxn(t, cl, kgo.TryCommit, seq("after-", 5)...)

	require.Equal(t, append(seq("committed-", 10), seq("after-", 5)...), committedValues(t, b.Addr(), "kgo-txn", 1))
	// read_uncommitted sees the aborted records too (the markers are no records).
	all := consumeAll(t, b.Addr(), "kgo-txn", 26)
	require.Len(t, all, 26)

	d, err := kadm.NewClient(newKgo(t, b.Addr())).DescribeTransactions(testCtx(t), "tx-kgo")
	require.NoError(t, err)
	require.Equal(t, "CompleteCommit", d["tx-kgo"].State)

	// __transaction_state holds Kafka's schema: read it as Kafka's tools do.
	states := readTxnLog(t, b.Addr(), "tx-kgo", 3)
	require.Equal(t, []kmsg.TransactionState{
		kmsg.TransactionStateOngoing, kmsg.TransactionStatePrepareCommit, kmsg.TransactionStateCompleteCommit,
		kmsg.TransactionStateOngoing, kmsg.TransactionStatePrepareAbort, kmsg.TransactionStateCompleteAbort,
		kmsg.TransactionStateOngoing, kmsg.TransactionStatePrepareCommit, kmsg.TransactionStateCompleteCommit,
	}, states[len(states)-9:], "the last nine transitions of tx-kgo")
}

// readTxnLog consumes __transaction_state and returns the states recorded
// for id, decoded with kmsg's TxnMetadataKey/Value, once it holds at least
// completed of its CompleteCommit/CompleteAbort.
func readTxnLog(t *testing.T, addr, id string, completed int) []kmsg.TransactionState {
	t.Helper()
	cl := newKgo(t, addr, kgo.ConsumeTopics("__transaction_state"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	ctx := testCtx(t)
	var states []kmsg.TransactionState
	for done := 0; done < completed; {
		fs := cl.PollFetches(ctx)
		require.NoError(t, ctx.Err(), "%d of %d completions of %s in __transaction_state", done, completed, id)
		fs.EachError(func(topic string, p int32, err error) { t.Fatalf("fetch %s[%d]: %v", topic, p, err) })
		for _, r := range fs.Records() {
			var k kmsg.TxnMetadataKey
			require.NoError(t, k.ReadFrom(r.Key))
			if k.TransactionalID != id || r.Value == nil {
				continue
			}
			var v kmsg.TxnMetadataValue
			require.NoError(t, v.ReadFrom(r.Value))
			states = append(states, v.State)
			if v.State == kmsg.TransactionStateCompleteCommit || v.State == kmsg.TransactionStateCompleteAbort {
				done++
			}
		}
	}
	return states
}

func TestTransactionsFranzGoGroupTransactSession(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	createTopic(t, b.Addr(), "gts-in", 2, nil)
	createTopic(t, b.Addr(), "gts-out", 1, nil)
	const n = 40
	in := newKgo(t, b.Addr(), kgo.DefaultProduceTopic("gts-in"))
	for i := range n {
		produceSync(t, in, &kgo.Record{Key: []byte(strconv.Itoa(i)), Value: []byte("v" + strconv.Itoa(i))})
	}

	sess, err := kgo.NewGroupTransactSession(
		kgo.SeedBrokers(b.Addr()),
		kgo.TransactionalID("tx-gts"),
		kgo.TransactionTimeout(time.Minute),
		kgo.ConsumerGroup("gts"),
		kgo.ConsumeTopics("gts-in"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.DefaultProduceTopic("gts-out"),
	)
	require.NoError(t, err)
	t.Cleanup(sess.Close)
	transformInTransactions(t, sess, n)

	got := committedValues(t, b.Addr(), "gts-out", 1)
	var want []string
	for i := range n {
		want = append(want, "out-v"+strconv.Itoa(i))
	}
	require.ElementsMatch(t, want, got, "each input transformed exactly once")

	offs, err := kadm.NewClient(newKgo(t, b.Addr())).FetchOffsets(testCtx(t), "gts")
	require.NoError(t, err)
	var total int64
	offs.Each(func(o kadm.OffsetResponse) { total += o.At })
	require.Equal(t, int64(n), total, "the consumed offsets were committed with the transactions")
}

func TestTransactionsSarama(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	for _, v := range []sarama.KafkaVersion{sarama.V0_11_0_0, sarama.V2_6_0_0, sarama.V3_6_0_0} {
		t.Run(v.String(), func(t *testing.T) {
			saramaTransactions(t, b.Addr(), v)
		})
	}
}

// saramaTransactions runs sarama's transactional producer at version v:
// commit, abort, consume-transform-produce with AddMessageToTxn, and
// offsets of an aborted transaction.
func saramaTransactions(t *testing.T, addr string, v sarama.KafkaVersion) {
	out, in := "sarama-txn-"+v.String(), "sarama-in-"+v.String()
	createTopic(t, addr, out, 1, nil)
	createTopic(t, addr, in, 1, nil)
	produceSync(t, newKgo(t, addr, kgo.DefaultProduceTopic(in)), &kgo.Record{Value: []byte("input")})

	cfg := saramaConfig(v)
	cfg.Producer.Idempotent = true
	cfg.Producer.Transaction.ID = "tx-sarama-" + v.String()
	cfg.Net.MaxOpenRequests = 1
	cfg.Producer.Retry.Backoff = 20 * time.Millisecond
	p := newSyncProducer(t, addr, cfg)
	send := func(val string) {
		t.Helper()
		_, _, err := p.SendMessage(&sarama.ProducerMessage{Topic: out, Value: sarama.StringEncoder(val)})
		require.NoError(t, err)
	}

	require.NoError(t, p.BeginTxn())
	send("committed")
	require.NoError(t, p.CommitTxn())

	require.NoError(t, p.BeginTxn())
	send("aborted")
	require.NoError(t, p.AbortTxn())

	// Consume-transform-produce: the consumed offset goes in the transaction.
	msgs := saramaConsume(t, addr, saramaConfig(v), in, 0, 0, 1)
	require.NoError(t, p.BeginTxn())
	send("transformed-" + string(msgs[0].Value))
	require.NoError(t, p.AddMessageToTxn(msgs[0], "sarama-group-"+v.String(), nil))
	require.NoError(t, p.CommitTxn())

	require.NoError(t, p.BeginTxn())
	send("offsets")
	require.NoError(t, p.AddOffsetsToTxn(map[string][]*sarama.PartitionOffsetMetadata{
		in: {{Partition: 0, Offset: 0}},
	}, "sarama-aborted-group-"+v.String()))
	require.NoError(t, p.AbortTxn())

	require.Equal(t, []string{"committed", "transformed-input"}, committedValues(t, addr, out, 1))
	adm := kadm.NewClient(newKgo(t, addr))
	offs, err := adm.FetchOffsets(testCtx(t), "sarama-group-"+v.String())
	require.NoError(t, err)
	o, ok := offs.Lookup(in, 0)
	require.True(t, ok)
	require.Equal(t, int64(1), o.At, "AddMessageToTxn commits the next offset")
	offs, err = adm.FetchOffsets(testCtx(t), "sarama-aborted-group-"+v.String())
	require.NoError(t, err)
	_, ok = offs.Lookup(in, 0)
	require.False(t, ok, "offsets of an aborted transaction are not committed")
}

func TestTransactionsKcat(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	createTopic(t, b.Addr(), "kcat-txn", 1, nil)
	in := ""
	for i := range 20 {
		in += "line-" + strconv.Itoa(i) + "\n"
	}
	kcat(t, in, "-P", "-b", b.Addr(), "-t", "kcat-txn", "-p", "0", "-X", "transactional.id=tx-kcat")
	require.Equal(t, seq("line-", 20), committedValues(t, b.Addr(), "kcat-txn", 1))
	d, err := kadm.NewClient(newKgo(t, b.Addr())).DescribeTransactions(testCtx(t), "tx-kcat")
	require.NoError(t, err)
	require.Equal(t, "CompleteCommit", d["tx-kcat"].State, "kcat's input is one committed transaction")
}

// TestTransactionsZombieFenced: a second producer with the same
// transactional id fences the first, whose open transaction is aborted and
// whose commit fails.
func TestTransactionsZombieFenced(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	createTopic(t, b.Addr(), "zombie", 1, nil)
	zombie := kgoTxnProducer(t, b.Addr(), "tx-zombie", "zombie")
	require.NoError(t, zombie.BeginTransaction())
	produceSync(t, zombie, &kgo.Record{Value: []byte("from-the-zombie")})

	fresh := kgoTxnProducer(t, b.Addr(), "tx-zombie", "zombie")
	inTxn(t, fresh, kgo.TryCommit, "from-the-new-incarnation")

	err := zombie.EndTransaction(testCtx(t), kgo.TryCommit)
	require.Error(t, err)
	require.True(t, errors.Is(err, kerr.ProducerFenced) || errors.Is(err, kerr.InvalidProducerEpoch), "got %v", err)
	require.Equal(t, []string{"from-the-new-incarnation"}, committedValues(t, b.Addr(), "zombie", 1))
}

// TestTransactionsTimeoutAbort: a transaction left open past its
// transaction.timeout.ms is aborted by the coordinator, its producer fenced.
func TestTransactionsTimeoutAbort(t *testing.T) {
	t.Parallel()
	b := startBroker(t, func(c *broker.Config) { c.TransactionAbortTimedOutCleanupIntervalMs = 20 * time.Millisecond })
	createTopic(t, b.Addr(), "timeout", 1, nil)
	slow := kgoTxnProducer(t, b.Addr(), "tx-slow", "timeout", kgo.TransactionTimeout(500*time.Millisecond))
	require.NoError(t, slow.BeginTransaction())
	produceSync(t, slow, &kgo.Record{Value: []byte("never-committed")})
	adm := kadm.NewClient(newKgo(t, b.Addr()))
	eventually(t, func() error {
		d, err := adm.DescribeTransactions(testCtx(t), "tx-slow")
		if err != nil {
			return err
		}
		if s := d["tx-slow"].State; s != "CompleteAbort" {
			return fmt.Errorf("state %s", s)
		}
		return nil
	})
	err := slow.EndTransaction(testCtx(t), kgo.TryCommit)
	require.Error(t, err, "the timed-out producer is fenced")
	require.Empty(t, committedValues(t, b.Addr(), "timeout", 1))
}

// TestTransactionsBrokerKilledMidTransaction: the broker is killed (no
// clean shutdown) with one transaction committed and one open; after the
// restart the open one is aborted by its timeout, never half-visible, and
// the committed one is whole.
func TestTransactionsBrokerKilledMidTransaction(t *testing.T) {
	t.Parallel()
	b := startBroker(t, func(c *broker.Config) { c.TransactionAbortTimedOutCleanupIntervalMs = 20 * time.Millisecond })
	createTopic(t, b.Addr(), "killed", 2, nil)
	cl := kgoTxnProducer(t, b.Addr(), "tx-killed", "killed", kgo.TransactionTimeout(2*time.Second))
	require.NoError(t, cl.BeginTransaction())
	for i := range 10 {
		produceSync(t, cl, &kgo.Record{Partition: int32(i % 2), Value: []byte("committed-" + strconv.Itoa(i))})
	}
	require.NoError(t, cl.EndTransaction(testCtx(t), kgo.TryCommit))
	require.NoError(t, cl.BeginTransaction())
	for i := range 10 {
		produceSync(t, cl, &kgo.Record{Partition: int32(i % 2), Value: []byte("open-" + strconv.Itoa(i))})
	}
	cl.Close()
	cfg := b.Config()
	b.Kill()

	b2 := startWith(t, cfg)
	got := committedValues(t, b2.Addr(), "killed", 2)
	slices.Sort(got)
	want := seq("committed-", 10)
	slices.Sort(want)
	require.Equal(t, want, got)
}

// TestTransactionsCoordinatorFailover: on three brokers, the coordinator
// of a transaction is killed with the transaction open. The new
// coordinator (the next leader of the id's __transaction_state partition)
// ends it: committed, read_committed shows all of it; and the producer that
// goes on through the failover sees its transaction whole or not at all.
func TestTransactionsCoordinatorFailover(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		// end ends the open transaction after the kill and reports
		// whether it must be visible: true for an acknowledged commit.
		end func(t *testing.T, c *broker.Cluster, cl *kgo.Client, d kadm.DescribedTransaction) (mustShow bool)
	}{
		{"EndTxn at the new coordinator commits", func(t *testing.T, c *broker.Cluster, _ *kgo.Client, d kadm.DescribedTransaction) bool {
			fresh := newKgo(t, c.Bootstrap()) // finds the new coordinator
			eventually(t, func() error {
				req := kmsg.NewPtrEndTxnRequest()
				req.TransactionalID, req.ProducerID, req.ProducerEpoch, req.Commit = d.TxnID, d.ProducerID, d.ProducerEpoch, true
				resp, err := req.RequestWith(testCtx(t), fresh)
				if err != nil {
					return err
				}
				return kerr.ErrorForCode(resp.ErrorCode)
			})
			return true
		}},
		{"the producer's own commit shows all or nothing", func(t *testing.T, _ *broker.Cluster, cl *kgo.Client, _ kadm.DescribedTransaction) bool {
			ctx, cancel := context.WithTimeout(context.Background(), waitFor)
			defer cancel()
			err := cl.EndTransaction(ctx, kgo.TryCommit)
			if err != nil {
				t.Logf("the commit failed through the failover (%v): the transaction must be invisible", err)
			}
			return err == nil
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := startCluster(t, 3, func(cfg *broker.Config) { cfg.TransactionAbortTimedOutCleanupIntervalMs = 50 * time.Millisecond })
			createReplicated(t, c, "failover-txn", 2, 3, map[string]string{"min.insync.replicas": "2"})
			cl := newKgo(t, c.Bootstrap(),
				kgo.TransactionalID("tx-failover-commit"), kgo.TransactionTimeout(10*time.Second),
				kgo.DefaultProduceTopic("failover-txn"), kgo.RecordPartitioner(kgo.ManualPartitioner()),
				kgo.RequiredAcks(kgo.AllISRAcks()), kgo.RetryBackoffFn(func(int) time.Duration { return 50 * time.Millisecond }),
				kgo.MetadataMinAge(50*time.Millisecond), kgo.RecordDeliveryTimeout(waitFor))
			adm := kadm.NewClient(newKgo(t, c.Bootstrap()))

			inTxn(t, cl, kgo.TryCommit, "before")
			require.NoError(t, cl.BeginTransaction())
			var values []string
			for i := range 10 {
				v := "during-" + strconv.Itoa(i)
				values = append(values, v)
				produceSync(t, cl, &kgo.Record{Partition: int32(i % 2), Value: []byte(v)})
			}
			d, err := describeTxn(t, adm, "tx-failover-commit")
			require.NoError(t, err)
			require.Equal(t, "Ongoing", d.State)
			require.NoError(t, c.Kill(d.Coordinator))

			mustShow := tc.end(t, c, cl, d)
			got := committedValues(t, c.Bootstrap(), "failover-txn", 2)
			all := append([]string{"before"}, values...)
			slices.Sort(got)
			slices.Sort(all)
			if mustShow || len(got) != 1 {
				require.Equal(t, all, got, "all of the transaction or none of it; all once its commit is acknowledged")
			}
			require.NoError(t, c.Restart(testCtx(t), d.Coordinator))
		})
	}
}

// transformInTransactions consumes n records with sess and produces each
// value, prefixed "out-", in the transaction that commits its offset;
// a transaction that ends aborted (a rebalance) is done again.
func transformInTransactions(t *testing.T, sess *kgo.GroupTransactSession, n int) {
	t.Helper()
	ctx := testCtx(t)
	for done := 0; done < n; {
		fs := sess.PollFetches(ctx)
		require.NoError(t, ctx.Err(), "transformed %d of %d", done, n)
		fs.EachError(func(topic string, p int32, err error) { t.Fatalf("fetch %s[%d]: %v", topic, p, err) })
		recs := fs.Records()
		if len(recs) == 0 {
			continue
		}
		require.NoError(t, sess.Begin())
		for _, r := range recs {
			out := &kgo.Record{Value: []byte("out-" + string(r.Value))}
			require.NoError(t, sess.ProduceSync(ctx, out).FirstErr())
		}
		committed, err := sess.End(ctx, kgo.TryCommit)
		require.NoError(t, err)
		if committed {
			done += len(recs)
		}
	}
}
