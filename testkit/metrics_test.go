package testkit_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kspring/kspring/testkit"
)

// TestClusterMetricsUnderReplicated scrapes the partition leader's
// /metrics in a 3-broker cluster: with a follower down, the partition is
// under-replicated and the leader counts an ISR shrink; with the follower
// back, it is not, and the leader counts an expansion.
func TestClusterMetricsUnderReplicated(t *testing.T) {
	t.Parallel()
	c := testkit.NewCluster(t, testkit.Brokers(3),
		testkit.WithProperty("metrics.prometheus.listener", "127.0.0.1:0"))
	topic := c.CreateTopic(t, "orders", 1, nil)
	leader := c.Leader(t, topic, 0)
	follower := leader%3 + 1
	url := "http://" + c.Broker(leader).MetricsAddr() + "/metrics"

	value := func(name string, labels ...string) (float64, error) {
		m, err := testkit.Scrape(t.Context(), url)
		if err != nil {
			return 0, err
		}
		v, _ := m.Value(name, labels...)
		return v, nil
	}
	waitFor := func(name string, want func(float64) bool, what string, labels ...string) {
		t.Helper()
		testkit.Eventually(t, testkit.WaitTimeout, func() error {
			v, err := value(name, labels...)
			if err != nil {
				return err
			}
			if !want(v) {
				return fmt.Errorf("%s%v = %v, want %s", name, labels, v, what)
			}
			return nil
		})
	}
	testkit.Produce(t, c.Bootstrap(), topic, testkit.Record{Value: []byte("a")})
	waitFor("kafka_server_replicamanager_underreplicatedpartitions", func(v float64) bool { return v == 0 }, "0")
	shrinks, err := value("kafka_server_replicamanager_isrshrinks_total")
	require.NoError(t, err)

	c.Stop(follower)
	waitFor("kafka_server_replicamanager_underreplicatedpartitions", func(v float64) bool { return v > 0 }, "> 0")
	waitFor("kafka_cluster_partition_underreplicated", func(v float64) bool { return v == 1 }, "1", "topic", topic, "partition", "0")
	waitFor("kafka_server_replicamanager_isrshrinks_total", func(v float64) bool { return v > shrinks }, fmt.Sprintf("> %v", shrinks))
	expands, err := value("kafka_server_replicamanager_isrexpands_total")
	require.NoError(t, err)

	c.Restart(follower)
	waitFor("kafka_server_replicamanager_underreplicatedpartitions", func(v float64) bool { return v == 0 }, "0")
	waitFor("kafka_server_replicamanager_isrexpands_total", func(v float64) bool { return v > expands }, fmt.Sprintf("> %v", expands))
	require.Equal(t, leader, c.Leader(t, topic, 0), "the leader stayed; its scrape is the partition's")
}
