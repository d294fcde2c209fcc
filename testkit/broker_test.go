package testkit_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kspring/kspring/testkit"
)

func admin(t *testing.T, addr string) *kadm.Client {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(addr, ",")...))
	require.NoError(t, err)
	t.Cleanup(cl.Close)
	return kadm.NewClient(cl)
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), testkit.WaitTimeout)
	t.Cleanup(cancel)
	return c
}

func TestNewBrokerServesAndAddresses(t *testing.T) {
	t.Parallel()
	b := testkit.NewBroker(t)
	require.NotEmpty(t, b.Addr())
	require.Equal(t, []string{b.Addr()}, b.Addrs())
	require.Equal(t, b.Addr(), b.Bootstrap())
	if !testkit.External() {
		require.True(t, strings.HasPrefix(b.Addr(), "127.0.0.1:"), b.Addr())
		require.NotNil(t, b.Server())
		require.Equal(t, b.Addr(), b.Server().Addr())
	}

	topic := b.Topic("greetings")
	testkit.Produce(t, b.Addr(), topic, testkit.Value("hello"))
	require.Equal(t, "hello", string(testkit.SingleRecord(t, b.Addr(), topic).Value))
}

func TestNewBrokerTestSettings(t *testing.T) {
	if testkit.External() {
		t.Skip("checks the embedded broker's settings")
	}
	t.Parallel()
	b := testkit.NewBroker(t)
	cfg := b.Server().Config()
	require.Zero(t, cfg.GroupInitialRebalanceDelayMs, "no initial rebalance delay")
	require.Equal(t, int32(1), cfg.OffsetsTopicNumPartitions)
	require.Len(t, cfg.LogDirs, 1)
	require.DirExists(t, cfg.LogDirs[0])
}

func TestWithTopicCreatesPartitionsAndConfigs(t *testing.T) {
	t.Parallel()
	b := testkit.NewBroker(t,
		testkit.WithTopic("orders", 3, map[string]string{"cleanup.policy": "compact", "retention.ms": "60000"}),
		testkit.WithTopic("defaults", 0, nil),
	)
	adm := admin(t, b.Bootstrap())
	details, err := adm.ListTopics(ctx(t), b.Topic("orders"), b.Topic("defaults"))
	require.NoError(t, err)
	require.NoError(t, details.Error())
	require.Len(t, details[b.Topic("orders")].Partitions, 3)
	require.NotEmpty(t, details[b.Topic("defaults")].Partitions, "num.partitions of the broker")

	cfgs, err := adm.DescribeTopicConfigs(ctx(t), b.Topic("orders"))
	require.NoError(t, err)
	got := map[string]string{}
	for _, c := range cfgs[0].Configs {
		if c.Value != nil {
			got[c.Key] = *c.Value
		}
	}
	require.Equal(t, "compact", got["cleanup.policy"])
	require.Equal(t, "60000", got["retention.ms"])
}

func TestTopicNamesOnEmbeddedBroker(t *testing.T) {
	if testkit.External() {
		t.Skip("names are unique against an external cluster")
	}
	t.Parallel()
	b := testkit.NewBroker(t, testkit.WithTopic("orders", 1, nil))
	require.Equal(t, "orders", b.Topic("orders"))
	require.Equal(t, "refunds", b.CreateTopic(t, "refunds", 2, nil))
	require.Equal(t, map[int32]int64{0: 0, 1: 0}, testkit.EndOffsets(t, b.Addr(), "refunds"))
}

func TestWithProperty(t *testing.T) {
	if testkit.External() {
		t.Skip("broker properties apply to the embedded broker only")
	}
	t.Parallel()
	b := testkit.NewBroker(t,
		testkit.WithProperty("auto.create.topics.enable", "false"),
		testkit.WithProperty("num.partitions", "5"),
	)
	require.False(t, b.Server().Config().AutoCreateTopicsEnable)
	require.Equal(t, int32(5), b.Server().Config().NumPartitions)

	msg := failure(t, func(ft testing.TB) {
		testkit.NewBroker(ft, testkit.WithProperty("num.partitions", "many"))
	})
	require.Contains(t, msg, "num.partitions=many")
}

