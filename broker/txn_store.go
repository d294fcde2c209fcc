package broker

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kspring/kspring/broker/internal/batch"
	"github.com/kspring/kspring/broker/internal/cluster"
	"github.com/kspring/kspring/broker/internal/txn"
	"github.com/kspring/kspring/broker/internal/wire"
)

// txnStore keeps the transaction coordinator's records in
// __transaction_state, a compacted partitioned topic created on first need.
// It implements txn.Store.
type txnStore struct {
	topics *topics
}

var _ txn.Store = (*txnStore)(nil)

// txnAppendTimeout bounds the wait for the ISR, as Kafka's
// request.timeout.ms bounds the coordinator's append.
const txnAppendTimeout = 5 * time.Second

// Append writes one record as its own batch and returns once the ISR has
// it (acks=all, min.insync.replicas honoured).
func (s *txnStore) Append(ctx context.Context, partition int32, key, value []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p, ok := s.topics.parts.Get(wire.TransactionTopic, partition)
	if !ok {
		return fmt.Errorf("%s-%d: %w", wire.TransactionTopic, partition, kerr.UnknownTopicOrPartition)
	}
	now := time.Now()
	b := batch.Build(nil, 0, now.UnixMilli(), []batch.Record{{Key: key, Value: value}})
	return appendToISR(ctx, p, wire.TransactionTopic, partition, b, now, txnAppendTimeout)
}

// Load replays a partition of __transaction_state in offset order up to
// its log end.
func (s *txnStore) Load(ctx context.Context, partition int32, fn func(key, value []byte) error) error {
	p, ok := s.topics.parts.Get(wire.TransactionTopic, partition)
	if !ok {
		return nil
	}
	return replayPartition(ctx, p, wire.TransactionTopic, partition, func(h batch.Header, b []byte) error {
		if h.IsControl() {
			return nil
		}
		return batch.Records(b, func(r batch.Record) error { return fn(r.Key, r.Value) })
	})
}

// EnsureTransactionTopic creates __transaction_state on first need (a
// FindCoordinator for a transactional id), with
// transaction.state.log.replication.factor replicas and
// transaction.state.log.min.isr, both capped at the brokers alive, as
// Kafka's first creation does.
func (t *topics) EnsureTransactionTopic(ctx context.Context) error {
	rf := t.cfg.TransactionStateLogReplicationFactor
	if live := int16(len(t.meta.State().LiveBrokers())); live > 0 && rf > live {
		rf = live
	}
	rf = max(rf, 1)
	_, err := t.ensure(ctx, cluster.Topic{
		Name:              wire.TransactionTopic,
		Partitions:        t.cfg.TransactionStateLogNumPartitions,
		ReplicationFactor: rf,
		Internal:          true,
		Configs: map[string]string{
			"cleanup.policy":      "compact",
			"compression.type":    "uncompressed",
			"min.insync.replicas": strconv.Itoa(int(min(t.cfg.TransactionStateLogMinISR, rf))),
			"segment.bytes":       strconv.Itoa(int(t.cfg.TransactionStateLogSegmentBytes)),
		},
	})
	return err
}

// txnConfigs are the transaction coordinator's settings as DescribeConfigs
// reports them for the broker.
func (c *Config) txnConfigs() []wire.StaticConfig {
	ms := func(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) }
	return []wire.StaticConfig{
		{Name: "transaction.state.log.num.partitions", Value: strconv.Itoa(int(c.TransactionStateLogNumPartitions)), Type: kmsg.ConfigTypeInt},
		{Name: "transaction.state.log.replication.factor", Value: strconv.Itoa(int(c.TransactionStateLogReplicationFactor)), Type: kmsg.ConfigTypeShort},
		{Name: "transaction.state.log.min.isr", Value: strconv.Itoa(int(c.TransactionStateLogMinISR)), Type: kmsg.ConfigTypeInt},
		{Name: "transaction.state.log.segment.bytes", Value: strconv.Itoa(int(c.TransactionStateLogSegmentBytes)), Type: kmsg.ConfigTypeInt},
		{Name: "transaction.max.timeout.ms", Value: ms(c.TransactionMaxTimeoutMs), Type: kmsg.ConfigTypeInt},
		{Name: "transactional.id.expiration.ms", Value: ms(c.TransactionalIDExpirationMs), Type: kmsg.ConfigTypeInt},
		{Name: "transaction.abort.timed.out.transaction.cleanup.interval.ms", Value: ms(c.TransactionAbortTimedOutCleanupIntervalMs), Type: kmsg.ConfigTypeInt},
		{Name: "transaction.remove.expired.transaction.cleanup.interval.ms", Value: ms(c.TransactionRemoveExpiredCleanupIntervalMs), Type: kmsg.ConfigTypeInt},
	}
}
