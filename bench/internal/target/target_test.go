package target_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/goleak"

	"github.com/kspring/kspring/bench/internal/target"
)

func TestMain(m *testing.M) {
	if target.IsChild() {
		os.Exit(target.RunChild())
	}
	goleak.VerifyTestMain(m)
}

// TestSpawn starts each target in a child process (this test binary,
// re-executed), round-trips a record through it, reads its CPU time and
// shuts it down.
func TestSpawn(t *testing.T) {
	for _, name := range []string{target.NameKspring, target.NameKfake} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			tg, err := target.Start(ctx, target.Spec{
				Name: name, Dir: t.TempDir(), Topic: "t", Partitions: 2, Process: true,
				Properties: map[string]string{"log.segment.bytes": "1048576"},
			})
			require.NoError(t, err)

			cl, err := kgo.NewClient(kgo.SeedBrokers(tg.Addr), kgo.DefaultProduceTopic("t"),
				kgo.ConsumeTopics("t"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
			require.NoError(t, err)
			require.NoError(t, cl.ProduceSync(ctx, &kgo.Record{Value: []byte("hello")}).FirstErr())
			fs := cl.PollFetches(ctx)
			require.NoError(t, fs.Err0())
			require.Equal(t, "hello", string(fs.Records()[0].Value))
			cl.Close()

			cpu, ok, err := tg.CPU(ctx)
			require.NoError(t, err)
			require.True(t, ok, "a child's CPU time is its own")
			require.Positive(t, cpu)
			require.NoError(t, tg.Close(ctx))
		})
	}

	// A target in this process has no CPU time of its own.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tg, err := target.Start(ctx, target.Spec{Name: target.NameKfake, Topic: "t", Partitions: 1})
	require.NoError(t, err)
	_, ok, err := tg.CPU(ctx)
	require.NoError(t, err)
	require.False(t, ok)
	require.NoError(t, tg.Close(ctx))

	// A bad spec fails in the child, and Spawn says so.
	_, err = target.Start(ctx, target.Spec{Name: "nope", Process: true})
	require.Error(t, err)
}

// TestCluster starts a three-broker kspring cluster in a child process with
// a replicated topic, kills the leader of a partition, writes through the
// election and restarts the broker; and the same cluster in this process
// answers the same control calls.
func TestCluster(t *testing.T) {
	for _, process := range []bool{true, false} {
		t.Run(fmt.Sprintf("process=%v", process), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			tg, err := target.Start(ctx, target.Spec{
				Name: target.NameKspringCluster, Dir: t.TempDir(), Topic: "t", Partitions: 2,
				ReplicationFactor: 3, TopicConfigs: map[string]string{"min.insync.replicas": "2"},
				Properties: map[string]string{
					"broker.session.timeout.ms":             "1500",
					"broker.heartbeat.interval.ms":          "100",
					"controller.quorum.election.timeout.ms": "500",
					"controller.quorum.fetch.timeout.ms":    "500",
				},
				Process: process,
			})
			require.NoError(t, err)
			defer func() { require.NoError(t, tg.Close(ctx)) }()
			require.Len(t, target.Seeds(tg.Addr), 3)

			cl, err := kgo.NewClient(kgo.SeedBrokers(target.Seeds(tg.Addr)...), kgo.DefaultProduceTopic("t"),
				kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.MetadataMinAge(50*time.Millisecond),
				kgo.RetryBackoffFn(func(int) time.Duration { return 50 * time.Millisecond }))
			require.NoError(t, err)
			defer cl.Close()
			require.NoError(t, cl.ProduceSync(ctx, &kgo.Record{Value: []byte("before")}).FirstErr())

			leader, err := tg.Leader(ctx, "t", 0)
			require.NoError(t, err)
			require.Positive(t, leader)
			ctrl, err := tg.Controller(ctx)
			require.NoError(t, err)
			require.Positive(t, ctrl)
			require.NoError(t, tg.Kill(ctx, leader))
			require.NoError(t, cl.ProduceSync(ctx, &kgo.Record{Value: []byte("after")}).FirstErr())
			now, err := tg.Leader(ctx, "t", 0)
			require.NoError(t, err)
			require.NotEqual(t, leader, now)
			require.NoError(t, tg.Restart(ctx, leader))
			require.Error(t, tg.Restart(ctx, leader), "it is running")
			_, err = tg.Leader(ctx, "t", 99)
			require.NoError(t, err, "a partition without a leader is -1, not an error")
		})
	}

	// A single broker has no control.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tg, err := target.Start(ctx, target.Spec{Name: target.NameKfake, Topic: "t", Partitions: 1})
	require.NoError(t, err)
	require.ErrorIs(t, tg.Kill(ctx, 1), target.ErrNotCluster)
	require.NoError(t, tg.Close(ctx))
}