func TestNewBrokerWithLogs(t *testing.T) {
	if testkit.External() {
		t.Skip("logs come from the embedded broker")
	}
	t.Parallel()
	b := testkit.NewBroker(t, testkit.WithLogs(), testkit.WithTopic("logged", 1, nil))
	testkit.Produce(t, b.Addr(), "logged", testkit.Value("x"))
}

func TestNewBrokerRejectsBrokers(t *testing.T) {
	msg := failure(t, func(ft testing.TB) { testkit.NewBroker(ft, testkit.Brokers(3)) })
	require.Contains(t, msg, "NewCluster")
}

func TestCreateTopicFailureNamesTopic(t *testing.T) {
	t.Parallel()
	b := testkit.NewBroker(t, testkit.WithTopic("taken", 1, nil))
	msg := failure(t, func(ft testing.TB) { b.CreateTopic(ft, "taken", 1, nil) })
	require.Contains(t, msg, b.Topic("taken"))
	require.Contains(t, msg, "TOPIC_ALREADY_EXISTS")
}

// Each parallel test has its own broker: nothing one produces reaches the
// other.
func TestParallelTestsAreIsolated(t *testing.T) {
	for _, name := range []string{"a", "b", "c"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := testkit.NewBroker(t, testkit.WithTopic("shared", 1, nil))
			topic := b.Topic("shared")
			testkit.Produce(t, b.Addr(), topic, testkit.Value(name))
			require.Equal(t, name, string(testkit.SingleRecord(t, b.Addr(), topic).Value))
		})
	}
}

func TestUniqueName(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 100 {
		n := testkit.UniqueName(t, "orders")
		require.False(t, seen[n], "%s twice", n)
		seen[n] = true
		require.True(t, strings.HasPrefix(n, "orders-TestUniqueName-"), n)
	}
	t.Run("odd/characters here", func(t *testing.T) {
		n := testkit.UniqueName(t, "a b:c")
		require.Regexp(t, `^a-b-c-TestUniqueName-odd-characters_here-[0-9a-f]{6}-[0-9]+$`, n)
	})
	t.Run(strings.Repeat("long", 100), func(t *testing.T) {
		n := testkit.UniqueName(t, "x")
		require.LessOrEqual(t, len(n), 249)
		require.NotEqual(t, n, testkit.UniqueName(t, "x"))
	})
}

func TestEventually(t *testing.T) {
	t.Parallel()
	calls := 0
	testkit.Eventually(t, time.Second, func() error {
		if calls++; calls < 3 {
			return errTest("not yet")
		}
		return nil
	})
	require.Equal(t, 3, calls)

	msg := failure(t, func(ft testing.TB) {
		n := 0
		testkit.Eventually(ft, 50*time.Millisecond, func() error {
			n++
			return errTest("saw " + strings.Repeat("x", n%3+1))
		})
	})
	require.Contains(t, msg, "still failing after 50ms")
	require.Regexp(t, `\(\d+ attempts\): saw x+$`, msg)
}

type errTest string

func (e errTest) Error() string { return string(e) }

func TestBrokerKillAndRestartKeepsRecords(t *testing.T) {
	if testkit.External() {
		t.Skip("an external cluster cannot be killed")
	}
	t.Parallel()
	b := testkit.NewBroker(t, testkit.WithTopic("kept", 1, nil))
	testkit.Produce(t, b.Addr(), "kept", testkit.Value("before"))

	b.Kill(t)
	require.Nil(t, b.Server(), "a killed broker is down")
	b.Restart(t)
	testkit.Produce(t, b.Addr(), "kept", testkit.Value("after kill"))

	b.Restart(t) // a clean stop and start
	got := testkit.Records(t, b.Addr(), "kept")
	require.Len(t, got, 2)
	require.Equal(t, "before", string(got[0].Value))
	require.Equal(t, "after kill", string(got[1].Value))
	require.Equal(t, got, testkit.CommittedRecords(t, b.Addr(), "kept"), "no transactions: read_committed reads the same")
}
