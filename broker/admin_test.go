package broker_test

// Admin APIs against a real broker over TCP, with franz-go's kadm, sarama's
// ClusterAdmin and raw requests pinned to each version: DeleteTopics,
// CreatePartitions, DescribeConfigs, IncrementalAlterConfigs, AlterConfigs,
// DescribeCluster, DeleteRecords and OffsetForLeaderEpoch.

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kspring/kspring/broker"
)

// ---- helpers ----

// startAdminBroker starts a broker on a free port in a temporary directory.
func startAdminBroker(t *testing.T, opts ...func(*broker.Config)) *broker.Broker {
	t.Helper()
	cfg := broker.DefaultConfig()
	cfg.Listeners = []string{"PLAINTEXT://127.0.0.1:0"}
	cfg.LogDirs = []string{t.TempDir()}
	for _, o := range opts {
		o(&cfg)
	}
	b, err := broker.New(cfg)
	require.NoError(t, err)
	require.NoError(t, b.Start(adminCtx(t)))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		require.NoError(t, b.Close(ctx))
	})
	return b
}

// adminCtx bounds one test.
func adminCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func adminKgo(t *testing.T, b *broker.Broker, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(b.Addr()), kgo.MetadataMinAge(10 * time.Millisecond)}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(cl.Close)
	return cl
}

func adminKadm(t *testing.T, b *broker.Broker) *kadm.Client {
	t.Helper()
	return kadm.NewClient(adminKgo(t, b))
}

func adminSarama(t *testing.T, b *broker.Broker, v sarama.KafkaVersion) sarama.ClusterAdmin {
	t.Helper()
	cfg := sarama.NewConfig()
	cfg.Version = v
	cfg.Admin.Timeout = 10 * time.Second
	adm, err := sarama.NewClusterAdmin([]string{b.Addr()}, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = adm.Close() })
	return adm
}

// adminSaramaCode returns the Kafka error code in a sarama error, 0 for nil.
func adminSaramaCode(t *testing.T, err error) int16 {
	t.Helper()
	if err == nil {
		return 0
	}
	var ke sarama.KError
	require.True(t, errors.As(err, &ke), "not a Kafka error: %v", err)
	return int16(ke)
}

// adminWant returns the code of an expected error, 0 for none.
func adminWant(e *kerr.Error) int16 {
	if e == nil {
		return 0
	}
	return e.Code
}

// adminCode returns the code of a kerr error, 0 for nil.
func adminCode(e error) int16 {
	var ke *kerr.Error
	if errors.As(e, &ke) {
		return ke.Code
	}
	if e != nil {
		return -1
	}
	return 0
}

func adminCreateTopic(t *testing.T, adm *kadm.Client, topic string, partitions int32, configs map[string]string) kadm.CreateTopicResponse {
	t.Helper()
	cfgs := map[string]*string{}
	for k, v := range configs {
		cfgs[k] = kadm.StringPtr(v)
	}
	resp, err := adm.CreateTopic(adminCtx(t), partitions, 1, cfgs, topic)
	require.NoError(t, err)
	return resp
}

// adminProduce writes each value as its own batch to one partition and
// returns the records with their offsets.
func adminProduce(t *testing.T, b *broker.Broker, topic string, partition int32, values ...string) []*kgo.Record {
	t.Helper()
	cl := adminKgo(t, b, kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.DisableIdempotentWrite())
	var out []*kgo.Record
	for _, v := range values {
		r := &kgo.Record{Topic: topic, Partition: partition, Key: []byte("k-" + v), Value: []byte(v)}
		require.NoError(t, cl.ProduceSync(adminCtx(t), r).FirstErr())
		out = append(out, r)
	}
	return out
}

// adminConsume reads n records of one partition from its start.
func adminConsume(t *testing.T, b *broker.Broker, topic string, partition int32, n int) []*kgo.Record {
	t.Helper()
	cl := adminKgo(t, b, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{
		topic: {partition: kgo.NewOffset().AtStart()},
	}))
	ctx := adminCtx(t)
	var out []*kgo.Record
	for len(out) < n {
		fs := cl.PollFetches(ctx)
		require.NoError(t, ctx.Err(), "consumed %d of %d records", len(out), n)
		for _, e := range fs.Errors() {
			require.NoError(t, e.Err, "fetch %s/%d", e.Topic, e.Partition)
		}
		out = append(out, fs.Records()...)
	}
	return out
}

// adminRequest sends req at exactly its version on a fresh connection and
// returns the decoded response.
func adminRequest[R kmsg.Response](t *testing.T, b *broker.Broker, req kmsg.Request) R {
	t.Helper()
	ctx := adminCtx(t)
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", b.Addr())
	require.NoError(t, err)
	defer nc.Close()
	deadline, _ := ctx.Deadline()
	require.NoError(t, nc.SetDeadline(deadline))
	_, err = nc.Write(kmsg.NewRequestFormatter(kmsg.FormatterClientID("admin-test")).AppendRequest(nil, req, 7))
	require.NoError(t, err)
	var size [4]byte
	_, err = io.ReadFull(nc, size[:])
	require.NoError(t, err, "key %d v%d: no response", req.Key(), req.GetVersion())
	frame := make([]byte, binary.BigEndian.Uint32(size[:]))
	_, err = io.ReadFull(nc, frame)
	require.NoError(t, err)
	rd := kbin.Reader{Src: frame}
	require.Equal(t, int32(7), rd.Int32(), "correlation id")
	if req.IsFlexible() {
		kmsg.SkipTags(&rd)
	}
	resp := req.ResponseKind()
	resp.SetVersion(req.GetVersion())
	require.NoError(t, resp.ReadFrom(rd.Src), "decode key %d v%d", req.Key(), req.GetVersion())
	r, ok := resp.(R)
	require.True(t, ok, "response type %T", resp)
	return r
}

// adminTopicConfigs describes a topic's configs with kadm, by key.
func adminTopicConfigs(t *testing.T, adm *kadm.Client, topic string) map[string]kadm.Config {
	t.Helper()
	rcs, err := adm.DescribeTopicConfigs(adminCtx(t), topic)
	require.NoError(t, err)
	rc, err := rcs.On(topic, nil)
	require.NoError(t, err)
	require.NoError(t, rc.Err)
	out := map[string]kadm.Config{}
	for _, c := range rc.Configs {
		out[c.Key] = c
	}
	return out
}

func adminValue(t *testing.T, c kadm.Config) string {
	t.Helper()
	require.NotNil(t, c.Value, "config %s has no value", c.Key)
	return *c.Value
}

// adminMetadata asks for the named topics (all if none) without creating any.
func adminMetadata(t *testing.T, b *broker.Broker, topics ...string) *kmsg.MetadataResponse {
	t.Helper()
	req := kmsg.NewPtrMetadataRequest()
	req.Version = 9
	for _, topic := range topics {
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = kmsg.StringPtr(topic)
		req.Topics = append(req.Topics, rt)
	}
	return adminRequest[*kmsg.MetadataResponse](t, b, req)
}

// adminPartitions returns the partition count of a topic.
func adminPartitions(t *testing.T, b *broker.Broker, topic string) int {
	t.Helper()
	md := adminMetadata(t, b, topic)
	require.Len(t, md.Topics, 1)
	require.Zero(t, md.Topics[0].ErrorCode, "topic %q: %v", topic, kerr.ErrorForCode(md.Topics[0].ErrorCode))
	return len(md.Topics[0].Partitions)
}

// adminTopicExists reports whether the broker lists the topic.
func adminTopicExists(t *testing.T, b *broker.Broker, topic string) bool {
	t.Helper()
	for _, mt := range adminMetadata(t, b).Topics {
		if mt.Topic != nil && *mt.Topic == topic {
			return true
		}
	}
	return false
}

func adminStartOffset(t *testing.T, adm *kadm.Client, topic string, partition int32) int64 {
	t.Helper()
	lo, err := adm.ListStartOffsets(adminCtx(t), topic)
	require.NoError(t, err)
	o, ok := lo.Lookup(topic, partition)
	require.True(t, ok)
	require.NoError(t, o.Err)
	return o.Offset
}

// adminEnsureOffsetsTopic has the broker create __consumer_offsets the way
// a client does, by looking for a group coordinator.
func adminEnsureOffsetsTopic(t *testing.T, adm *kadm.Client) {
	t.Helper()
	adminEventually(t, func() error {
		_ = adm.FindGroupCoordinators(adminCtx(t), "admin-group")
		listed, err := adm.ListTopicsWithInternal(adminCtx(t))
		if err != nil {
			return err
		}
		if !listed.Has("__consumer_offsets") {
			return errors.New("__consumer_offsets does not exist")
		}
		return nil
	})
}

