package broker_test

// ACLs on the transaction APIs, as Kafka checks them: each API refused
// with its error code while one ACL is missing, with no change to the
// transaction, then served once the ACL is granted.

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"

	"github.com/kspring/kspring/broker/internal/batch"
	"github.com/kspring/kspring/testkit"
)

// txnUnderACLs is one transactional id of a case: its producer id and
// epoch (from the super user's InitProducerId), topic and group.
type txnUnderACLs struct {
	id, topic, group string
	pid              int64
	epoch            int16
}

// initTxnAs gets a producer id for id as cl (routed to the coordinator).
func initTxnAs(t *testing.T, cl *kgo.Client, id string) (int64, int16) {
	t.Helper()
	var pid int64
	var epoch int16
	eventually(t, func() error {
		req := kmsg.NewPtrInitProducerIDRequest()
		req.TransactionalID, req.TransactionTimeoutMillis = &id, 60000
		resp, err := req.RequestWith(testCtx(t), cl)
		if err != nil {
			return err
		}
		pid, epoch = resp.ProducerID, resp.ProducerEpoch
		return kerr.ErrorForCode(resp.ErrorCode)
	})
	return pid, epoch
}

// addPartitionsV3 adds partition 0 of each topic to tx's transaction as cl
// and returns each partition's code, in order.
func addPartitionsV3(t *testing.T, cl *kgo.Broker, tx txnUnderACLs, topics ...string) []int16 {
	t.Helper()
	req := kmsg.NewPtrAddPartitionsToTxnRequest()
	req.Version = 3
	req.TransactionalID, req.ProducerID, req.ProducerEpoch = tx.id, tx.pid, tx.epoch
	for _, topic := range topics {
		rt := kmsg.NewAddPartitionsToTxnRequestTopic()
		rt.Topic, rt.Partitions = topic, []int32{0}
		req.Topics = append(req.Topics, rt)
	}
	resp, err := req.RequestWith(testCtx(t), cl)
	require.NoError(t, err)
	var codes []int16
	for _, rt := range resp.Topics {
		for _, rp := range rt.Partitions {
			codes = append(codes, rp.ErrorCode)
		}
	}
	require.Len(t, codes, len(topics))
	return codes
}

func describedTxn(t *testing.T, adm *kadm.Client, id string) kadm.DescribedTransaction {
	t.Helper()
	d, err := describeTxn(t, adm, id)
	require.NoError(t, err)
	return d
}

// requireOnlyPartition0 requires partition 0 of topic, and no other, in
// a described transaction's topics.
func requireOnlyPartition0(t *testing.T, topics kadm.TopicsSet, topic string) {
	t.Helper()
	require.Equal(t, map[int32]struct{}{0: {}}, topics[topic], "partitions of %s in the transaction", topic)
}

// txnV3 caps AddPartitionsToTxn at v3, as clients send it (kgo would send
// brokers' v4 to a broker that serves it).
func txnV3() kgo.Opt {
	v := kversion.Stable()
	v.SetMaxKeyVersion(24, 3)
	return kgo.MaxVersions(v)
}

func codes(errs ...*kerr.Error) []int16 {
	out := make([]int16, len(errs))
	for i, e := range errs {
		if e != nil {
			out[i] = e.Code
		}
	}
	return out
}

