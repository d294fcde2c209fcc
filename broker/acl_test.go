package broker_test

// ACLs end to end: authorizer.class.name on, deny by default, Kafka's
// error codes, nothing written when refused, and ACLs created and deleted
// with the admin APIs taking effect at once.

import (
	"context"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kspring/kspring/testkit"
)

// aclBroker starts a SASL/PLAIN broker with ACLs on; testkit.Admin is its
// super user.
func aclBroker(t *testing.T, opts ...testkit.Option) (*testkit.Broker, *kadm.Client) {
	t.Helper()
	b := testkit.NewBroker(t, append([]testkit.Option{
		testkit.WithSASL(testkit.PLAIN, alice, bob),
		testkit.WithProperty("authorizer.class.name", "org.apache.kafka.metadata.authorizer.StandardAuthorizer"),
		testkit.WithTopic("orders", 1, nil), testkit.WithTopic("payments", 1, nil),
	}, opts...)...)
	return b, kadm.NewClient(securedClient(t, b, testkit.Admin))
}

func createACLs(t *testing.T, adm *kadm.Client, b *kadm.ACLBuilder) {
	t.Helper()
	res, err := adm.CreateACLs(testCtx(t), b)
	require.NoError(t, err)
	for _, r := range res {
		require.NoError(t, r.Err)
	}
}

// produceRefused produces one record as cl and returns the record's error.
func produceRefused(t *testing.T, cl *kgo.Client, topic string) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(testCtx(t), 10*time.Second)
	defer cancel()
	err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: []byte("x")}).FirstErr()
	require.Error(t, err)
	return err
}

func TestACLsProduce(t *testing.T) {
	t.Parallel()
	b, adm := aclBroker(t)
	aliceCl := securedClient(t, b, alice, kgo.DisableIdempotentWrite())

	require.ErrorIs(t, produceRefused(t, aliceCl, "orders"), kerr.TopicAuthorizationFailed)
	cfg := secureSaramaConfig()
	saramaSASL(cfg, testkit.PLAIN, alice)
	p, err := sarama.NewSyncProducer([]string{b.Addr()}, cfg)
	require.NoError(t, err)
	defer p.Close()
	_, _, err = p.SendMessage(&sarama.ProducerMessage{Topic: "orders", Value: sarama.StringEncoder("s")})
	require.ErrorIs(t, err, sarama.ErrTopicAuthorizationFailed)
	_, err = kcatRun(t, "k\n", "-b", b.Addr(), "-X", "security.protocol=sasl_plaintext", "-X", "sasl.mechanisms=PLAIN",
		"-X", "sasl.username=alice", "-X", "sasl.password=alice-secret", "-P", "-t", "orders")
	require.Error(t, err, "kcat's produce is refused")
	require.Equal(t, int64(0), endOffset(t, b, "orders"), "nothing written")

	createACLs(t, adm, kadm.NewACLs().Allow("User:alice").Topics("orders").Operations(kadm.OpWrite))
	produceSync(t, aliceCl, &kgo.Record{Topic: "orders", Value: []byte("allowed")})
	_, _, err = p.SendMessage(&sarama.ProducerMessage{Topic: "orders", Value: sarama.StringEncoder("allowed")})
	require.NoError(t, err)
	require.Equal(t, int64(2), endOffset(t, b, "orders"))

	// Write on orders is not write on payments; bob has nothing.
	require.ErrorIs(t, produceRefused(t, aliceCl, "payments"), kerr.TopicAuthorizationFailed)
	require.ErrorIs(t, produceRefused(t, securedClient(t, b, bob, kgo.DisableIdempotentWrite()), "orders"), kerr.TopicAuthorizationFailed)

	// A DENY wins over the ALLOW.
	createACLs(t, adm, kadm.NewACLs().Deny("User:alice").Topics("orders").Operations(kadm.OpWrite))
	require.ErrorIs(t, produceRefused(t, securedClient(t, b, alice, kgo.DisableIdempotentWrite()), "orders"), kerr.TopicAuthorizationFailed)

	// DeleteAcls takes effect at once: without its ACLs alice is refused.
	deleted, err := adm.DeleteACLs(testCtx(t), kadm.NewACLs().Allow("User:alice").Deny("User:alice").AllowHosts().DenyHosts().
		Topics("orders").Operations(kadm.OpWrite).ResourcePatternType(kadm.ACLPatternLiteral))
	require.NoError(t, err)
	n := 0
	for _, d := range deleted {
		require.NoError(t, d.Err)
		n += len(d.Deleted)
	}
	require.Equal(t, 2, n)
	require.ErrorIs(t, produceRefused(t, securedClient(t, b, alice, kgo.DisableIdempotentWrite()), "orders"), kerr.TopicAuthorizationFailed)
	require.Equal(t, int64(2), endOffset(t, b, "orders"), "nothing more written")
}