// adminEventually polls fn until it succeeds, for at most 20s.
func adminEventually(t *testing.T, fn func() error) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		err := fn()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("condition not met: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ---- DeleteTopics ----

func TestAdminDeleteTopicThenRecreate(t *testing.T) {
	b := startAdminBroker(t)
	adm := adminKadm(t, b)
	ctx := adminCtx(t)
	created := adminCreateTopic(t, adm, "orders", 2, map[string]string{"retention.ms": "1000000"})
	adminProduce(t, b, "orders", 0, "a", "b", "c")

	resp, err := adm.DeleteTopic(ctx, "orders")
	require.NoError(t, err)
	require.Equal(t, created.ID, resp.ID, "the response names the deleted topic's id")

	require.False(t, adminTopicExists(t, b, "orders"), "deleted topic still listed")
	rcs, err := adm.DescribeTopicConfigs(ctx, "orders")
	require.NoError(t, err)
	require.ErrorIs(t, rcs[0].Err, kerr.UnknownTopicOrPartition)

	recreated := adminCreateTopic(t, adm, "orders", 1, nil)
	require.NotEqual(t, created.ID, recreated.ID, "a recreated topic gets a new id")
	require.Equal(t, 1, adminPartitions(t, b, "orders"))
	ends, err := adm.ListEndOffsets(ctx, "orders")
	require.NoError(t, err)
	end, _ := ends.Lookup("orders", 0)
	require.Equal(t, int64(0), end.Offset, "the recreated topic starts empty")
	require.NotEqual(t, kadm.StringPtr("1000000"), adminTopicConfigs(t, adm, "orders")["retention.ms"].Value)
	require.Equal(t, kmsg.ConfigSourceStaticBrokerConfig, adminTopicConfigs(t, adm, "orders")["retention.ms"].Source,
		"the old topic's overrides are gone")

	adminProduce(t, b, "orders", 0, "d")
	got := adminConsume(t, b, "orders", 0, 1)
	require.Equal(t, "d", string(got[0].Value))
	require.Equal(t, int64(0), got[0].Offset)
}

func TestAdminDeleteTopicsErrors(t *testing.T) {
	b := startAdminBroker(t)
	adm := adminKadm(t, b)
	adminEnsureOffsetsTopic(t, adm)

	type topicReq struct {
		name *string
		id   [16]byte
	}
	name := func(s string) topicReq { return topicReq{name: &s} }
	byID := func(topic string) topicReq {
		return topicReq{id: adminCreateTopic(t, adm, topic, 1, nil).ID}
	}
	tests := []struct {
		name     string
		versions []int16
		topics   func(v int16) []topicReq
		want     []*kerr.Error // per topic, nil for success
	}{
		{"unknown name", []int16{0, 1, 2, 3, 4, 5, 6},
			func(int16) []topicReq { return []topicReq{name("nope")} }, []*kerr.Error{kerr.UnknownTopicOrPartition}},
		{"existing name", []int16{0, 1, 2, 3, 4, 5, 6},
			func(v int16) []topicReq {
				n := "del-v" + strconv.Itoa(int(v))
				adminCreateTopic(t, adm, n, 1, nil)
				return []topicReq{name(n)}
			}, []*kerr.Error{nil}},
		{"internal topic", []int16{0, 3, 6},
			func(int16) []topicReq { return []topicReq{name("__consumer_offsets")} }, []*kerr.Error{kerr.InvalidTopicException}},
		{"name twice", []int16{1, 6},
			func(v int16) []topicReq {
				n := "twice-v" + strconv.Itoa(int(v))
				adminCreateTopic(t, adm, n, 1, nil)
				return []topicReq{name(n), name(n)}
			}, []*kerr.Error{kerr.InvalidRequest, kerr.InvalidRequest}},
		{"by id", []int16{6},
			func(int16) []topicReq { return []topicReq{byID("by-id")} }, []*kerr.Error{nil}},
		{"unknown id", []int16{6},
			func(int16) []topicReq { return []topicReq{{id: [16]byte{1, 2, 3}}} }, []*kerr.Error{kerr.UnknownTopicID}},
		{"name and id", []int16{6},
			func(int16) []topicReq {
				r := byID("name-and-id")
				n := "name-and-id"
				r.name = &n
				return []topicReq{r}
			}, []*kerr.Error{kerr.InvalidRequest}},
		{"neither name nor id", []int16{6},
			func(int16) []topicReq { return []topicReq{{}} }, []*kerr.Error{kerr.InvalidRequest}},
	}
	for _, tt := range tests {
		for _, v := range tt.versions {
			t.Run(fmt.Sprintf("%s/v%d", tt.name, v), func(t *testing.T) {
				topics := tt.topics(v)
				req := kmsg.NewPtrDeleteTopicsRequest()
				req.Version = v
				req.TimeoutMillis = 5000
				for _, tr := range topics {
					if v < 6 {
						req.TopicNames = append(req.TopicNames, *tr.name)
						continue
					}
					rt := kmsg.NewDeleteTopicsRequestTopic()
					rt.Topic, rt.TopicID = tr.name, tr.id
					req.Topics = append(req.Topics, rt)
				}
				resp := adminRequest[*kmsg.DeleteTopicsResponse](t, b, req)
				require.Len(t, resp.Topics, len(tt.want))
				for i, want := range tt.want {
					st := resp.Topics[i]
					if want == nil {
						require.Zero(t, st.ErrorCode, "topic %d: %v", i, kerr.ErrorForCode(st.ErrorCode))
						require.NotNil(t, st.Topic)
						if v >= 6 {
							require.NotEqual(t, [16]byte{}, st.TopicID)
						}
						require.False(t, adminTopicExists(t, b, *st.Topic), "topic %q still exists", *st.Topic)
						continue
					}
					require.Equal(t, want.Code, st.ErrorCode, "topic %d: got %v", i, kerr.ErrorForCode(st.ErrorCode))
					if v >= 5 {
						require.NotNil(t, st.ErrorMessage, "v5+ explains the error")
					}
				}
			})
		}
	}
	require.True(t, adminTopicExists(t, b, "__consumer_offsets"), "the internal topic survives")
}

func TestAdminDeleteTopicsDisabled(t *testing.T) {
	b := startAdminBroker(t, func(c *broker.Config) { c.DeleteTopicEnable = false })
	adm := adminKadm(t, b)
	adminCreateTopic(t, adm, "keep", 1, nil)

	for v := int16(0); v <= 6; v++ {
		t.Run(fmt.Sprintf("v%d", v), func(t *testing.T) {
			req := kmsg.NewPtrDeleteTopicsRequest()
			req.Version = v
			req.TopicNames = []string{"keep"}
			rt := kmsg.NewDeleteTopicsRequestTopic()
			rt.Topic = kmsg.StringPtr("keep")
			req.Topics = []kmsg.DeleteTopicsRequestTopic{rt}
			resp := adminRequest[*kmsg.DeleteTopicsResponse](t, b, req)
			require.Len(t, resp.Topics, 1)
			want := kerr.TopicDeletionDisabled
			if v < 3 {
				want = kerr.InvalidRequest
			}
			require.Equal(t, want.Code, resp.Topics[0].ErrorCode, "got %v", kerr.ErrorForCode(resp.Topics[0].ErrorCode))
		})
	}
	for _, tt := range []struct {
		version sarama.KafkaVersion
		want    *kerr.Error
	}{
		{sarama.V2_0_0_0, kerr.InvalidRequest},
		{sarama.V2_1_0_0, kerr.TopicDeletionDisabled},
		{sarama.V2_8_0_0, kerr.TopicDeletionDisabled},
	} {
		t.Run("sarama "+tt.version.String(), func(t *testing.T) {
			err := adminSarama(t, b, tt.version).DeleteTopic("keep")
			require.Equal(t, tt.want.Code, adminSaramaCode(t, err), "got %v", err)
		})
	}
	require.Equal(t, 1, adminPartitions(t, b, "keep"), "the topic is still there")
}

func TestAdminDeleteTopicSarama(t *testing.T) {
	b := startAdminBroker(t)
	adm := adminKadm(t, b)
	for _, v := range []sarama.KafkaVersion{sarama.V0_11_0_0, sarama.V2_1_0_0, sarama.V2_8_0_0, sarama.MaxVersion} {
		t.Run(v.String(), func(t *testing.T) {
			topic := "sarama-del-" + strings.ReplaceAll(v.String(), ".", "-")
			adminCreateTopic(t, adm, topic, 1, nil)
			sa := adminSarama(t, b, v)
			require.NoError(t, sa.DeleteTopic(topic))
			err := sa.DeleteTopic(topic)
			require.Equal(t, kerr.UnknownTopicOrPartition.Code, adminSaramaCode(t, err), "got %v", err)
		})
	}
}

// ---- CreatePartitions ----

func TestAdminCreatePartitions(t *testing.T) {
	b := startAdminBroker(t)
	adm := adminKadm(t, b)
	adminEnsureOffsetsTopic(t, adm)

	tests := []struct {
		name         string
		count        int32
		assignment   [][]int32
		validateOnly bool
		topic        string // default: a new topic with 1 partition
		want         *kerr.Error
		wantCount    int
	}{
		{name: "grow", count: 3, wantCount: 3},
		{name: "grow by one", count: 2, wantCount: 2},
		{name: "validate only", count: 4, validateOnly: true, wantCount: 1},
		{name: "same count", count: 1, want: kerr.InvalidPartitions, wantCount: 1},
		{name: "shrink", count: 0, want: kerr.InvalidPartitions, wantCount: 1},
		{name: "unknown topic", count: 2, topic: "no-such-topic", want: kerr.UnknownTopicOrPartition},
		{name: "internal topic", count: 60, topic: "__consumer_offsets", want: kerr.InvalidRequest},
		{name: "manual assignment", count: 3, assignment: [][]int32{{1}, {1}}, wantCount: 3},
		{name: "assignment validate only", count: 3, assignment: [][]int32{{1}, {1}}, validateOnly: true, wantCount: 1},
		{name: "assignment to unknown broker", count: 2, assignment: [][]int32{{2}}, want: kerr.InvalidReplicaAssignment, wantCount: 1},
		{name: "too few assignments", count: 3, assignment: [][]int32{{1}}, want: kerr.InvalidReplicaAssignment, wantCount: 1},
		{name: "too many assignments", count: 2, assignment: [][]int32{{1}, {1}}, want: kerr.InvalidReplicaAssignment, wantCount: 1},
		{name: "empty replica list", count: 2, assignment: [][]int32{{}}, want: kerr.InvalidReplicaAssignment, wantCount: 1},
		{name: "broker twice", count: 2, assignment: [][]int32{{1, 1}}, want: kerr.InvalidReplicaAssignment, wantCount: 1},
	}
	for i, tt := range tests {
		for v := int16(0); v <= 3; v++ {
			t.Run(fmt.Sprintf("%s/v%d", tt.name, v), func(t *testing.T) {
				topic := tt.topic
				if topic == "" {
					topic = fmt.Sprintf("cp-%d-v%d", i, v)
					adminCreateTopic(t, adm, topic, 1, nil)
				}
				req := kmsg.NewPtrCreatePartitionsRequest()
				req.Version = v
				req.ValidateOnly = tt.validateOnly
				rt := kmsg.NewCreatePartitionsRequestTopic()
				rt.Topic, rt.Count = topic, tt.count
				for _, a := range tt.assignment {
					ra := kmsg.NewCreatePartitionsRequestTopicAssignment()
					ra.Replicas = a
					rt.Assignment = append(rt.Assignment, ra)
				}
				req.Topics = append(req.Topics, rt)
				resp := adminRequest[*kmsg.CreatePartitionsResponse](t, b, req)
				require.Len(t, resp.Topics, 1)
				st := resp.Topics[0]
				require.Equal(t, topic, st.Topic)
				if tt.want == nil {
					require.Zero(t, st.ErrorCode, "got %v: %v", kerr.ErrorForCode(st.ErrorCode), st.ErrorMessage)
				} else {
					require.Equal(t, tt.want.Code, st.ErrorCode, "got %v", kerr.ErrorForCode(st.ErrorCode))
					require.NotNil(t, st.ErrorMessage)
				}
				if tt.wantCount > 0 {
					require.Equal(t, tt.wantCount, adminPartitions(t, b, topic))
				}
			})
		}
	}

	t.Run("duplicate topic", func(t *testing.T) {
		adminCreateTopic(t, adm, "cp-dup", 1, nil)
		req := kmsg.NewPtrCreatePartitionsRequest()
		for range 2 {
			rt := kmsg.NewCreatePartitionsRequestTopic()
			rt.Topic, rt.Count = "cp-dup", 2
			req.Topics = append(req.Topics, rt)
		}
		resp := adminRequest[*kmsg.CreatePartitionsResponse](t, b, req)
		for _, st := range resp.Topics {
			require.Equal(t, kerr.InvalidRequest.Code, st.ErrorCode)
		}
		require.Equal(t, 1, adminPartitions(t, b, "cp-dup"))
	})
}

func TestAdminNewPartitionsAreWritable(t *testing.T) {
	b := startAdminBroker(t)
	adm := adminKadm(t, b)
	adminCreateTopic(t, adm, "grow", 1, nil)
	rs, err := adm.CreatePartitions(adminCtx(t), 2, "grow")
	require.NoError(t, err)
	require.NoError(t, rs.Error())
	require.Equal(t, 3, adminPartitions(t, b, "grow"))

	recs := adminProduce(t, b, "grow", 2, "x", "y")
	require.Equal(t, int64(1), recs[1].Offset)
	got := adminConsume(t, b, "grow", 2, 2)
	require.Equal(t, "x", string(got[0].Value))

	// sarama at the versions that send v0 to v3.
	sizes := int32(3)
	for _, v := range []sarama.KafkaVersion{sarama.V1_0_0_0, sarama.V2_0_0_0, sarama.V2_5_0_0, sarama.V2_7_0_0} {
		t.Run(v.String(), func(t *testing.T) {
			sa := adminSarama(t, b, v)
			err := sa.CreatePartitions("grow", sizes, nil, false)
			require.Equal(t, kerr.InvalidPartitions.Code, adminSaramaCode(t, err), "same count: %v", err)
			sizes++
			require.NoError(t, sa.CreatePartitions("grow", sizes, [][]int32{{1}}, false))
			require.Equal(t, int(sizes), adminPartitions(t, b, "grow"))
			require.NoError(t, sa.CreatePartitions("grow", sizes+5, nil, true), "validate only")
			require.Equal(t, int(sizes), adminPartitions(t, b, "grow"))
		})
	}
}

// ---- DescribeConfigs ----

func TestAdminDescribeTopicConfigs(t *testing.T) {
	b := startAdminBroker(t)
	adm := adminKadm(t, b)
	adminCreateTopic(t, adm, "described", 1, map[string]string{"retention.ms": "3600000", "cleanup.policy": "compact"})
	cfgs := adminTopicConfigs(t, adm, "described")

	for _, key := range []string{"retention.ms", "retention.bytes", "segment.bytes", "segment.ms", "cleanup.policy",
		"max.message.bytes", "message.timestamp.type", "min.insync.replicas"} {
		require.Contains(t, cfgs, key)
	}
	tests := []struct {
		key      string
		value    string
		source   kmsg.ConfigSource
		synonyms []kadm.ConfigSynonym
	}{
		{"retention.ms", "3600000", kmsg.ConfigSourceDynamicTopicConfig, []kadm.ConfigSynonym{
			{Key: "retention.ms", Value: kadm.StringPtr("3600000"), Source: kmsg.ConfigSourceDynamicTopicConfig},
			{Key: "log.retention.ms", Value: kadm.StringPtr("604800000"), Source: kmsg.ConfigSourceStaticBrokerConfig},
			{Key: "log.retention.ms", Value: kadm.StringPtr("604800000"), Source: kmsg.ConfigSourceDefaultConfig},
		}},
		{"cleanup.policy", "compact", kmsg.ConfigSourceDynamicTopicConfig, nil},
		{"segment.bytes", "1073741824", kmsg.ConfigSourceStaticBrokerConfig, []kadm.ConfigSynonym{
			{Key: "log.segment.bytes", Value: kadm.StringPtr("1073741824"), Source: kmsg.ConfigSourceStaticBrokerConfig},
			{Key: "log.segment.bytes", Value: kadm.StringPtr("1073741824"), Source: kmsg.ConfigSourceDefaultConfig},
		}},
		{"max.message.bytes", "1048588", kmsg.ConfigSourceStaticBrokerConfig, nil},
		{"compression.type", "producer", kmsg.ConfigSourceDefaultConfig, []kadm.ConfigSynonym{
			{Key: "compression.type", Value: kadm.StringPtr("producer"), Source: kmsg.ConfigSourceDefaultConfig},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			c := cfgs[tt.key]
			require.Equal(t, tt.value, adminValue(t, c))
			require.Equal(t, tt.source, c.Source)
			require.False(t, c.Sensitive)
			if tt.synonyms != nil {
				require.Equal(t, tt.synonyms, c.Synonyms)
			}
			require.Equal(t, tt.source, c.Synonyms[0].Source, "the source is the first synonym's")
		})
	}
}

func TestAdminDescribeConfigsVersions(t *testing.T) {
	b := startAdminBroker(t)
	adm := adminKadm(t, b)
	adminCreateTopic(t, adm, "versions", 1, map[string]string{"retention.ms": "3600000"})

	for v := int16(0); v <= 4; v++ {
		t.Run(fmt.Sprintf("v%d", v), func(t *testing.T) {
			req := kmsg.NewPtrDescribeConfigsRequest()
			req.Version = v
			req.IncludeSynonyms = true
			req.IncludeDocumentation = true
			rr := kmsg.NewDescribeConfigsRequestResource()
			rr.ResourceType, rr.ResourceName = kmsg.ConfigResourceTypeTopic, "versions"
			rr.ConfigNames = []string{"retention.ms", "segment.bytes", "no.such.config"}
			req.Resources = append(req.Resources, rr)
			resp := adminRequest[*kmsg.DescribeConfigsResponse](t, b, req)
			require.Len(t, resp.Resources, 1)
			sr := resp.Resources[0]
			require.Zero(t, sr.ErrorCode)
			require.Equal(t, "versions", sr.ResourceName)
			require.Equal(t, kmsg.ConfigResourceTypeTopic, sr.ResourceType)
			byName := map[string]kmsg.DescribeConfigsResponseResourceConfig{}
			for _, c := range sr.Configs {
				byName[c.Name] = c
			}
			require.Len(t, byName, 2, "only the configs asked for")
			ret, seg := byName["retention.ms"], byName["segment.bytes"]
			require.Equal(t, "3600000", *ret.Value)
			require.False(t, ret.ReadOnly)
			if v == 0 {
				require.False(t, ret.IsDefault, "v0: an override is not a default")
				require.True(t, seg.IsDefault, "v0: a broker-level value is the default")
			} else {
				require.Equal(t, kmsg.ConfigSourceDynamicTopicConfig, ret.Source)
				require.Equal(t, kmsg.ConfigSourceStaticBrokerConfig, seg.Source)
				require.NotEmpty(t, ret.ConfigSynonyms)
			}
			if v >= 3 {
				require.Equal(t, kmsg.ConfigTypeLong, ret.ConfigType)
				require.Equal(t, kmsg.ConfigTypeInt, seg.ConfigType)
				require.NotNil(t, ret.Documentation)
			}
		})
	}

	for _, sv := range []sarama.KafkaVersion{sarama.V1_0_0_0, sarama.V1_1_0_0, sarama.V2_0_0_0, sarama.V2_6_0_0, sarama.V2_8_0_0} {
		t.Run("sarama "+sv.String(), func(t *testing.T) {
			sa := adminSarama(t, b, sv)
			entries, err := sa.DescribeConfig(sarama.ConfigResource{Type: sarama.TopicResource, Name: "versions"})
			require.NoError(t, err)
			byName := map[string]sarama.ConfigEntry{}
			for _, e := range entries {
				byName[e.Name] = e
			}
			require.Equal(t, "3600000", byName["retention.ms"].Value)
			if sv.IsAtLeast(sarama.V1_1_0_0) {
				require.Equal(t, sarama.SourceTopic, byName["retention.ms"].Source)
				require.Equal(t, sarama.SourceStaticBroker, byName["segment.bytes"].Source)
			} else {
				require.False(t, byName["retention.ms"].Default)
				require.True(t, byName["segment.bytes"].Default)
			}
			_, err = sa.DescribeConfig(sarama.ConfigResource{Type: sarama.TopicResource, Name: "no-such-topic"})
			require.Equal(t, kerr.UnknownTopicOrPartition.Code, adminSaramaCode(t, err), "got %v", err)
		})
	}
}

func TestAdminDescribeConfigsErrors(t *testing.T) {
	b := startAdminBroker(t)
	tests := []struct {
		name  string
		typ   kmsg.ConfigResourceType
		rname string
		want  *kerr.Error
	}{
		{"unknown topic", kmsg.ConfigResourceTypeTopic, "no-such-topic", kerr.UnknownTopicOrPartition},
		{"invalid topic name", kmsg.ConfigResourceTypeTopic, "bad name!", kerr.InvalidTopicException},
		{"empty topic name", kmsg.ConfigResourceTypeTopic, "", kerr.InvalidTopicException},
		{"other broker", kmsg.ConfigResourceTypeBroker, "2", kerr.InvalidRequest},
		{"non-numeric broker", kmsg.ConfigResourceTypeBroker, "one", kerr.InvalidRequest},
		{"broker logger", kmsg.ConfigResourceTypeBrokerLogger, "1", kerr.InvalidRequest},
		{"unknown type", kmsg.ConfigResourceType(99), "x", kerr.InvalidRequest},
	}
	req := kmsg.NewPtrDescribeConfigsRequest()
	for _, tt := range tests {
		rr := kmsg.NewDescribeConfigsRequestResource()
		rr.ResourceType, rr.ResourceName = tt.typ, tt.rname
		req.Resources = append(req.Resources, rr)
	}
	resp := adminRequest[*kmsg.DescribeConfigsResponse](t, b, req)
	require.Len(t, resp.Resources, len(tests))
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sr := resp.Resources[i]
			require.Equal(t, tt.rname, sr.ResourceName)
			require.Equal(t, tt.want.Code, sr.ErrorCode, "got %v", kerr.ErrorForCode(sr.ErrorCode))
			require.NotNil(t, sr.ErrorMessage)
			require.Empty(t, sr.Configs)
		})
	}
}

