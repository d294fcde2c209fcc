package broker_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// describeTxn describes id at its coordinator, as an admin client finds it.
func describeTxn(t *testing.T, adm *kadm.Client, id string) (kadm.DescribedTransaction, error) {
	t.Helper()
	d, err := adm.DescribeTransactions(testCtx(t), id)
	if err != nil {
		return kadm.DescribedTransaction{}, err
	}
	got, ok := d[id]
	if !ok {
		return kadm.DescribedTransaction{}, fmt.Errorf("%s not described", id)
	}
	return got, got.Err
}

// TestTransactionCoordinatorFailover: the coordinator of a transactional id
// is killed with a transaction ongoing; the broker that takes over the
// __transaction_state partition (replicated to three, min.isr 2) serves the
// same producer id, epoch and partitions, and fences an older epoch.
func TestTransactionCoordinatorFailover(t *testing.T) {
	t.Parallel()
	c := startCluster(t, 3)
	createReplicated(t, c, "orders", 2, 3, nil)
	cl := newKgo(t, c.Bootstrap())
	adm := kadm.NewClient(cl)
	id := "tx-failover"

	var ip *kmsg.InitProducerIDResponse
	for range 2 { // the second bumps the epoch
		eventually(t, func() error {
			req := kmsg.NewPtrInitProducerIDRequest()
			req.TransactionalID, req.TransactionTimeoutMillis = &id, 60000
			resp, err := req.RequestWith(testCtx(t), cl)
			if err != nil {
				return err
			}
			ip = resp
			return kerr.ErrorForCode(resp.ErrorCode)
		})
	}
	require.Equal(t, int16(1), ip.ProducerEpoch)
	add := func(cl *kgo.Client, epoch int16) error {
		req := kmsg.NewPtrAddPartitionsToTxnRequest()
		req.TransactionalID, req.ProducerID, req.ProducerEpoch = id, ip.ProducerID, epoch
		rt := kmsg.NewAddPartitionsToTxnRequestTopic()
		rt.Topic, rt.Partitions = "orders", []int32{0, 1}
		req.Topics = append(req.Topics, rt)
		resp, err := req.RequestWith(testCtx(t), cl)
		if err != nil {
			return err
		}
		return kerr.ErrorForCode(resp.Topics[0].Partitions[0].ErrorCode)
	}
	require.NoError(t, add(cl, 1))

	before, err := describeTxn(t, adm, id)
	require.NoError(t, err)
	require.Equal(t, "Ongoing", before.State)

	// __transaction_state: three replicas, min.insync.replicas 2.
	cfgs, err := adm.DescribeTopicConfigs(testCtx(t), "__transaction_state")
	require.NoError(t, err)
	minISR, err := cfgs.On("__transaction_state", nil)
	require.NoError(t, err)
	for _, kv := range minISR.Configs {
		if kv.Key == "min.insync.replicas" {
			require.Equal(t, "2", kv.MaybeValue())
		}
	}
	require.Len(t, isr(t, c, "__transaction_state", 0), 3)

	require.NoError(t, c.Kill(before.Coordinator))
	// A client that knew the old coordinator keeps dialling it; fresh
	// ones find the new one, as clients do once their request fails.
	fresh := func() *kgo.Client { return newKgo(t, c.Bootstrap()) }
	eventually(t, func() error {
		cl := fresh()
		defer cl.Close()
		after, err := describeTxn(t, kadm.NewClient(cl), id)
		switch {
		case err != nil:
			return err
		case after.Coordinator == before.Coordinator:
			return fmt.Errorf("still coordinated by the killed broker %d", after.Coordinator)
		case after.State != "Ongoing" || after.ProducerID != ip.ProducerID || after.ProducerEpoch != 1 ||
			len(after.Topics["orders"]) != 2:
			return fmt.Errorf("the new coordinator has %+v", after)
		}
		return nil
	})
	cl = fresh()
	eventually(t, func() error { return add(cl, 1) }) // the producer goes on at the new coordinator
	require.ErrorIs(t, add(cl, 0), kerr.ProducerFenced)
	require.NoError(t, c.Restart(testCtx(t), before.Coordinator))
}

// TestTransactionMarkersReachEveryLeader: a transaction spans three
// partitions led by three different brokers, so that whichever broker
// coordinates it writes markers both in process and to the other two over
// the Kafka protocol; committed, all of it is visible, and aborted, none.
func TestTransactionMarkersReachEveryLeader(t *testing.T) {
	t.Parallel()
	c := startCluster(t, 3)
	req := kmsg.NewPtrCreateTopicsRequest()
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = "spread", -1, -1
	for i, id := range c.IDs() {
		a := kmsg.NewCreateTopicsRequestTopicReplicaAssignment()
		a.Partition, a.Replicas = int32(i), []int32{id}
		rt.ReplicaAssignment = append(rt.ReplicaAssignment, a)
	}
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(testCtx(t), newKgo(t, c.Bootstrap()))
	require.NoError(t, err)
	requireCode(t, nil, resp.Topics[0].ErrorCode)
	leaders := map[int32]bool{}
	eventually(t, func() error {
		clear(leaders)
		for p := range int32(3) {
			l, ok := c.Leader("spread", p)
			if !ok {
				return fmt.Errorf("spread-%d has no leader", p)
			}
			leaders[l] = true
		}
		return nil
	})
	require.Len(t, leaders, 3)
	require.NoError(t, c.SyncMetadata(testCtx(t)))

	cl := kgoTxnProducer(t, c.Bootstrap(), "tx-spread", "spread")
	for _, commit := range []kgo.TransactionEndTry{kgo.TryAbort, kgo.TryCommit} {
		require.NoError(t, cl.BeginTransaction())
		for p := range int32(3) {
			produceSync(t, cl, &kgo.Record{Partition: p, Value: fmt.Appendf(nil, "%v-%d", bool(commit), p)})
		}
		require.NoError(t, cl.EndTransaction(testCtx(t), commit))
	}
	got := committedValues(t, c.Bootstrap(), "spread", 3)
	require.ElementsMatch(t, []string{"true-0", "true-1", "true-2"}, got)
}
