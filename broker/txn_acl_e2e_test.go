package broker_test

// Transactions on a secured cluster, end to end: a franz-go transactional
// producer as a SCRAM user holding exactly the ACLs Kafka's documentation
// lists for one, and a transaction across three brokers that log in to each
// other over SASL.

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	saslplain "github.com/twmb/franz-go/pkg/sasl/plain"

	"github.com/kspring/kspring/broker"
	"github.com/kspring/kspring/testkit"
)

// A consume-process-produce loop (kgo's GroupTransactSession) as alice,
// over SCRAM-SHA-512, with the ACLs Kafka's docs give a transactional
// producer (Write and Describe on the transactional id, Write on the
// output topic) and a consumer (Read on the group and the input topic),
// and nothing else: no IdempotentWrite, no cluster ACL.
func TestACLsTransactionalProducerSCRAM(t *testing.T) {
	t.Parallel()
	b := testkit.NewBroker(t, testkit.WithSASL(testkit.SCRAMSHA512, alice, bob),
		testkit.WithProperty("authorizer.class.name", "org.apache.kafka.metadata.authorizer.StandardAuthorizer"),
		testkit.WithTopic("cpp-in", 2, nil), testkit.WithTopic("cpp-out", 1, nil))
	admin := securedClient(t, b, testkit.Admin)
	adm := kadm.NewClient(admin)
	const n = 20
	for i := range n {
		produceSync(t, admin, &kgo.Record{Topic: "cpp-in", Key: []byte(strconv.Itoa(i)), Value: []byte("v" + strconv.Itoa(i))})
	}
	createACLs(t, adm, kadm.NewACLs().Allow("User:alice").TransactionalIDs("tx-cpp").Operations(kadm.OpWrite, kadm.OpDescribe))
	createACLs(t, adm, kadm.NewACLs().Allow("User:alice").Topics("cpp-out").Operations(kadm.OpWrite))
	createACLs(t, adm, kadm.NewACLs().Allow("User:alice").Topics("cpp-in").Groups("cpp").Operations(kadm.OpRead))

	sess, err := kgo.NewGroupTransactSession(append(b.ClientOpts(alice),
		kgo.SeedBrokers(b.Addr()),
		kgo.TransactionalID("tx-cpp"),
		kgo.TransactionTimeout(time.Minute),
		kgo.ConsumerGroup("cpp"),
		kgo.ConsumeTopics("cpp-in"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.DefaultProduceTopic("cpp-out"),
	)...)
	require.NoError(t, err)
	t.Cleanup(sess.Close)
	ctx := testCtx(t)
	transformInTransactions(t, sess, n)

	var want []string
	for i := range n {
		want = append(want, "out-v"+strconv.Itoa(i))
	}
	require.ElementsMatch(t, want, committedValues(t, b.Addr(), "cpp-out", 1, b.ClientOpts(testkit.Admin)...))
	offs, err := adm.FetchOffsets(ctx, "cpp")
	require.NoError(t, err)
	var total int64
	offs.Each(func(o kadm.OffsetResponse) { total += o.At })
	require.Equal(t, int64(n), total, "the consumed offsets were committed with the transactions")
}

// Without Write on the transactional id a transactional producer gets
// TRANSACTIONAL_ID_AUTHORIZATION_FAILED (with no ACL on it, already from
// FindCoordinator; with Describe only, from InitProducerId), and writes
// nothing.
func TestACLsTransactionalProducerRefused(t *testing.T) {
	t.Parallel()
	b := testkit.NewBroker(t, testkit.WithSASL(testkit.SCRAMSHA256, alice, bob),
		testkit.WithProperty("authorizer.class.name", "org.apache.kafka.metadata.authorizer.StandardAuthorizer"),
		testkit.WithTopic("txn-out", 1, nil))
	adm := kadm.NewClient(securedClient(t, b, testkit.Admin))
	createACLs(t, adm, kadm.NewACLs().Allow("User:bob").Topics("txn-out").Operations(kadm.OpWrite))

	for _, tc := range []struct {
		name  string
		grant *kadm.ACLBuilder
	}{
		{"no ACL on the id", nil},
		{"Describe only", kadm.NewACLs().Allow("User:bob").TransactionalIDs("tx-bob").Operations(kadm.OpDescribe)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.grant != nil {
				createACLs(t, adm, tc.grant)
			}
			cl := securedClient(t, b, bob, kgo.TransactionalID("tx-bob"), kgo.DefaultProduceTopic("txn-out"))
			// kgo asks for its producer id at once: Begin or the produce fails.
			err := cl.BeginTransaction()
			if err == nil {
				ctx, cancel := context.WithTimeout(testCtx(t), 10*time.Second)
				defer cancel()
				err = cl.ProduceSync(ctx, &kgo.Record{Value: []byte("x")}).FirstErr()
			}
			require.ErrorIs(t, err, kerr.TransactionalIDAuthorizationFailed)
			require.Equal(t, int64(0), endOffset(t, b, "txn-out"), "nothing written")
		})
	}
}