func TestAdminDescribeBrokerConfigs(t *testing.T) {
	b := startAdminBroker(t, func(c *broker.Config) {
		c.NodeID = 7
		c.LogRetentionMs = time.Hour
		c.ProducerIDExpirationMs = 2 * time.Hour
		c.SocketSendBufferBytes = 65536
	})
	adm := adminKadm(t, b)
	rcs, err := adm.DescribeBrokerConfigs(adminCtx(t), 7)
	require.NoError(t, err)
	require.Len(t, rcs, 1)
	require.NoError(t, rcs[0].Err)
	cfgs := map[string]kadm.Config{}
	for _, c := range rcs[0].Configs {
		cfgs[c.Key] = c
	}
	for key, want := range map[string]string{
		"node.id":                     "7",
		"log.retention.ms":            "3600000",
		"log.segment.bytes":           "1073741824",
		"delete.topic.enable":         "true",
		"auto.create.topics.enable":   "true",
		"num.partitions":              "1",
		"message.max.bytes":           "1048588",
		"producer.id.expiration.ms":   "7200000",
		"socket.send.buffer.bytes":    "65536",
		"socket.receive.buffer.bytes": "-1",
	} {
		require.Contains(t, cfgs, key)
		require.Equal(t, want, adminValue(t, cfgs[key]), key)
		require.Equal(t, kmsg.ConfigSourceStaticBrokerConfig, cfgs[key].Source, key)
	}
	require.Contains(t, adminValue(t, cfgs["listeners"]), b.Addr())
	require.Equal(t, strings.Join(b.Config().LogDirs, ","), adminValue(t, cfgs["log.dirs"]))
	require.Contains(t, adminValue(t, cfgs["advertised.listeners"]), strings.Split(b.Addr(), ":")[1])

	// Read-only (no dynamic broker configs), with a type, filtered by name.
	req := kmsg.NewPtrDescribeConfigsRequest()
	req.Version = 4
	for _, name := range []string{"7", ""} {
		rr := kmsg.NewDescribeConfigsRequestResource()
		rr.ResourceType, rr.ResourceName = kmsg.ConfigResourceTypeBroker, name
		req.Resources = append(req.Resources, rr)
	}
	req.Resources[0].ConfigNames = []string{"log.retention.ms", "auto.create.topics.enable"}
	resp := adminRequest[*kmsg.DescribeConfigsResponse](t, b, req)
	require.Len(t, resp.Resources, 2)
	require.Len(t, resp.Resources[0].Configs, 2)
	for _, c := range resp.Resources[0].Configs {
		require.True(t, c.ReadOnly, c.Name)
		require.NotEqual(t, kmsg.ConfigTypeUnknown, c.ConfigType, c.Name)
	}
	require.Zero(t, resp.Resources[1].ErrorCode, "the empty name describes cluster-wide dynamic defaults")
	require.Empty(t, resp.Resources[1].Configs, "there are none")

	sa := adminSarama(t, b, sarama.V2_8_0_0)
	entries, err := sa.DescribeConfig(sarama.ConfigResource{Type: sarama.BrokerResource, Name: "7"})
	require.NoError(t, err)
	require.True(t, slices.ContainsFunc(entries, func(e sarama.ConfigEntry) bool {
		return e.Name == "log.retention.ms" && e.Value == "3600000" && e.ReadOnly
	}))
}