func TestACLsTransactionAPIsTable(t *testing.T) {
	t.Parallel()
	b, adm := aclBroker(t)
	super := securedClient(t, b, testkit.Admin, txnV3())
	alice := securedClient(t, b, alice, txnV3()).Broker(1) // straight to the one broker: no FindCoordinator
	ctx := testCtx(t)

	const (
		missID = iota
		missTopic
		missGroup
	)
	grant := func(tx txnUnderACLs, which int) *kadm.ACLBuilder {
		switch which {
		case missID:
			return kadm.NewACLs().Allow("User:alice").TransactionalIDs(tx.id).Operations(kadm.OpWrite)
		case missTopic:
			return kadm.NewACLs().Allow("User:alice").Topics(tx.topic).Operations(kadm.OpWrite)
		default:
			return kadm.NewACLs().Allow("User:alice").Groups(tx.group).Operations(kadm.OpRead)
		}
	}
	addOffsets := func(tx txnUnderACLs) []int16 {
		req := kmsg.NewPtrAddOffsetsToTxnRequest()
		req.TransactionalID, req.ProducerID, req.ProducerEpoch, req.Group = tx.id, tx.pid, tx.epoch, tx.group
		resp, err := req.RequestWith(ctx, alice)
		require.NoError(t, err)
		return []int16{resp.ErrorCode}
	}
	hasOffsets := func(d kadm.DescribedTransaction) bool {
		_, ok := d.Topics["__consumer_offsets"]
		return ok
	}
	for i, tc := range []struct {
		name    string
		missing int
		ongoing bool // the super user adds "orders" to the transaction first
		do      func(tx txnUnderACLs) []int16
		want    []int16
		// before is the transaction as refused, after as served.
		before, after func(t *testing.T, tx txnUnderACLs, d kadm.DescribedTransaction)
	}{{
		name: "AddPartitionsToTxn without Write on the id", missing: missID,
		do:   func(tx txnUnderACLs) []int16 { return addPartitionsV3(t, alice, tx, tx.topic, "orders") },
		want: codes(kerr.TransactionalIDAuthorizationFailed, kerr.TransactionalIDAuthorizationFailed),
		before: func(t *testing.T, _ txnUnderACLs, d kadm.DescribedTransaction) {
			require.Equal(t, "Empty", d.State)
			require.Empty(t, d.Topics)
		},
		after: func(t *testing.T, tx txnUnderACLs, d kadm.DescribedTransaction) {
			require.Equal(t, "Ongoing", d.State)
			requireOnlyPartition0(t, d.Topics, tx.topic)
			requireOnlyPartition0(t, d.Topics, "orders")
		},
	}, {
		name: "AddPartitionsToTxn without Write on a topic", missing: missTopic,
		do:   func(tx txnUnderACLs) []int16 { return addPartitionsV3(t, alice, tx, tx.topic, "orders") },
		want: codes(kerr.TopicAuthorizationFailed, kerr.OperationNotAttempted),
		before: func(t *testing.T, _ txnUnderACLs, d kadm.DescribedTransaction) {
			require.Equal(t, "Empty", d.State)
			require.Empty(t, d.Topics, "nothing added")
		},
		after: func(t *testing.T, tx txnUnderACLs, d kadm.DescribedTransaction) {
			requireOnlyPartition0(t, d.Topics, tx.topic)
			requireOnlyPartition0(t, d.Topics, "orders")
		},
	}, {
		name: "AddOffsetsToTxn without Write on the id", missing: missID,
		do: addOffsets, want: codes(kerr.TransactionalIDAuthorizationFailed),
		before: func(t *testing.T, _ txnUnderACLs, d kadm.DescribedTransaction) { require.False(t, hasOffsets(d)) },
		after:  func(t *testing.T, _ txnUnderACLs, d kadm.DescribedTransaction) { require.True(t, hasOffsets(d)) },
	}, {
		name: "AddOffsetsToTxn without Read on the group", missing: missGroup,
		do: addOffsets, want: codes(kerr.GroupAuthorizationFailed),
		before: func(t *testing.T, _ txnUnderACLs, d kadm.DescribedTransaction) { require.False(t, hasOffsets(d)) },
		after:  func(t *testing.T, _ txnUnderACLs, d kadm.DescribedTransaction) { require.True(t, hasOffsets(d)) },
	}, {
		name: "EndTxn without Write on the id", missing: missID, ongoing: true,
		do: func(tx txnUnderACLs) []int16 {
			req := kmsg.NewPtrEndTxnRequest()
			req.TransactionalID, req.ProducerID, req.ProducerEpoch, req.Commit = tx.id, tx.pid, tx.epoch, true
			resp, err := req.RequestWith(ctx, alice)
			require.NoError(t, err)
			return []int16{resp.ErrorCode}
		},
		want: codes(kerr.TransactionalIDAuthorizationFailed),
		before: func(t *testing.T, _ txnUnderACLs, d kadm.DescribedTransaction) {
			require.Equal(t, "Ongoing", d.State)
			requireOnlyPartition0(t, d.Topics, "orders")
		},
		after: func(t *testing.T, _ txnUnderACLs, d kadm.DescribedTransaction) {
			require.Contains(t, []string{"PrepareCommit", "CompleteCommit"}, d.State)
		},
	}, {
		name: "InitProducerId without Write on the id", missing: missID,
		do: func(tx txnUnderACLs) []int16 {
			req := kmsg.NewPtrInitProducerIDRequest()
			req.TransactionalID, req.TransactionTimeoutMillis = &tx.id, 60000
			resp, err := req.RequestWith(ctx, alice)
			require.NoError(t, err)
			return []int16{resp.ErrorCode}
		},
		want: codes(kerr.TransactionalIDAuthorizationFailed),
		before: func(t *testing.T, tx txnUnderACLs, d kadm.DescribedTransaction) {
			require.Equal(t, tx.epoch, d.ProducerEpoch, "the epoch is not bumped")
		},
		after: func(t *testing.T, tx txnUnderACLs, d kadm.DescribedTransaction) {
			require.Equal(t, tx.epoch+1, d.ProducerEpoch)
		},
	}, {
		name: "DescribeTransactions without Describe on the id", missing: missID,
		do: func(tx txnUnderACLs) []int16 {
			req := kmsg.NewPtrDescribeTransactionsRequest()
			req.TransactionalIDs = []string{tx.id}
			resp, err := req.RequestWith(ctx, alice)
			require.NoError(t, err)
			require.Len(t, resp.TransactionStates, 1)
			require.Equal(t, tx.id, resp.TransactionStates[0].TransactionalID)
			return []int16{resp.TransactionStates[0].ErrorCode}
		},
		want: codes(kerr.TransactionalIDAuthorizationFailed),
	}} {
		t.Run(tc.name, func(t *testing.T) {
			name := fmt.Sprintf("case-%d", i)
			tx := txnUnderACLs{id: "tx-" + name, topic: "t-" + name, group: "g-" + name}
			_, err := adm.CreateTopic(ctx, 1, 1, nil, tx.topic)
			require.NoError(t, err)
			tx.pid, tx.epoch = initTxnAs(t, super, tx.id)
			createACLs(t, adm, kadm.NewACLs().Allow("User:alice").Topics("orders").Operations(kadm.OpWrite))
			if tc.ongoing {
				requireCode(t, nil, addPartitionsV3(t, super.Broker(1), tx, "orders")[0])
			}
			for which := range 3 {
				if which != tc.missing {
					createACLs(t, adm, grant(tx, which))
				}
			}

			require.Equal(t, tc.want, tc.do(tx), "refused")
			if tc.before != nil {
				tc.before(t, tx, describedTxn(t, adm, tx.id))
			}

			createACLs(t, adm, grant(tx, tc.missing))
			got := tc.do(tx)
			require.Equal(t, make([]int16, len(got)), got, "granted")
			if tc.after != nil {
				tc.after(t, tx, describedTxn(t, adm, tx.id))
			}
		})
	}
}

