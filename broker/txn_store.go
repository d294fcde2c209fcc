package broker

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kspring/kspring/broker/internal/batch"
	"github.com/kspring/kspring/broker/internal/cluster"
	"github.com/kspring/kspring/broker/internal/replica"
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
	res, err := p.Append(b, -1, now)
	if err == nil {
		wctx, cancel := context.WithTimeout(ctx, txnAppendTimeout)
		err = p.WaitReplicated(wctx, res.LastOffset+1)
		cancel()
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, replica.ErrNotLeader), errors.Is(err, replica.ErrDeleted):
		return fmt.Errorf("%s-%d: %w", wire.TransactionTopic, partition, kerr.NotLeaderForPartition)
	case errors.Is(err, replica.ErrNotEnoughReplicas):
		return fmt.Errorf("%s-%d: %w", wire.TransactionTopic, partition, kerr.NotEnoughReplicas)
	case errors.Is(err, replica.ErrNotEnoughReplicasAfterAppend):
		return fmt.Errorf("%s-%d: %w", wire.TransactionTopic, partition, kerr.NotEnoughReplicasAfterAppend)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return fmt.Errorf("%s-%d: %w", wire.TransactionTopic, partition, kerr.RequestTimedOut)
	}
	return fmt.Errorf("%s-%d: %w: %v", wire.TransactionTopic, partition, kerr.KafkaStorageError, err)
}

// Load replays a partition of __transaction_state in offset order up to
// its log end.
func (s *txnStore) Load(ctx context.Context, partition int32, fn func(key, value []byte) error) error {
	p, ok := s.topics.parts.Get(wire.TransactionTopic, partition)
	if !ok {
		return nil
	}
	off := p.StartOffset()
	for off < p.EndOffset() {
		if err := ctx.Err(); err != nil {
			return err
		}
		data, err := p.Log().Read(off, 1<<20, p.EndOffset())
		if err != nil {
			return fmt.Errorf("%s-%d at %d: %w", wire.TransactionTopic, partition, off, err)
		}
		if len(data) == 0 {
			break
		}
		err = batch.Split(data, func(b []byte) error {
			h, err := batch.ParseHeader(b)
			if err != nil {
				return err
			}
			off = h.LastOffset() + 1
			if h.IsControl() {
				return nil
			}
			return batch.Records(b, func(r batch.Record) error { return fn(r.Key, r.Value) })
		})
		if err != nil {
			return fmt.Errorf("%s-%d: %w", wire.TransactionTopic, partition, err)
		}
	}
	return nil
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