// ---- IncrementalAlterConfigs and AlterConfigs ----

func TestAdminIncrementalAlterConfigs(t *testing.T) {
	b := startAdminBroker(t)
	adm := adminKadm(t, b)
	set := func(k, v string) kadm.AlterConfig { return kadm.AlterConfig{Op: kadm.SetConfig, Name: k, Value: &v} }
	del := func(k string) kadm.AlterConfig { return kadm.AlterConfig{Op: kadm.DeleteConfig, Name: k} }
	appendc := func(k, v string) kadm.AlterConfig { return kadm.AlterConfig{Op: kadm.AppendConfig, Name: k, Value: &v} }
	subtract := func(k, v string) kadm.AlterConfig {
		return kadm.AlterConfig{Op: kadm.SubtractConfig, Name: k, Value: &v}
	}

	tests := []struct {
		name     string
		initial  map[string]string
		ops      []kadm.AlterConfig
		validate bool
		topic    string
		want     *kerr.Error
		values   map[string]string // effective values afterwards
		sources  map[string]kmsg.ConfigSource
	}{
		{name: "set", ops: []kadm.AlterConfig{set("retention.ms", "3600000"), set("max.message.bytes", "2048")},
			values:  map[string]string{"retention.ms": "3600000", "max.message.bytes": "2048"},
			sources: map[string]kmsg.ConfigSource{"retention.ms": kmsg.ConfigSourceDynamicTopicConfig}},
		{name: "set keeps other overrides", initial: map[string]string{"segment.ms": "100000"},
			ops:    []kadm.AlterConfig{set("retention.ms", "5000")},
			values: map[string]string{"segment.ms": "100000", "retention.ms": "5000"}},
		{name: "delete", initial: map[string]string{"retention.ms": "5000"}, ops: []kadm.AlterConfig{del("retention.ms")},
			values:  map[string]string{"retention.ms": "604800000"},
			sources: map[string]kmsg.ConfigSource{"retention.ms": kmsg.ConfigSourceStaticBrokerConfig}},
		{name: "delete absent key", ops: []kadm.AlterConfig{del("segment.ms")}},
		{name: "append to default", ops: []kadm.AlterConfig{appendc("cleanup.policy", "compact")},
			values: map[string]string{"cleanup.policy": "delete,compact"}},
		{name: "append present value", initial: map[string]string{"cleanup.policy": "compact"},
			ops: []kadm.AlterConfig{appendc("cleanup.policy", "compact")}, values: map[string]string{"cleanup.policy": "compact"}},
		{name: "subtract", initial: map[string]string{"cleanup.policy": "delete,compact"},
			ops: []kadm.AlterConfig{subtract("cleanup.policy", "delete")}, values: map[string]string{"cleanup.policy": "compact"}},
		{name: "append to a non-list", ops: []kadm.AlterConfig{appendc("retention.ms", "5")}, want: kerr.InvalidConfig},
		{name: "unknown key", ops: []kadm.AlterConfig{set("retention.mss", "5")}, want: kerr.InvalidConfig},
		{name: "bad value changes nothing", initial: map[string]string{"retention.ms": "5000"},
			ops:  []kadm.AlterConfig{set("segment.ms", "100000"), set("retention.ms", "soon")},
			want: kerr.InvalidConfig, values: map[string]string{"retention.ms": "5000", "segment.ms": "604800000"}},
		{name: "bad enum", ops: []kadm.AlterConfig{set("message.timestamp.type", "WallClock")}, want: kerr.InvalidConfig},
		{name: "validate only", ops: []kadm.AlterConfig{set("retention.ms", "5000")}, validate: true,
			values: map[string]string{"retention.ms": "604800000"}},
		{name: "validate only bad value", ops: []kadm.AlterConfig{set("retention.ms", "x")}, validate: true, want: kerr.InvalidConfig},
		{name: "unknown topic", topic: "no-such-topic", ops: []kadm.AlterConfig{set("retention.ms", "5000")}, want: kerr.UnknownTopicOrPartition},
		{name: "invalid topic name", topic: "bad name!", ops: []kadm.AlterConfig{set("retention.ms", "5000")}, want: kerr.InvalidTopicException},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			topic := tt.topic
			if topic == "" {
				topic = fmt.Sprintf("iac-%d", i)
				adminCreateTopic(t, adm, topic, 1, tt.initial)
			}
			alter := adm.AlterTopicConfigs
			if tt.validate {
				alter = adm.ValidateAlterTopicConfigs
			}
			rs, err := alter(adminCtx(t), tt.ops, topic)
			require.NoError(t, err)
			r, err := rs.On(topic, nil)
			require.NoError(t, err)
			require.Equal(t, adminWant(tt.want), adminCode(r.Err), "got %v: %s", r.Err, r.ErrMessage)
			if tt.want != nil {
				require.NotEmpty(t, r.ErrMessage, "errors are explained")
			}
			if len(tt.values) == 0 {
				return
			}
			cfgs := adminTopicConfigs(t, adm, topic)
			for k, v := range tt.values {
				require.Equal(t, v, adminValue(t, cfgs[k]), k)
			}
			for k, s := range tt.sources {
				require.Equal(t, s, cfgs[k].Source, k)
			}
		})
	}
}

