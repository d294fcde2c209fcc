package testkit_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kspring/kspring/testkit"
)

func TestClusterOfOneBroker(t *testing.T) {
	t.Parallel()
	c := testkit.NewCluster(t, testkit.WithTopic("orders", 2, nil))
	require.Equal(t, []int32{1}, c.IDs())
	require.Equal(t, []string{c.Addr()}, c.Addrs())
	require.Equal(t, c.Addr(), c.Bootstrap())
	require.Equal(t, int32(1), c.Broker(1).Config().NodeID)
	require.Equal(t, "orders", c.Topic("orders"))
	testkit.Produce(t, c.Bootstrap(), "orders", testkit.Value("x"))
	require.Equal(t, "x", string(testkit.SingleRecord(t, c.Bootstrap(), "orders").Value))
}

func TestClusterRefusesBadBrokerIDs(t *testing.T) {
	if testkit.External() {
		t.Skip("NewCluster skips against an external cluster")
	}
	t.Parallel()
	msg := failure(t, func(ft testing.TB) { testkit.NewCluster(ft, testkit.Brokers(0)) })
	require.Contains(t, msg, "at least 1 broker")

	// A cluster reports through the test that made it.
	msg = failure(t, func(ft testing.TB) { testkit.NewCluster(ft).Stop(2) })
	require.Contains(t, msg, "no broker 2 (ids [1])")
}

// TestClusterOfThreeSurvivesLeaderLoss: records written with acks=all are
// replicated, and stay readable when the leader of their partition dies;
// the killed broker catches up when it returns.
func TestClusterOfThreeSurvivesLeaderLoss(t *testing.T) {
	t.Parallel()
	c := testkit.NewCluster(t, testkit.Brokers(3), testkit.WithTopic("orders", 1, nil))
	require.Equal(t, []int32{1, 2, 3}, c.IDs())
	testkit.Produce(t, c.Bootstrap(), "orders", testkit.Value("before"))
	leader := c.Leader(t, "orders", 0)
	c.Kill(leader)
	require.Nil(t, c.Broker(leader))
	testkit.Eventually(t, testkit.WaitTimeout, func() error {
		if now := c.Leader(t, "orders", 0); now == leader {
			return fmt.Errorf("broker %d still leads", now)
		}
		return nil
	})
	testkit.Produce(t, c.Bootstrap(), "orders", testkit.Value("after"))
	c.Restart(leader)
	var got []string
	for _, r := range testkit.ConsumeN(t, c.Bootstrap(), "orders", 2, 10*time.Second) {
		got = append(got, string(r.Value))
	}
	require.Equal(t, []string{"before", "after"}, got)
	testkit.Eventually(t, testkit.WaitTimeout, func() error {
		end, err := c.Broker(leader).LogEndOffset("orders", 0)
		if err != nil || end != 2 {
			return fmt.Errorf("the restarted broker's log ends at %d (%v), want 2", end, err)
		}
		return nil
	})
}

func TestClusterStopAndRestartKeepData(t *testing.T) {
	t.Parallel()
	c := testkit.NewCluster(t, testkit.WithTopic("orders", 2, nil))
	addr := c.Addr()
	dir := c.Broker(1).Config().LogDirs[0]
	group := testkit.UniqueName(t, "billing")
	testkit.Produce(t, addr, "orders", testkit.KeyValue("a", "1"), testkit.KeyValue("b", "2"))
	commitWithGroup(t, addr, group, "orders", 2)

	c.Stop(1)
	require.Nil(t, c.Broker(1))
	require.FileExists(t, filepath.Join(dir, "orders-0", "clean-shutdown"), "a clean stop marks the log")
	c.Stop(1) // stopping a stopped broker does nothing

	c.Restart(1)
	require.NotNil(t, c.Broker(1))
	require.Equal(t, addr, c.Addr(), "same port")
	require.Equal(t, addr, c.Broker(1).Addr())
	require.Equal(t, dir, c.Broker(1).Config().LogDirs[0], "same data")
	require.Len(t, testkit.ConsumeN(t, addr, "orders", 2, 10*time.Second), 2)
	require.Equal(t, sum(testkit.EndOffsets(t, addr, "orders")), sum(testkit.CommittedOffsets(t, addr, group, "orders")))

	c.Restart(1) // a running broker restarts too
	require.Len(t, testkit.Records(t, addr, "orders"), 2)
}

func TestClusterKillLeavesNoCleanShutdown(t *testing.T) {
	t.Parallel()
	c := testkit.NewCluster(t, testkit.WithTopic("orders", 1, nil))
	addr := c.Addr()
	dir := c.Broker(1).Config().LogDirs[0]

	// A client connected through the crash carries on after the restart.
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.DefaultProduceTopic("orders"),
		kgo.RetryBackoffFn(func(int) time.Duration { return 10 * time.Millisecond }))
	require.NoError(t, err)
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), testkit.WaitTimeout)
	defer cancel()
	require.NoError(t, cl.ProduceSync(ctx, kgo.StringRecord("before")).FirstErr())

	c.Kill(1)
	require.Nil(t, c.Broker(1))
	require.DirExists(t, filepath.Join(dir, "orders-0"))
	_, err = os.Stat(filepath.Join(dir, "orders-0", "clean-shutdown"))
	require.ErrorIs(t, err, os.ErrNotExist, "a killed broker leaves no clean-shutdown marker")
	c.Kill(1) // killing a dead broker does nothing

	c.Restart(1)
	require.NoError(t, cl.ProduceSync(ctx, kgo.StringRecord("after")).FirstErr())
	var got []string
	for _, r := range testkit.ConsumeN(t, addr, "orders", 2, 10*time.Second) {
		got = append(got, string(r.Value))
	}
	require.Equal(t, []string{"before", "after"}, got, "what was written before the crash survives it")
}

// commitWithGroup consumes n records of topic in group and commits them,
// through a real group member.
func commitWithGroup(t *testing.T, addr, group, topic string, n int) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit())
	require.NoError(t, err)
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), testkit.WaitTimeout)
	defer cancel()
	for seen := 0; seen < n; {
		fs := cl.PollFetches(ctx)
		require.NoError(t, ctx.Err(), "consumed %d of %d", seen, n)
		seen += fs.NumRecords()
	}
	require.NoError(t, cl.CommitUncommittedOffsets(ctx))
}

func sum(m map[int32]int64) int64 {
	var s int64
	for _, v := range m {
		s += v
	}
	return s
}
