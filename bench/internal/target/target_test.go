package target_test

import (
	"context"
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