func TestAdminIncrementalAlterConfigsRequestErrors(t *testing.T) {
	b := startAdminBroker(t)
	adm := adminKadm(t, b)
	adminCreateTopic(t, adm, "iac-errors", 1, nil)
	adminCreateTopic(t, adm, "iac-dup", 1, nil)
	cfg := func(name string, op kmsg.IncrementalAlterConfigOp, value *string) kmsg.IncrementalAlterConfigsRequestResourceConfig {
		c := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
		c.Name, c.Op, c.Value = name, op, value
		return c
	}
	res := func(typ kmsg.ConfigResourceType, name string, cs ...kmsg.IncrementalAlterConfigsRequestResourceConfig) kmsg.IncrementalAlterConfigsRequestResource {
		r := kmsg.NewIncrementalAlterConfigsRequestResource()
		r.ResourceType, r.ResourceName, r.Configs = typ, name, cs
		return r
	}
	v := kmsg.StringPtr("60000")
	tests := []struct {
		name string
		res  []kmsg.IncrementalAlterConfigsRequestResource
		want []*kerr.Error
	}{
		{"config twice", []kmsg.IncrementalAlterConfigsRequestResource{res(kmsg.ConfigResourceTypeTopic, "iac-errors",
			cfg("retention.ms", kmsg.IncrementalAlterConfigOpSet, v), cfg("retention.ms", kmsg.IncrementalAlterConfigOpDelete, nil))},
			[]*kerr.Error{kerr.InvalidRequest}},
		{"null value for set", []kmsg.IncrementalAlterConfigsRequestResource{res(kmsg.ConfigResourceTypeTopic, "iac-errors",
			cfg("retention.ms", kmsg.IncrementalAlterConfigOpSet, nil))}, []*kerr.Error{kerr.InvalidRequest}},
		{"unknown operation", []kmsg.IncrementalAlterConfigsRequestResource{res(kmsg.ConfigResourceTypeTopic, "iac-errors",
			cfg("retention.ms", kmsg.IncrementalAlterConfigOp(9), v))}, []*kerr.Error{kerr.InvalidRequest}},
		{"resource twice", []kmsg.IncrementalAlterConfigsRequestResource{
			res(kmsg.ConfigResourceTypeTopic, "iac-dup", cfg("retention.ms", kmsg.IncrementalAlterConfigOpSet, v)),
			res(kmsg.ConfigResourceTypeTopic, "iac-dup", cfg("segment.ms", kmsg.IncrementalAlterConfigOpSet, v))},
			[]*kerr.Error{kerr.InvalidRequest, kerr.InvalidRequest}},
		{"broker", []kmsg.IncrementalAlterConfigsRequestResource{
			res(kmsg.ConfigResourceTypeBroker, "1", cfg("log.retention.ms", kmsg.IncrementalAlterConfigOpSet, v)),
			res(kmsg.ConfigResourceTypeBroker, "", cfg("log.retention.ms", kmsg.IncrementalAlterConfigOpSet, v)),
			res(kmsg.ConfigResourceTypeBroker, "3", cfg("log.retention.ms", kmsg.IncrementalAlterConfigOpSet, v))},
			[]*kerr.Error{kerr.InvalidRequest, kerr.InvalidRequest, kerr.InvalidRequest}},
		{"broker logger", []kmsg.IncrementalAlterConfigsRequestResource{res(kmsg.ConfigResourceTypeBrokerLogger, "1",
			cfg("kafka.server", kmsg.IncrementalAlterConfigOpSet, kmsg.StringPtr("DEBUG")))}, []*kerr.Error{kerr.InvalidRequest}},
		{"default topic", []kmsg.IncrementalAlterConfigsRequestResource{res(kmsg.ConfigResourceTypeTopic, "",
			cfg("retention.ms", kmsg.IncrementalAlterConfigOpSet, v))}, []*kerr.Error{kerr.InvalidRequest}},
	}
	for _, tt := range tests {
		for ver := int16(0); ver <= 1; ver++ {
			t.Run(fmt.Sprintf("%s/v%d", tt.name, ver), func(t *testing.T) {
				req := kmsg.NewPtrIncrementalAlterConfigsRequest()
				req.Version = ver
				req.Resources = tt.res
				resp := adminRequest[*kmsg.IncrementalAlterConfigsResponse](t, b, req)
				require.Len(t, resp.Resources, len(tt.want))
				for i, want := range tt.want {
					sr := resp.Resources[i]
					require.Equal(t, tt.res[i].ResourceName, sr.ResourceName)
					require.Equal(t, tt.res[i].ResourceType, sr.ResourceType)
					require.Equal(t, want.Code, sr.ErrorCode, "resource %d: %v", i, kerr.ErrorForCode(sr.ErrorCode))
					require.NotNil(t, sr.ErrorMessage)
				}
			})
		}
	}
	for _, topic := range []string{"iac-errors", "iac-dup"} {
		cfgs := adminTopicConfigs(t, adm, topic)
		require.Equal(t, kmsg.ConfigSourceStaticBrokerConfig, cfgs["retention.ms"].Source, "%s is unchanged", topic)
	}

	t.Run("kadm broker", func(t *testing.T) {
		rs, err := adm.AlterBrokerConfigs(adminCtx(t), []kadm.AlterConfig{{Name: "log.retention.ms", Value: v}}, 1)
		require.NoError(t, err)
		require.ErrorIs(t, rs[0].Err, kerr.InvalidRequest)
		require.Contains(t, rs[0].ErrMessage, "dynamic broker configs are not supported")
	})

	for _, sv := range []sarama.KafkaVersion{sarama.V2_3_0_0, sarama.V2_4_0_0} {
		t.Run("sarama "+sv.String(), func(t *testing.T) {
			sa := adminSarama(t, b, sv)
			require.NoError(t, sa.IncrementalAlterConfig(sarama.TopicResource, "iac-errors", map[string]sarama.IncrementalAlterConfigsEntry{
				"retention.ms": {Operation: sarama.IncrementalAlterConfigsOperationSet, Value: kmsg.StringPtr("120000")},
			}, false))
			require.Equal(t, "120000", adminValue(t, adminTopicConfigs(t, adm, "iac-errors")["retention.ms"]))
			err := sa.IncrementalAlterConfig(sarama.TopicResource, "iac-errors", map[string]sarama.IncrementalAlterConfigsEntry{
				"retention.ms": {Operation: sarama.IncrementalAlterConfigsOperationAppend, Value: kmsg.StringPtr("1")},
			}, false)
			require.Equal(t, kerr.InvalidConfig.Code, adminSaramaCode(t, err), "got %v", err)
			require.NoError(t, sa.IncrementalAlterConfig(sarama.TopicResource, "iac-errors", map[string]sarama.IncrementalAlterConfigsEntry{
				"retention.ms": {Operation: sarama.IncrementalAlterConfigsOperationDelete},
			}, false))
		})
	}
}