// AddPartitionsToTxn v4 (KIP-890's batches) is for brokers: ClusterAction.
func TestACLsAddPartitionsToTxnV4(t *testing.T) {
	t.Parallel()
	b, adm := aclBroker(t)
	tx := txnUnderACLs{id: "tx-v4", topic: "orders"}
	tx.pid, tx.epoch = initTxnAs(t, securedClient(t, b, testkit.Admin), tx.id)
	cl := securedClient(t, b, alice).Broker(1)
	createACLs(t, adm, kadm.NewACLs().Allow("User:alice").TransactionalIDs(tx.id).Topics("orders").Operations(kadm.OpWrite))

	add := func(verify bool) *kmsg.AddPartitionsToTxnResponse {
		req := kmsg.NewPtrAddPartitionsToTxnRequest()
		req.Version = 4
		rtx := kmsg.NewAddPartitionsToTxnRequestTransaction()
		rtx.TransactionalID, rtx.ProducerID, rtx.ProducerEpoch, rtx.VerifyOnly = tx.id, tx.pid, tx.epoch, verify
		rt := kmsg.NewAddPartitionsToTxnRequestTransactionTopic()
		rt.Topic, rt.Partitions = "orders", []int32{0}
		rtx.Topics = append(rtx.Topics, rt)
		req.Transactions = append(req.Transactions, rtx)
		resp, err := req.RequestWith(testCtx(t), cl)
		require.NoError(t, err)
		return resp
	}
	for _, verify := range []bool{true, false} {
		r := add(verify)
		requireCode(t, kerr.ClusterAuthorizationFailed, r.ErrorCode, fmt.Sprint("VerifyOnly ", verify))
		require.Empty(t, r.Transactions)
	}
	require.Empty(t, describedTxn(t, adm, tx.id).Topics, "nothing added")

	createACLs(t, adm, kadm.NewACLs().Allow("User:alice").Clusters().Operations(kadm.OpClusterAction))
	r := add(false)
	requireCode(t, nil, r.ErrorCode)
	requireCode(t, nil, r.Transactions[0].Topics[0].Partitions[0].ErrorCode)
	r = add(true)
	requireCode(t, nil, r.Transactions[0].Topics[0].Partitions[0].ErrorCode, "verified: orders-0 is in the transaction")
	requireOnlyPartition0(t, describedTxn(t, adm, tx.id).Topics, "orders")
}

