package testkit_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kspring/kspring/testkit"
)

// The external mode, tested against an embedded broker standing in for the
// user's cluster.
func TestExternalClusterFromEnvironment(t *testing.T) {
	cluster := testkit.NewBroker(t)
	adm := admin(t, cluster.Bootstrap())
	t.Setenv(testkit.BootstrapEnv, " "+cluster.Addr()+" , ")

	var topic string
	t.Run("suite", func(t *testing.T) {
		require.True(t, testkit.External())
		b := testkit.NewBroker(t,
			testkit.WithTopic("orders", 2, map[string]string{"retention.ms": "60000"}),
			testkit.WithProperty("num.partitions", "7"), // logged, not applied
		)
		require.True(t, b.External())
		require.Nil(t, b.Server())
		require.Equal(t, []string{cluster.Addr()}, b.Addrs())

		topic = b.Topic("orders")
		require.NotEqual(t, "orders", topic)
		require.Contains(t, topic, "orders-TestExternalClusterFromEnvironment-suite-")
		require.Equal(t, topic, b.Topic("orders"), "stable once chosen")

		details, err := adm.ListTopics(ctx(t), topic)
		require.NoError(t, err)
		require.Len(t, details[topic].Partitions, 2, "created on the external cluster")

		testkit.Produce(t, b.Addr(), topic, testkit.KeyValue("k", "v"))
		require.Equal(t, "v", string(testkit.ConsumeN(t, b.Addr(), topic, 1, 10*time.Second)[0].Value))

		other := b.CreateTopic(t, "orders-dlt", 1, nil)
		require.Equal(t, other, b.Topic("orders-dlt"))
		require.NotEqual(t, "orders-dlt", other)

		skipped := run(t, func(ft testing.TB) { testkit.NewCluster(ft) })
		require.True(t, skipped.Skipped(), "NewCluster needs embedded brokers")
	})

	// A new client: kgo caches metadata for a moment.
	details, err := admin(t, cluster.Bootstrap()).ListTopics(ctx(t), topic)
	require.NoError(t, err)
	require.False(t, details.Has(topic) && details[topic].Err == nil,
		"the test's topics are deleted when it ends: %v", details)
}

// Against one shared cluster, tests that ask for the same topic get their own.
func TestExternalTopicsOfParallelTestsDiffer(t *testing.T) {
	cluster := testkit.NewBroker(t)
	t.Setenv(testkit.BootstrapEnv, cluster.Bootstrap())
	names := make(chan string, 2)
	for _, name := range []string{"one", "two"} {
		t.Run(name, func(t *testing.T) {
			b := testkit.NewBroker(t, testkit.WithTopic("orders", 1, nil))
			testkit.Produce(t, b.Addr(), b.Topic("orders"), testkit.Value(name))
			require.Equal(t, name, string(testkit.SingleRecord(t, b.Addr(), b.Topic("orders")).Value))
			names <- b.Topic("orders")
		})
	}
	require.NotEqual(t, <-names, <-names)
}