func TestAdminAlterConfigsReplacesOverrides(t *testing.T) {
	b := startAdminBroker(t)
	adm := adminKadm(t, b)
	str := kmsg.StringPtr
	tests := []struct {
		version  sarama.KafkaVersion
		entries  map[string]*string
		validate bool
		topic    string
		typ      sarama.ConfigResourceType
		want     *kerr.Error
		values   map[string]string
	}{
		{version: sarama.V1_0_0_0, entries: map[string]*string{"retention.ms": str("5000")},
			values: map[string]string{"retention.ms": "5000", "segment.ms": "604800000"}},
		{version: sarama.V2_0_0_0, entries: map[string]*string{"retention.ms": str("5000"), "max.message.bytes": str("4096")},
			values: map[string]string{"retention.ms": "5000", "max.message.bytes": "4096", "segment.ms": "604800000"}},
		{version: sarama.V2_8_0_0, entries: map[string]*string{},
			values: map[string]string{"retention.ms": "604800000", "segment.ms": "604800000"}},
		{version: sarama.V2_8_0_0, entries: map[string]*string{"retention.ms": str("5000")}, validate: true,
			values: map[string]string{"retention.ms": "1000000", "segment.ms": "200000"}},
		{version: sarama.V2_8_0_0, entries: map[string]*string{"retention.ms": str("5000"), "no.such.key": str("1")},
			want: kerr.InvalidConfig, values: map[string]string{"retention.ms": "1000000", "segment.ms": "200000"}},
		{version: sarama.V2_8_0_0, entries: map[string]*string{"retention.ms": nil}, want: kerr.InvalidConfig},
		{version: sarama.V2_8_0_0, entries: map[string]*string{"retention.ms": str("-7")}, want: kerr.InvalidConfig},
		{version: sarama.V2_8_0_0, entries: map[string]*string{"retention.ms": str("1")}, topic: "no-such-topic",
			want: kerr.UnknownTopicOrPartition},
		{version: sarama.V2_8_0_0, entries: map[string]*string{"log.retention.ms": str("1")}, topic: "1",
			typ: sarama.BrokerResource, want: kerr.InvalidRequest},
	}
	for i, tt := range tests {
		t.Run(fmt.Sprintf("%d-%s", i, tt.version), func(t *testing.T) {
			topic := tt.topic
			if topic == "" {
				topic = fmt.Sprintf("ac-%d", i)
				adminCreateTopic(t, adm, topic, 1, map[string]string{"retention.ms": "1000000", "segment.ms": "200000"})
			}
			typ := tt.typ
			if typ == 0 {
				typ = sarama.TopicResource
			}
			err := adminSarama(t, b, tt.version).AlterConfig(typ, topic, tt.entries, tt.validate)
			require.Equal(t, adminWant(tt.want), adminSaramaCode(t, err), "got %v", err)
			if len(tt.values) == 0 {
				return
			}
			cfgs := adminTopicConfigs(t, adm, topic)
			for k, v := range tt.values {
				require.Equal(t, v, adminValue(t, cfgs[k]), k)
			}
		})
	}

	t.Run("kadm state", func(t *testing.T) {
		adminCreateTopic(t, adm, "ac-kadm", 1, map[string]string{"segment.ms": "200000"})
		rs, err := adm.AlterTopicConfigsState(adminCtx(t), []kadm.AlterConfig{{Name: "retention.ms", Value: str("7000")}}, "ac-kadm")
		require.NoError(t, err)
		require.NoError(t, rs[0].Err)
		cfgs := adminTopicConfigs(t, adm, "ac-kadm")
		require.Equal(t, "7000", adminValue(t, cfgs["retention.ms"]))
		require.Equal(t, kmsg.ConfigSourceStaticBrokerConfig, cfgs["segment.ms"].Source, "overrides not named are removed")
	})

	t.Run("resource twice", func(t *testing.T) {
		adminCreateTopic(t, adm, "ac-dup", 1, nil)
		req := kmsg.NewPtrAlterConfigsRequest()
		for range 2 {
			rr := kmsg.NewAlterConfigsRequestResource()
			rr.ResourceType, rr.ResourceName = kmsg.ConfigResourceTypeTopic, "ac-dup"
			req.Resources = append(req.Resources, rr)
		}
		resp := adminRequest[*kmsg.AlterConfigsResponse](t, b, req)
		require.Len(t, resp.Resources, 2)
		for _, sr := range resp.Resources {
			require.Equal(t, kerr.InvalidRequest.Code, sr.ErrorCode)
		}
	})
}

