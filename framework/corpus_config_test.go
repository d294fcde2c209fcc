package framework

import (
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/stretchr/testify/require"
)

// TestCorpusPassthroughReachesSarama: the properties of
// testdata/spring/passthrough take effect in the sarama configs the module
// builds (corpus_test.go runs the same file end to end).
func TestCorpusPassthroughReachesSarama(t *testing.T) {
	p, err := LoadProperties("testdata/spring/passthrough", nil)
	require.NoError(t, err)
	cfg, err := LoadConfig(p)
	require.NoError(t, err)

	prod, err := cfg.producerConfig()
	require.NoError(t, err)
	require.True(t, prod.Producer.Idempotent, "enable.idempotence")
	require.Equal(t, 1, prod.Net.MaxOpenRequests, "sarama's idempotent producer sends one request at a time")
	require.Equal(t, 10*time.Millisecond, prod.Producer.Flush.Frequency, "linger.ms")
	require.Equal(t, 20*time.Second, prod.Net.ReadTimeout, "request.timeout.ms from spring.kafka.properties")

	cons, err := cfg.listenerConfig().Sarama()
	require.NoError(t, err)
	require.Equal(t, sarama.ReadCommitted, cons.Consumer.IsolationLevel, "isolation.level")
	require.Equal(t, 10*time.Minute, cons.Consumer.Group.Rebalance.Timeout, "max.poll.interval.ms")
	require.Equal(t, 30*time.Second, cons.Consumer.Group.Session.Timeout, "session.timeout.ms")
	require.Equal(t, 3*time.Second, cons.Consumer.Group.Heartbeat.Interval, "heartbeat.interval.ms")
	require.Equal(t, 20*time.Second, cons.Net.ReadTimeout, "request.timeout.ms from spring.kafka.properties")
	require.Len(t, cons.Consumer.Group.Rebalance.GroupStrategies, 1)
	require.Equal(t, sarama.RoundRobinBalanceStrategyName, cons.Consumer.Group.Rebalance.GroupStrategies[0].Name())

	admin, _, err := cfg.adminConfig(prod)
	require.NoError(t, err)
	require.Equal(t, 15*time.Second, admin.Net.ReadTimeout, "spring.kafka.admin.properties.request.timeout.ms")
}

// TestCorpusTransactionsConfig: testdata/spring/transactions makes the
// templates transactional and the consumers read committed data.
func TestCorpusTransactionsConfig(t *testing.T) {
	p, err := LoadProperties("testdata/spring/transactions", nil)
	require.NoError(t, err)
	cfg, err := LoadConfig(p)
	require.NoError(t, err)
	require.Equal(t, "ledger-service-tx-", cfg.Producer.TransactionIDPrefix)
	prod, err := cfg.producerConfig()
	require.NoError(t, err)
	require.True(t, prod.Producer.Idempotent, "a transactional producer is idempotent")
	cons, err := cfg.listenerConfig().Sarama()
	require.NoError(t, err)
	require.Equal(t, sarama.ReadCommitted, cons.Consumer.IsolationLevel, "isolation-level")
}
