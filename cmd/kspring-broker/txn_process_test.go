package main

import (
	"context"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestProcessTransactionsSurviveSIGKILL: kspring-broker processes are
// SIGKILLed, all three at once, right after a transaction's commit was
// acknowledged, and again with a transaction open. After each restart
// read_committed shows the acknowledged transaction whole (its markers
// written by the coordinator that loads the PrepareCommit) and nothing of
// the open one (aborted at its timeout): never part of a transaction.
func TestProcessTransactionsSurviveSIGKILL(t *testing.T) {
	c := startProcessCluster(t, "transaction.abort.timed.out.transaction.cleanup.interval.ms=100\n")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	const topic = "txn-orders"
	admCl, err := kgo.NewClient(kgo.SeedBrokers(c.bootstrap()...), kgo.MetadataMinAge(50*time.Millisecond))
	require.NoError(t, err)
	defer admCl.Close()
	resp, err := kadm.NewClient(admCl).CreateTopic(ctx, 2, 3, map[string]*string{"min.insync.replicas": kadm.StringPtr("2")}, topic)
	require.NoError(t, err)
	require.NoError(t, resp.Err)

	producer := func() *kgo.Client {
		cl, err := kgo.NewClient(kgo.SeedBrokers(c.bootstrap()...),
			kgo.TransactionalID("tx-process"), kgo.TransactionTimeout(3*time.Second),
			kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.ManualPartitioner()),
			kgo.RetryBackoffFn(func(int) time.Duration { return 50 * time.Millisecond }),
			kgo.MetadataMinAge(50*time.Millisecond), kgo.RecordDeliveryTimeout(time.Minute))
		require.NoError(t, err)
		return cl
	}
	transaction := func(cl *kgo.Client, prefix string, commit bool) []string {
		t.Helper()
		require.NoError(t, cl.BeginTransaction())
		var values []string
		for i := range 10 {
			v := prefix + strconv.Itoa(i)
			values = append(values, v)
			require.NoError(t, cl.ProduceSync(ctx, &kgo.Record{Partition: int32(i % 2), Value: []byte(v)}).FirstErr())
		}
		if commit {
			require.NoError(t, cl.EndTransaction(ctx, kgo.TryCommit))
		}
		return values
	}
	crash := func() {
		t.Helper()
		for _, n := range c.nodes {
			n.kill(t)
		}
		for _, n := range c.nodes {
			n.start(t)
		}
		for _, n := range c.nodes {
			require.NoError(t, n.waitStarted(30*time.Second))
		}
	}

	cl := producer()
	want := transaction(cl, "first-", true)
	want = append(want, transaction(cl, "acknowledged-", true)...)
	cl.Close()
	crash()
	require.Equal(t, sorted(want), sorted(readCommittedProcess(t, ctx, c.bootstrap(), topic, 2, "sentinel-1")))

	cl = producer()
	transaction(cl, "open-", false)
	cl.Close()
	crash()
	require.Equal(t, sorted(want), sorted(readCommittedProcess(t, ctx, c.bootstrap(), topic, 2, "sentinel-2")))
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// readCommittedProcess produces mark to each partition, then reads topic
// read_committed from the start up to the marks and returns the values
// before them, leaving out earlier sentinels.
func readCommittedProcess(t *testing.T, ctx context.Context, seeds []string, topic string, partitions int32, mark string) []string {
	t.Helper()
	p, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.RecordDeliveryTimeout(time.Minute), kgo.RetryBackoffFn(func(int) time.Duration { return 50 * time.Millisecond }))
	require.NoError(t, err)
	defer p.Close()
	for i := range partitions {
		require.NoError(t, p.ProduceSync(ctx, &kgo.Record{Partition: i, Value: []byte(mark)}).FirstErr())
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	require.NoError(t, err)
	defer cl.Close()
	var out []string
	for seen := int32(0); seen < partitions; {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read_committed: %d of %d marks; read %q", seen, partitions, out)
		}
		fs.EachError(func(topic string, p int32, err error) { t.Fatalf("fetch %s[%d]: %v", topic, p, err) })
		for _, r := range fs.Records() {
			switch v := string(r.Value); {
			case v == mark:
				seen++
			case len(v) >= 9 && v[:9] == "sentinel-":
			default:
				out = append(out, v)
			}
		}
	}
	return out
}