func TestAdminMaxMessageBytesTakesEffect(t *testing.T) {
	b := startAdminBroker(t)
	adm := adminKadm(t, b)
	adminCreateTopic(t, adm, "limited", 1, nil)
	// Random bytes, so that the producer's compression cannot shrink them.
	raw := make([]byte, 4096)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range raw {
		raw[i] = byte(rng.Uint32())
	}
	big := string(raw)
	adminProduce(t, b, "limited", 0, big)

	rs, err := adm.AlterTopicConfigs(adminCtx(t), []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "max.message.bytes", Value: kadm.StringPtr("1024")}}, "limited")
	require.NoError(t, err)
	require.NoError(t, rs[0].Err)

	cl := adminKgo(t, b, kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.DisableIdempotentWrite())
	err = cl.ProduceSync(adminCtx(t), &kgo.Record{Topic: "limited", Value: []byte(big)}).FirstErr()
	require.ErrorIs(t, err, kerr.MessageTooLarge)
	adminProduce(t, b, "limited", 0, "small")

	rs, err = adm.AlterTopicConfigs(adminCtx(t), []kadm.AlterConfig{{Op: kadm.DeleteConfig, Name: "max.message.bytes"}}, "limited")
	require.NoError(t, err)
	require.NoError(t, rs[0].Err)
	adminProduce(t, b, "limited", 0, big)
	got := adminConsume(t, b, "limited", 0, 3)
	require.Equal(t, []string{big, "small", big}, []string{string(got[0].Value), string(got[1].Value), string(got[2].Value)})
}

func TestAdminRetentionTakesEffect(t *testing.T) {
	b := startAdminBroker(t, func(c *broker.Config) { c.LogRetentionCheckIntervalMs = 20 * time.Millisecond })
	adm := adminKadm(t, b)
	// Small segments so that each batch closes one, and retention has
	// whole old segments to delete.
	adminCreateTopic(t, adm, "retained", 1, map[string]string{"segment.bytes": "100", "file.delete.delay.ms": "0"})
	adminProduce(t, b, "retained", 0, "a", "b", "c", "d", "e")
	require.Equal(t, int64(0), adminStartOffset(t, adm, "retained", 0))

	rs, err := adm.AlterTopicConfigs(adminCtx(t), []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "retention.ms", Value: kadm.StringPtr("1")}}, "retained")
	require.NoError(t, err)
	require.NoError(t, rs[0].Err)
	require.Equal(t, "1", adminValue(t, adminTopicConfigs(t, adm, "retained")["retention.ms"]))
	adminEventually(t, func() error {
		if start := adminStartOffset(t, adm, "retained", 0); start == 0 {
			return errors.New("log start offset has not moved")
		}
		return nil
	})
}

// ---- DescribeCluster ----

func TestAdminDescribeCluster(t *testing.T) {
	b := startAdminBroker(t, func(c *broker.Config) { c.NodeID = 3 })
	host, portStr, err := net.SplitHostPort(b.Addr())
	require.NoError(t, err)
	port, err := strconv.Atoi(portStr)
	require.NoError(t, err)
	tests := []struct {
		name     string
		version  int16
		endpoint int8
		ops      bool
		want     *kerr.Error
	}{
		{name: "v0", version: 0},
		{name: "v0 with operations", version: 0, ops: true},
		{name: "v1 brokers", version: 1, endpoint: 1, ops: true},
		{name: "v1 controllers", version: 1, endpoint: 2, want: kerr.MismatchedEndpointType},
		{name: "v1 unknown endpoint", version: 1, endpoint: 9, want: kerr.UnsupportedEndpointType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := kmsg.NewPtrDescribeClusterRequest()
			req.Version = tt.version
			req.IncludeClusterAuthorizedOperations = tt.ops
			if tt.endpoint != 0 {
				req.EndpointType = tt.endpoint
			}
			resp := adminRequest[*kmsg.DescribeClusterResponse](t, b, req)
			if tt.want != nil {
				require.Equal(t, tt.want.Code, resp.ErrorCode, "got %v", kerr.ErrorForCode(resp.ErrorCode))
				require.NotNil(t, resp.ErrorMessage)
				return
			}
			require.Zero(t, resp.ErrorCode)
			require.Equal(t, b.ClusterID(), resp.ClusterID)
			require.Equal(t, int32(3), resp.ControllerID)
			require.Len(t, resp.Brokers, 1)
			require.Equal(t, int32(3), resp.Brokers[0].NodeID)
			require.Equal(t, int32(port), resp.Brokers[0].Port)
			require.Contains(t, []string{host, "localhost"}, resp.Brokers[0].Host)
			if tt.ops {
				for _, op := range []kmsg.ACLOperation{kmsg.ACLOperationDescribe, kmsg.ACLOperationAlter,
					kmsg.ACLOperationDescribeConfigs, kmsg.ACLOperationAlterConfigs, kmsg.ACLOperationIdempotentWrite} {
					require.NotZero(t, resp.ClusterAuthorizedOperations&(1<<op), "operation %s", op)
				}
			} else {
				require.Equal(t, int32(-2147483648), resp.ClusterAuthorizedOperations, "not requested")
			}
		})
	}
}

// ---- DeleteRecords ----

func TestAdminDeleteRecords(t *testing.T) {
	b := startAdminBroker(t)
	adm := adminKadm(t, b)
	ctx := adminCtx(t)
	adminCreateTopic(t, adm, "trim", 2, nil)
	var values []string
	for i := range 10 {
		values = append(values, "v"+strconv.Itoa(i))
	}
	adminProduce(t, b, "trim", 0, values...)

	var os kadm.Offsets
	os.Add(kadm.Offset{Topic: "trim", Partition: 0, At: 4})
	rs, err := adm.DeleteRecords(ctx, os)
	require.NoError(t, err)
	r, err := rs.On("trim", 0, nil)
	require.NoError(t, err)
	require.NoError(t, r.Err)
	require.Equal(t, int64(4), r.LowWatermark)
	require.Equal(t, int64(4), adminStartOffset(t, adm, "trim", 0))

	got := adminConsume(t, b, "trim", 0, 6)
	require.Equal(t, int64(4), got[0].Offset, "consuming from the start begins at the new log start")
	require.Equal(t, "v4", string(got[0].Value))
	require.Equal(t, "v9", string(got[5].Value))

	// A fetch below the new start is out of range.
	fetch := kmsg.NewPtrFetchRequest()
	fetch.Version = 11
	fetch.MaxBytes = 1 << 20
	ft := kmsg.NewFetchRequestTopic()
	ft.Topic = "trim"
	fp := kmsg.NewFetchRequestTopicPartition()
	fp.FetchOffset, fp.PartitionMaxBytes = 1, 1<<20
	ft.Partitions = []kmsg.FetchRequestTopicPartition{fp}
	fetch.Topics = []kmsg.FetchRequestTopic{ft}
	fr := adminRequest[*kmsg.FetchResponse](t, b, fetch)
	require.Equal(t, kerr.OffsetOutOfRange.Code, fr.Topics[0].Partitions[0].ErrorCode)
	require.Equal(t, int64(4), fr.Topics[0].Partitions[0].LogStartOffset)
}