// A client may never add an internal topic's partition to a transaction
// (__consumer_offsets joins through AddOffsetsToTxn), even a super user.
func TestAddPartitionsToTxnRefusesInternalTopics(t *testing.T) {
	t.Parallel()
	b, adm := aclBroker(t)
	super := securedClient(t, b, testkit.Admin, txnV3())
	tx := txnUnderACLs{id: "tx-internal"}
	tx.pid, tx.epoch = initTxnAs(t, super, tx.id)
	got := addPartitionsV3(t, super.Broker(1), tx, "__consumer_offsets", "orders")
	require.Equal(t, codes(kerr.TopicAuthorizationFailed, kerr.OperationNotAttempted), got)
	require.Empty(t, describedTxn(t, adm, tx.id).Topics)
}

// DescribeTransactions leaves out the partitions of topics the principal
// may not describe; ListTransactions lists only describable ids.
func TestACLsListAndDescribeTransactions(t *testing.T) {
	t.Parallel()
	b, adm := aclBroker(t)
	super := securedClient(t, b, testkit.Admin, txnV3())
	ctx := testCtx(t)
	for _, id := range []string{"tx-seen", "tx-hidden"} {
		tx := txnUnderACLs{id: id}
		tx.pid, tx.epoch = initTxnAs(t, super, id)
		require.Equal(t, codes(nil, nil), addPartitionsV3(t, super.Broker(1), tx, "orders", "payments"))
	}
	createACLs(t, adm, kadm.NewACLs().Allow("User:alice").TransactionalIDs("tx-seen").Operations(kadm.OpDescribe))
	createACLs(t, adm, kadm.NewACLs().Allow("User:alice").Topics("orders").Operations(kadm.OpDescribe))
	aliceAdm := kadm.NewClient(securedClient(t, b, alice))

	listed, err := aliceAdm.ListTransactions(ctx, nil, nil)
	require.NoError(t, err)
	require.Equal(t, []string{"tx-seen"}, listed.TransactionalIDs())
	all, err := adm.ListTransactions(ctx, nil, nil)
	require.NoError(t, err)
	require.ElementsMatch(t, []string{"tx-seen", "tx-hidden"}, all.TransactionalIDs())

	req := kmsg.NewPtrDescribeTransactionsRequest()
	req.TransactionalIDs = []string{"tx-hidden", "tx-seen"}
	resp, err := req.RequestWith(ctx, securedClient(t, b, alice).Broker(1))
	require.NoError(t, err)
	require.Len(t, resp.TransactionStates, 2)
	hidden, seen := resp.TransactionStates[0], resp.TransactionStates[1]
	require.Equal(t, "tx-hidden", hidden.TransactionalID)
	requireCode(t, kerr.TransactionalIDAuthorizationFailed, hidden.ErrorCode)
	require.Empty(t, hidden.Topics)
	require.Equal(t, "tx-seen", seen.TransactionalID)
	requireCode(t, nil, seen.ErrorCode)
	require.Equal(t, "Ongoing", seen.State)
	require.Len(t, seen.Topics, 1, "payments is left out")
	require.Equal(t, "orders", seen.Topics[0].Topic)
}