func TestACLsConsumeAndGroups(t *testing.T) {
	t.Parallel()
	b, adm := aclBroker(t)
	produceSync(t, securedClient(t, b, testkit.Admin), &kgo.Record{Topic: "orders", Value: []byte("v")})
	cl := securedClient(t, b, alice)
	ctx := testCtx(t)

	topics, err := adm.ListTopics(ctx, "orders")
	require.NoError(t, err)
	topicID := topics["orders"].ID
	fetch := func() int16 {
		req := kmsg.NewPtrFetchRequest()
		req.MaxBytes, req.ReplicaID = 1<<20, -1
		rt := kmsg.NewFetchRequestTopic()
		rt.Topic, rt.TopicID = "orders", topicID
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.PartitionMaxBytes = 1 << 20
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		resp, err := req.RequestWith(ctx, cl.Broker(1))
		require.NoError(t, err)
		return resp.Topics[0].Partitions[0].ErrorCode
	}
	requireCode(t, kerr.TopicAuthorizationFailed, fetch())

	// Metadata leaves out the topics alice may not describe.
	md, err := kmsg.NewPtrMetadataRequest().RequestWith(ctx, cl)
	require.NoError(t, err)
	require.Empty(t, md.Topics)

	createACLs(t, adm, kadm.NewACLs().Allow("User:alice").Topics("orders").Operations(kadm.OpRead))
	requireCode(t, nil, fetch())
	mdReq := kmsg.NewPtrMetadataRequest()
	mdReq.IncludeTopicAuthorizedOperations = true
	md, err = mdReq.RequestWith(ctx, cl)
	require.NoError(t, err)
	require.Len(t, md.Topics, 1)
	require.Equal(t, "orders", *md.Topics[0].Topic)
	require.Equal(t, int32(1<<kmsg.ACLOperationRead|1<<kmsg.ACLOperationDescribe), md.Topics[0].AuthorizedOperations,
		"Read, and the Describe it implies")

	join := func() int16 {
		req := kmsg.NewPtrJoinGroupRequest()
		req.Version, req.Group, req.SessionTimeoutMillis, req.RebalanceTimeoutMillis = 5, "billing", 10000, 10000
		req.ProtocolType = "consumer"
		req.Protocols = []kmsg.JoinGroupRequestProtocol{{Name: "range", Metadata: []byte{0, 0, 0, 0, 0, 0}}}
		resp, err := req.RequestWith(ctx, cl.Broker(1)) // not routed through FindCoordinator
		require.NoError(t, err)
		return resp.ErrorCode
	}
	find := kmsg.NewPtrFindCoordinatorRequest()
	find.CoordinatorKey = "billing"
	fr, err := find.RequestWith(ctx, cl)
	require.NoError(t, err)
	requireCode(t, kerr.GroupAuthorizationFailed, fr.ErrorCode)
	requireCode(t, kerr.GroupAuthorizationFailed, join())

	commit := kmsg.NewPtrOffsetCommitRequest()
	commit.Version, commit.Group, commit.Generation = 7, "billing", -1
	ct := kmsg.NewOffsetCommitRequestTopic()
	ct.Topic = "orders"
	ct.Partitions = []kmsg.OffsetCommitRequestTopicPartition{{Partition: 0, Offset: 1}}
	commit.Topics = append(commit.Topics, ct)
	cr, err := commit.RequestWith(ctx, cl.Broker(1))
	require.NoError(t, err)
	requireCode(t, kerr.GroupAuthorizationFailed, cr.Topics[0].Partitions[0].ErrorCode)

	createACLs(t, adm, kadm.NewACLs().Allow("User:alice").Groups("bill").ResourcePatternType(kadm.ACLPatternPrefixed).Operations(kadm.OpRead))
	fr, err = find.RequestWith(ctx, cl)
	require.NoError(t, err)
	requireCode(t, nil, fr.ErrorCode)
	cr, err = commit.RequestWith(ctx, cl.Broker(1))
	require.NoError(t, err)
	requireCode(t, nil, cr.Topics[0].Partitions[0].ErrorCode)

	// A consumer group of alice reads the record end to end.
	consumer := securedClient(t, b, alice, kgo.ConsumeTopics("orders"), kgo.ConsumerGroup("billing-2"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	recs := pollN(t, consumer, 1)
	require.Equal(t, "v", string(recs[0].Value))
}

func TestACLsAdminAPIs(t *testing.T) {
	t.Parallel()
	b, adm := aclBroker(t)
	ctx := testCtx(t)
	aliceAdm := kadm.NewClient(securedClient(t, b, alice))

	// Without Alter on the cluster alice can neither create ACLs nor topics.
	res, err := aliceAdm.CreateACLs(ctx, kadm.NewACLs().Allow("User:alice").Topics("orders").Operations(kadm.OpAll))
	require.NoError(t, err)
	require.ErrorIs(t, res[0].Err, kerr.ClusterAuthorizationFailed)
	desc, err := aliceAdm.DescribeACLs(ctx, kadm.NewACLs().AnyResource().Operations(kadm.OpAny).Allow().Deny().AllowHosts().DenyHosts())
	require.NoError(t, err)
	require.ErrorIs(t, desc[0].Err, kerr.ClusterAuthorizationFailed)
	_, err = aliceAdm.CreateTopic(ctx, 1, 1, nil, "alice-topic")
	require.ErrorIs(t, err, kerr.TopicAuthorizationFailed)

	createACLs(t, adm, kadm.NewACLs().Allow("User:alice").Topics("alice-").ResourcePatternType(kadm.ACLPatternPrefixed).
		Operations(kadm.OpCreate, kadm.OpDescribe))
	ct, err := aliceAdm.CreateTopic(ctx, 1, 1, nil, "alice-topic")
	require.NoError(t, err)
	require.NoError(t, ct.Err)

	described, err := adm.DescribeACLs(ctx, kadm.NewACLs().AnyResource().ResourcePatternType(kadm.ACLPatternMatch).
		Operations(kadm.OpAny).Allow().Deny().AllowHosts().DenyHosts())
	require.NoError(t, err)
	require.NoError(t, described[0].Err)
	require.Len(t, described[0].Described, 2)

	// An idempotent producer needs IdempotentWrite on the cluster or Write
	// on some topic (a transactional one Write on its id: txn_acl_test.go).
	ir, err := kmsg.NewPtrInitProducerIDRequest().RequestWith(ctx, securedClient(t, b, bob))
	require.NoError(t, err)
	requireCode(t, kerr.ClusterAuthorizationFailed, ir.ErrorCode, "bob may write nowhere")
	createACLs(t, adm, kadm.NewACLs().Allow("User:bob").Clusters().Operations(kadm.OpIdempotentWrite))
	ir, err = kmsg.NewPtrInitProducerIDRequest().RequestWith(ctx, securedClient(t, b, bob))
	require.NoError(t, err)
	requireCode(t, nil, ir.ErrorCode)
}

// Over mutual TLS the principal is the certificate's subject.
func TestACLsMutualTLSPrincipal(t *testing.T) {
	t.Parallel()
	b := testkit.NewBroker(t, testkit.WithMutualTLS(), testkit.WithTopic("orders", 1, nil),
		testkit.WithProperty("authorizer.class.name", "kspring"))
	ca := b.CA()
	adm := kadm.NewClient(newKgo(t, b.Addr(), b.ClientOpts(testkit.User{})...))
	carol := newKgo(t, b.Addr(), kgo.DialTLSConfig(ca.ClientTLS(ca.Issue(t, "carol", time.Hour))), kgo.DisableIdempotentWrite())

	require.ErrorIs(t, produceRefused(t, carol, "orders"), kerr.TopicAuthorizationFailed)
	createACLs(t, adm, kadm.NewACLs().Allow("User:CN=carol,O=kspring").Topics("orders").Operations(kadm.OpWrite))
	produceSync(t, carol, &kgo.Record{Topic: "orders", Value: []byte("carol")})
	require.Equal(t, int64(1), endOffset(t, b, "orders"))
}

// The transaction APIs: TxnOffsetCommit needs Write on the transactional
// id and Read on the group; WriteTxnMarkers is for brokers (ClusterAction).
func TestACLsTransactionAPIs(t *testing.T) {
	t.Parallel()
	b, adm := aclBroker(t)
	ctx := testCtx(t)
	cl := securedClient(t, b, alice).Broker(1)

	commit := kmsg.NewPtrTxnOffsetCommitRequest()
	commit.TransactionalID, commit.Group, commit.ProducerID, commit.Generation = "tx-1", "billing", 1, -1
	ct := kmsg.NewTxnOffsetCommitRequestTopic()
	ct.Topic = "orders"
	ct.Partitions = []kmsg.TxnOffsetCommitRequestTopicPartition{{Partition: 0, Offset: 1}}
	commit.Topics = append(commit.Topics, ct)
	code := func() int16 {
		r, err := commit.RequestWith(ctx, cl)
		require.NoError(t, err)
		return r.Topics[0].Partitions[0].ErrorCode
	}
	requireCode(t, kerr.TransactionalIDAuthorizationFailed, code())
	createACLs(t, adm, kadm.NewACLs().Allow("User:alice").TransactionalIDs("tx-1").Operations(kadm.OpWrite))
	requireCode(t, kerr.GroupAuthorizationFailed, code())
	createACLs(t, adm, kadm.NewACLs().Allow("User:alice").Groups("billing").Operations(kadm.OpRead))
	requireCode(t, kerr.TopicAuthorizationFailed, code())

	markers := kmsg.NewPtrWriteTxnMarkersRequest()
	m := kmsg.NewWriteTxnMarkersRequestMarker()
	m.ProducerID, m.Topics = 1, []kmsg.WriteTxnMarkersRequestMarkerTopic{{Topic: "orders", Partitions: []int32{0}}}
	markers.Markers = append(markers.Markers, m)
	mr, err := markers.RequestWith(ctx, cl)
	require.NoError(t, err)
	requireCode(t, kerr.ClusterAuthorizationFailed, mr.Markers[0].Topics[0].Partitions[0].ErrorCode)
	require.Equal(t, int64(0), endOffset(t, b, "orders"), "no marker written")
}