func TestAdminDeleteRecordsCases(t *testing.T) {
	b := startAdminBroker(t)
	adm := adminKadm(t, b)
	adminEnsureOffsetsTopic(t, adm)
	adminCreateTopic(t, adm, "compacted", 1, map[string]string{"cleanup.policy": "compact"})
	adminCreateTopic(t, adm, "both", 1, map[string]string{"cleanup.policy": "compact,delete"})
	adminProduce(t, b, "both", 0, "a", "b")

	tests := []struct {
		name      string
		topic     string // default: a new topic with 10 records in partition 0
		partition int32
		offset    int64
		want      *kerr.Error
		low       int64
	}{
		{name: "to an offset", offset: 3, low: 3},
		{name: "to the high watermark", offset: -1, low: 10},
		{name: "to the end offset", offset: 10, low: 10},
		{name: "nothing", offset: 0, low: 0},
		{name: "past the high watermark", offset: 11, want: kerr.OffsetOutOfRange},
		{name: "negative offset", offset: -2, want: kerr.OffsetOutOfRange},
		{name: "unknown partition", partition: 5, offset: 1, want: kerr.UnknownTopicOrPartition},
		{name: "unknown topic", topic: "no-such-topic", offset: 1, want: kerr.UnknownTopicOrPartition},
		{name: "compacted topic", topic: "compacted", offset: 0, want: kerr.PolicyViolation},
		{name: "compact and delete", topic: "both", offset: 1, low: 1},
		{name: "internal topic", topic: "__consumer_offsets", offset: 0, want: kerr.InvalidTopicException},
	}
	for i, tt := range tests {
		for v := int16(0); v <= 2; v++ {
			t.Run(fmt.Sprintf("%s/v%d", tt.name, v), func(t *testing.T) {
				topic := tt.topic
				if topic == "" {
					topic = fmt.Sprintf("dr-%d-v%d", i, v)
					adminCreateTopic(t, adm, topic, 1, nil)
					adminProduce(t, b, topic, 0, "0", "1", "2", "3", "4", "5", "6", "7", "8", "9")
				}
				req := kmsg.NewPtrDeleteRecordsRequest()
				req.Version = v
				req.TimeoutMillis = 5000
				rt := kmsg.NewDeleteRecordsRequestTopic()
				rt.Topic = topic
				rp := kmsg.NewDeleteRecordsRequestTopicPartition()
				rp.Partition, rp.Offset = tt.partition, tt.offset
				rt.Partitions = append(rt.Partitions, rp)
				req.Topics = append(req.Topics, rt)
				resp := adminRequest[*kmsg.DeleteRecordsResponse](t, b, req)
				require.Len(t, resp.Topics, 1)
				require.Len(t, resp.Topics[0].Partitions, 1)
				sp := resp.Topics[0].Partitions[0]
				require.Equal(t, tt.partition, sp.Partition)
				if tt.want != nil {
					require.Equal(t, tt.want.Code, sp.ErrorCode, "got %v", kerr.ErrorForCode(sp.ErrorCode))
					require.Equal(t, int64(-1), sp.LowWatermark)
					return
				}
				require.Zero(t, sp.ErrorCode, "got %v", kerr.ErrorForCode(sp.ErrorCode))
				require.GreaterOrEqual(t, sp.LowWatermark, tt.low, "low watermark")
				require.Equal(t, sp.LowWatermark, adminStartOffset(t, adm, topic, 0))
			})
		}
	}

	for _, sv := range []sarama.KafkaVersion{sarama.V1_0_0_0, sarama.V2_0_0_0, sarama.V2_6_0_0} {
		t.Run("sarama "+sv.String(), func(t *testing.T) {
			topic := "dr-sarama-" + strings.ReplaceAll(sv.String(), ".", "-")
			adminCreateTopic(t, adm, topic, 1, nil)
			adminProduce(t, b, topic, 0, "a", "b", "c")
			sa := adminSarama(t, b, sv)
			require.NoError(t, sa.DeleteRecords(topic, map[int32]int64{0: 2}))
			require.Equal(t, int64(2), adminStartOffset(t, adm, topic, 0))
			err := sa.DeleteRecords(topic, map[int32]int64{0: 9})
			require.ErrorIs(t, err, sarama.ErrOffsetOutOfRange)
		})
	}
}

// ---- OffsetForLeaderEpoch ----

func TestAdminOffsetForLeaderEpoch(t *testing.T) {
	b := startAdminBroker(t)
	adm := adminKadm(t, b)
	adminCreateTopic(t, adm, "epochs", 1, nil)
	adminProduce(t, b, "epochs", 0, "a", "b", "c", "d", "e")
	md, err := adm.Metadata(adminCtx(t), "epochs")
	require.NoError(t, err)
	epoch := md.Topics["epochs"].Partitions[0].LeaderEpoch
	require.GreaterOrEqual(t, epoch, int32(0))

	tests := []struct {
		name       string
		minVersion int16
		topic      string
		partition  int32
		current    int32 // CurrentLeaderEpoch (v2+)
		requested  int32
		want       *kerr.Error
		wantEpoch  int32
		wantEnd    int64
	}{
		{name: "current epoch", current: -1, requested: epoch, wantEpoch: epoch, wantEnd: 5},
		{name: "current epoch checked", minVersion: 2, current: epoch, requested: epoch, wantEpoch: epoch, wantEnd: 5},
		{name: "newer epoch", current: -1, requested: epoch + 1, wantEpoch: -1, wantEnd: -1},
		{name: "undefined epoch", current: -1, requested: -1, wantEpoch: -1, wantEnd: -1},
		{name: "client ahead of the leader", minVersion: 2, current: epoch + 1, requested: epoch, want: kerr.UnknownLeaderEpoch},
		{name: "unknown topic", topic: "no-such-topic", current: -1, requested: 0, want: kerr.UnknownTopicOrPartition},
		{name: "unknown partition", partition: 3, current: -1, requested: 0, want: kerr.UnknownTopicOrPartition},
	}
	for _, tt := range tests {
		for v := tt.minVersion; v <= 4; v++ {
			t.Run(fmt.Sprintf("%s/v%d", tt.name, v), func(t *testing.T) {
				topic := tt.topic
				if topic == "" {
					topic = "epochs"
				}
				req := kmsg.NewPtrOffsetForLeaderEpochRequest()
				req.Version = v
				req.ReplicaID = -1
				rt := kmsg.NewOffsetForLeaderEpochRequestTopic()
				rt.Topic = topic
				rp := kmsg.NewOffsetForLeaderEpochRequestTopicPartition()
				rp.Partition, rp.CurrentLeaderEpoch, rp.LeaderEpoch = tt.partition, tt.current, tt.requested
				rt.Partitions = append(rt.Partitions, rp)
				req.Topics = append(req.Topics, rt)
				resp := adminRequest[*kmsg.OffsetForLeaderEpochResponse](t, b, req)
				require.Len(t, resp.Topics, 1)
				require.Len(t, resp.Topics[0].Partitions, 1)
				sp := resp.Topics[0].Partitions[0]
				require.Equal(t, tt.partition, sp.Partition)
				if tt.want != nil {
					require.Equal(t, tt.want.Code, sp.ErrorCode, "got %v", kerr.ErrorForCode(sp.ErrorCode))
					return
				}
				require.Zero(t, sp.ErrorCode, "got %v", kerr.ErrorForCode(sp.ErrorCode))
				require.Equal(t, tt.wantEnd, sp.EndOffset)
				if v >= 1 {
					require.Equal(t, tt.wantEpoch, sp.LeaderEpoch)
				}
			})
		}
	}

	t.Run("kadm", func(t *testing.T) {
		var req kadm.OffsetForLeaderEpochRequest
		req.Add("epochs", 0, epoch)
		rs, err := adm.OffsetForLeaderEpoch(adminCtx(t), req)
		require.NoError(t, err)
		r := rs["epochs"][0]
		require.NoError(t, r.Err)
		require.Equal(t, epoch, r.LeaderEpoch)
		require.Equal(t, int64(5), r.EndOffset)
	})
}

func TestPartitionCountIsBounded(t *testing.T) {
	b := startBroker(t)
	cl := newKgo(t, b.Addr())
	adm := kadm.NewClient(cl)
	ctx := testCtx(t)
	resp, err := adm.CreateTopic(ctx, 20000, 1, nil, "huge")
	require.ErrorIs(t, err, kerr.InvalidPartitions)
	require.Contains(t, resp.ErrMessage, "between 1 and 10000")
	_, err = adm.CreateTopic(ctx, 1, 1, nil, "grows")
	require.NoError(t, err)
	grown, err := adm.CreatePartitions(ctx, 20000, "grows")
	require.NoError(t, err)
	require.ErrorIs(t, grown["grows"].Err, kerr.InvalidPartitions)
}