// saslInterBrokerACLs is saslInterBroker with ACLs on: the brokers' own
// principal, User:broker, is the super user (so it may send
// WriteTxnMarkers, which needs ClusterAction).
func saslInterBrokerACLs(c *broker.Config) {
	saslInterBroker("broker-secret")(c)
	for k, v := range map[string]string{
		"authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
		"super.users":           "User:broker",
	} {
		if err := c.Set(k, v); err != nil {
			panic(err)
		}
	}
}

// TestTransactionsSASLInterBroker: three brokers that log in to each other
// over SASL, with ACLs on; a transaction of alice's (holding the ACLs of a
// transactional producer only) spans partitions led by each broker, so the
// coordinator writes markers to the other two over the SASL listener, as
// the broker principal. Aborted, none of it is visible read_committed;
// committed, all of it.
func TestTransactionsSASLInterBroker(t *testing.T) {
	t.Parallel()
	c := startCluster(t, 3, saslInterBrokerACLs)
	aliceLogin := kgo.SASL(saslplain.Auth{User: "alice", Pass: "alice-secret"}.AsMechanism())
	super := newKgo(t, c.Bootstrap(), kgo.SASL(saslplain.Auth{User: "broker", Pass: "broker-secret"}.AsMechanism()))

	req := kmsg.NewPtrCreateTopicsRequest()
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = "spread", -1, -1
	for i, id := range c.IDs() {
		a := kmsg.NewCreateTopicsRequestTopicReplicaAssignment()
		a.Partition, a.Replicas = int32(i), []int32{id}
		rt.ReplicaAssignment = append(rt.ReplicaAssignment, a)
	}
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(testCtx(t), super)
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
	require.Len(t, leaders, 3, "each partition led by another broker")
	require.NoError(t, c.SyncMetadata(testCtx(t)))

	adm := kadm.NewClient(super)
	createACLs(t, adm, kadm.NewACLs().Allow("User:alice").TransactionalIDs("tx-spread").Operations(kadm.OpWrite, kadm.OpDescribe))
	createACLs(t, adm, kadm.NewACLs().Allow("User:alice").Topics("spread").Operations(kadm.OpWrite, kadm.OpRead))
	require.NoError(t, c.SyncMetadata(testCtx(t)))

	cl := kgoTxnProducer(t, c.Bootstrap(), "tx-spread", "spread", aliceLogin)
	for _, commit := range []kgo.TransactionEndTry{kgo.TryAbort, kgo.TryCommit} {
		require.NoError(t, cl.BeginTransaction())
		for p := range int32(3) {
			produceSync(t, cl, &kgo.Record{Partition: p, Value: fmt.Appendf(nil, "%v-%d", bool(commit), p)})
		}
		require.NoError(t, cl.EndTransaction(testCtx(t), commit))
	}
	got := committedValues(t, c.Bootstrap(), "spread", 3, aliceLogin)
	require.ElementsMatch(t, []string{"true-0", "true-1", "true-2"}, got)
	eventually(t, func() error { // the markers are written before CompleteCommit is
		d, err := describeTxn(t, adm, "tx-spread")
		if err == nil && d.State != "CompleteCommit" {
			err = fmt.Errorf("tx-spread is %s", d.State)
		}
		return err
	})
}

// kcat (librdkafka) as a transactional producer over SASL/PLAIN (its
// SCRAM is TestSASL's): refused
// without Write on its transactional id, nothing written; with the ACLs of
// Kafka's docs its input is one committed transaction.
func TestACLsTransactionalProducerKcat(t *testing.T) {
	t.Parallel()
	b := testkit.NewBroker(t, testkit.WithSASL(testkit.PLAIN, alice),
		testkit.WithProperty("authorizer.class.name", "org.apache.kafka.metadata.authorizer.StandardAuthorizer"),
		testkit.WithTopic("kcat-acl", 1, nil))
	adm := kadm.NewClient(securedClient(t, b, testkit.Admin))
	createACLs(t, adm, kadm.NewACLs().Allow("User:alice").Topics("kcat-acl").Operations(kadm.OpWrite))
	args := []string{"-P", "-b", b.Addr(), "-t", "kcat-acl", "-p", "0", "-X", "transactional.id=tx-kcat-acl",
		"-X", "security.protocol=sasl_plaintext", "-X", "sasl.mechanisms=PLAIN",
		"-X", "sasl.username=alice", "-X", "sasl.password=alice-secret"}

	out, err := kcatRun(t, "refused\n", args...)
	require.Error(t, err, "kcat without Write on its transactional id: %s", out)
	require.Contains(t, out, "Transactional Id authorization failed")
	require.Equal(t, int64(0), endOffset(t, b, "kcat-acl"), "nothing written")

	createACLs(t, adm, kadm.NewACLs().Allow("User:alice").TransactionalIDs("tx-kcat-acl").Operations(kadm.OpWrite, kadm.OpDescribe))
	out, err = kcatRun(t, "a\nb\n", args...)
	require.NoError(t, err, out)
	require.Equal(t, []string{"a", "b"}, committedValues(t, b.Addr(), "kcat-acl", 1, b.ClientOpts(testkit.Admin)...))
}
