package broker

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap/zaptest"

	"github.com/kspring/kspring/broker/internal/batch"
	"github.com/kspring/kspring/broker/internal/replica"
)

// TestFetchInconsistentTopicID: a v13 fetch, a consumer's or a follower's,
// whose topic id is the metadata's but not that of the partition this
// broker holds (another incarnation of the topic) gets
// INCONSISTENT_TOPIC_ID and no records, as in Kafka; an id the metadata
// does not know gets UNKNOWN_TOPIC_ID. The partition is swapped behind the
// metadata's back, which no public path does.
func TestFetchInconsistentTopicID(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	cfg := DefaultConfig()
	cfg.Listeners = []string{"PLAINTEXT://127.0.0.1:0"}
	cfg.LogDirs = []string{t.TempDir()}
	b, err := New(cfg, WithLogger(zaptest.NewLogger(t)))
	require.NoError(t, err)
	require.NoError(t, b.Start(ctx))
	t.Cleanup(func() { require.NoError(t, b.Close(context.Background())) })
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()))
	require.NoError(t, err)
	t.Cleanup(cl.Close)
	adm := kadm.NewClient(cl)
	_, err = adm.CreateTopic(ctx, 1, 1, nil, "orders")
	require.NoError(t, err)
	md, err := adm.Metadata(ctx, "orders")
	require.NoError(t, err)
	id := [16]byte(md.Topics["orders"].ID)

	require.NoError(t, b.parts.DeletePartition("orders", 0))
	s, err := b.topics.settings(nil)
	require.NoError(t, err)
	p, err := b.parts.Open("orders", 0, [16]byte{9, 9, 9}, s)
	require.NoError(t, err)
	b.parts.SetState(p, replica.State{Leader: 1, Replicas: []int32{1, 2}, ISR: []int32{1, 2}})
	_, err = p.Append(batch.Build(nil, 0, time.Now().UnixMilli(), []batch.Record{{Value: []byte("v")}}), -1, time.Now())
	require.NoError(t, err)

	for _, tc := range []struct {
		name    string
		replica int32
		id      [16]byte
		want    *kerr.Error
	}{
		{"consumer, another incarnation", -1, id, kerr.InconsistentTopicID},
		{"follower, another incarnation", 2, id, kerr.InconsistentTopicID},
		{"follower, unknown id", 2, [16]byte{1, 2, 3}, kerr.UnknownTopicID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := kmsg.NewPtrFetchRequest()
			req.SetVersion(13)
			req.ReplicaID, req.MaxBytes, req.SessionEpoch = tc.replica, 1<<20, -1
			rt := kmsg.NewFetchRequestTopic()
			rt.TopicID = tc.id
			rp := kmsg.NewFetchRequestTopicPartition()
			rp.CurrentLeaderEpoch, rp.LastFetchedEpoch, rp.LogStartOffset, rp.PartitionMaxBytes = 0, -1, -1, 1<<20
			rt.Partitions = append(rt.Partitions, rp)
			req.Topics = append(req.Topics, rt)
			resp, err := req.RequestWith(ctx, cl)
			require.NoError(t, err)
			require.Len(t, resp.Topics, 1)
			sp := resp.Topics[0].Partitions[0]
			require.Equal(t, tc.want.Code, sp.ErrorCode, "got %v", kerr.ErrorForCode(sp.ErrorCode))
			require.Empty(t, sp.RecordBatches, "never data")
		})
	}
}