// Transactional batches need Write on the transactional id the request
// carries; without one they are refused, or Write on a topic would let a
// principal write into any producer's transaction by its producer id.
func TestACLsProduceTransactionalBatches(t *testing.T) {
	t.Parallel()
	b, adm := aclBroker(t)
	tx := txnUnderACLs{id: "tx-produce"}
	tx.pid, tx.epoch = initTxnAs(t, securedClient(t, b, testkit.Admin), tx.id)
	createACLs(t, adm, kadm.NewACLs().Allow("User:alice").Topics("orders").Operations(kadm.OpWrite))
	cl := securedClient(t, b, alice).Broker(1)
	seq := int32(0)
	produce := func(id *string) int16 {
		recs := batch.Build(nil, 0, time.Now().UnixMilli(), values("in-txn"),
			batch.WithProducer(tx.pid, tx.epoch, seq), batch.WithTransactional())
		req := produceReq(9, -1, "orders", 0, recs)
		req.TransactionID = id
		resp, err := req.RequestWith(testCtx(t), cl)
		require.NoError(t, err)
		return resp.Topics[0].Partitions[0].ErrorCode
	}
	requireCode(t, kerr.TransactionalIDAuthorizationFailed, produce(nil), "no transactional id")
	requireCode(t, kerr.TransactionalIDAuthorizationFailed, produce(&tx.id), "no Write on it")
	require.Equal(t, int64(0), endOffset(t, b, "orders"), "nothing written")

	createACLs(t, adm, kadm.NewACLs().Allow("User:alice").TransactionalIDs(tx.id).Operations(kadm.OpWrite))
	requireCode(t, kerr.TransactionalIDAuthorizationFailed, produce(nil), "still no transactional id")
	requireCode(t, nil, produce(&tx.id))
	require.Equal(t, int64(1), endOffset(t, b, "orders"))
}

// An idempotent producer needs IdempotentWrite on the cluster or Write on
// any topic, existing or not (KIP-679): a prefixed ACL of topics not yet
// created is enough, a DENY of that prefix takes it back.
func TestACLsIdempotentProducerByResourceType(t *testing.T) {
	t.Parallel()
	b, adm := aclBroker(t)
	init := func() int16 {
		resp, err := kmsg.NewPtrInitProducerIDRequest().RequestWith(testCtx(t), securedClient(t, b, bob).Broker(1))
		require.NoError(t, err)
		return resp.ErrorCode
	}
	requireCode(t, kerr.ClusterAuthorizationFailed, init())
	createACLs(t, adm, kadm.NewACLs().Allow("User:bob").Topics("bob-").ResourcePatternType(kadm.ACLPatternPrefixed).Operations(kadm.OpWrite))
	requireCode(t, nil, init())
	createACLs(t, adm, kadm.NewACLs().Deny("User:bob").Topics("bo").ResourcePatternType(kadm.ACLPatternPrefixed).Operations(kadm.OpWrite))
	requireCode(t, kerr.ClusterAuthorizationFailed, init())
}
