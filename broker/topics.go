package broker

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"

	"go.uber.org/zap"

	"github.com/kspring/kspring/broker/internal/cluster"
	"github.com/kspring/kspring/broker/internal/group"
	"github.com/kspring/kspring/broker/internal/replica"
	"github.com/kspring/kspring/broker/internal/topicconf"
	"github.com/kspring/kspring/broker/internal/wire"
)

// topics keeps cluster metadata, partitions and the groups' committed
// offsets in step: every topic change goes through it, whether a client
// asked for it or the broker made an internal topic. It implements
// wire.Topics.
type topics struct {
	cfg    *Config
	meta   *cluster.Store
	parts  *replica.Manager
	groups *group.Coordinator // set by New once the coordinator exists
	logger *zap.Logger

	// mu serializes topic changes. It is held while the group coordinator
	// tombstones a deleted topic's offsets: their appends go to an
	// __consumer_offsets that exists already (there is something to
	// tombstone only if a commit created it), so they never create it,
	// which takes mu.
	mu sync.Mutex
}

var _ wire.Topics = (*topics)(nil)

// settings returns the partition settings of a topic with the given overrides.
func (t *topics) settings(overrides map[string]string) (replica.Settings, error) {
	s, err := replica.SettingsFromConfigs(topicconf.Effective(overrides, t.cfg.topicDefaults()))
	s.Log.ProducerIDExpiration = t.cfg.ProducerIDExpirationMs // a broker setting, not a topic's
	return s, err
}

// openAll opens every partition in the metadata (recovering its log) and
// removes partition directories of topics that no longer exist.
func (t *topics) openAll() error {
	keep := map[string]int32{}
	for _, tp := range t.meta.Topics() {
		keep[tp.Name] = tp.Partitions
		s, err := t.settings(tp.Configs)
		if err != nil {
			return fmt.Errorf("topic %q: %w", tp.Name, err)
		}
		for i := range tp.Partitions {
			if _, err := t.parts.Open(tp.Name, i, s); err != nil {
				return err
			}
		}
	}
	return t.parts.RemoveStray(func(topic string, index int32) bool {
		n, ok := keep[topic]
		return ok && index < n
	})
}

func (t *topics) Create(_ context.Context, name string, partitions int32, rf int16, configs map[string]string) (cluster.Topic, error) {
	return t.create(cluster.Topic{Name: name, Partitions: partitions, ReplicationFactor: rf, Configs: configs})
}

func (t *topics) create(spec cluster.Topic) (cluster.Topic, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s, err := t.settings(spec.Configs)
	if err != nil {
		return cluster.Topic{}, err
	}
	if _, ok := t.meta.Topic(spec.Name); ok {
		return cluster.Topic{}, fmt.Errorf("topic %q: %w", spec.Name, cluster.ErrTopicExists)
	}
	// Partitions first, metadata last: a topic becomes visible to requests
	// only once every partition is open.
	for i := range spec.Partitions {
		if _, err := t.parts.Open(spec.Name, i, s); err != nil {
			_ = t.parts.DeleteTopic(spec.Name)
			return cluster.Topic{}, err
		}
	}
	tp, err := t.meta.CreateTopic(spec)
	if err != nil {
		_ = t.parts.DeleteTopic(spec.Name)
		return cluster.Topic{}, err
	}
	return tp, nil
}

// ensure returns the topic, creating it from spec if it does not exist.
func (t *topics) ensure(spec cluster.Topic) (cluster.Topic, error) {
	if tp, ok := t.meta.Topic(spec.Name); ok {
		return tp, nil
	}
	tp, err := t.create(spec)
	if errors.Is(err, cluster.ErrTopicExists) {
		if tp, ok := t.meta.Topic(spec.Name); ok {
			return tp, nil
		}
	}
	if err == nil {
		t.logger.Info("created internal topic", zap.String("topic", tp.Name), zap.Int32("partitions", tp.Partitions))
	}
	return tp, err
}

// EnsureOffsetsTopic creates __consumer_offsets on first use, as Kafka does
// when a client first looks for a group coordinator.
func (t *topics) EnsureOffsetsTopic(context.Context) error {
	_, err := t.ensure(cluster.Topic{
		Name:              wire.OffsetsTopic,
		Partitions:        t.cfg.OffsetsTopicNumPartitions,
		ReplicationFactor: min(t.cfg.OffsetsTopicReplicationFactor, 1),
		Internal:          true,
		Configs: map[string]string{
			"cleanup.policy": "compact",
			"segment.bytes":  strconv.Itoa(100 << 20),
		},
	})
	return err
}

// Delete deletes a topic: its metadata, then its partitions, then every
// group's committed offsets of it (see removeDeletedOffsets), all before
// another topic change, so that a topic created again under the same name
// starts with nothing committed.
func (t *topics) Delete(ctx context.Context, name string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, err := t.meta.DeleteTopic(name); err != nil {
		return err
	}
	err := t.parts.DeleteTopic(name)
	// The topic is gone whatever the client does now: its offsets go too.
	t.removeDeletedOffsets(context.WithoutCancel(ctx), func(topic string, _ int32) bool { return topic == name })
	return err
}

// removeDeletedOffsets removes the groups' committed offsets of the
// partitions deleted reports, with tombstones in __consumer_offsets, as
// Kafka's group coordinator does when partitions are deleted. A failure to
// write the tombstones is logged, not returned: the partitions are gone
// anyway, and their offsets have left the coordinator's memory; the next
// start removes them again (see removeOrphanOffsets).
func (t *topics) removeDeletedOffsets(ctx context.Context, deleted func(topic string, partition int32) bool) {
	if t.groups == nil {
		return
	}
	if err := t.groups.PartitionsDeleted(ctx, deleted); err != nil {
		t.logger.Warn("could not store the removal of deleted partitions' committed offsets", zap.Error(err))
	}
}

// removeOrphanOffsets removes the groups' committed offsets of partitions
// the metadata does not have: those of a topic deleted while the broker
// was down, or whose tombstones did not reach __consumer_offsets before a
// crash. Commits for partitions that do not exist are refused, so nothing
// else is removed. It runs once the coordinator has loaded its groups.
func (t *topics) removeOrphanOffsets(ctx context.Context) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.removeDeletedOffsets(ctx, func(topic string, partition int32) bool {
		return partition >= t.meta.PartitionCount(topic)
	})
}

func (t *topics) AddPartitions(_ context.Context, name string, n int32) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	tp, ok := t.meta.Topic(name)
	if !ok {
		return fmt.Errorf("topic %q: %w", name, cluster.ErrNoSuchTopic)
	}
	s, err := t.settings(tp.Configs)
	if err != nil {
		return err
	}
	if _, err := t.meta.SetPartitions(name, n); err != nil {
		return err
	}
	for i := tp.Partitions; i < n; i++ {
		if _, err := t.parts.Open(name, i, s); err != nil {
			return err
		}
	}
	return nil
}

func (t *topics) SetConfigs(_ context.Context, name string, configs map[string]string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	s, err := t.settings(configs)
	if err != nil {
		return err
	}
	if _, err := t.meta.SetConfigs(name, configs); err != nil {
		return err
	}
	for _, p := range t.parts.Partitions(name) {
		p.SetSettings(s)
	}
	return nil
}

// topicDefaults returns the broker-level values that topic configs default
// to, keyed by broker property name.
func (c *Config) topicDefaults() map[string]string {
	ms := func(d interface{ Milliseconds() int64 }) string { return strconv.FormatInt(d.Milliseconds(), 10) }
	neverMs := func(v string) string {
		if v == "-1" || v == "0" {
			return "9223372036854775807"
		}
		return v
	}
	retention := ms(c.LogRetentionMs)
	if c.LogRetentionMs < 0 {
		retention = "-1"
	}
	return map[string]string{
		"log.cleanup.policy":          c.LogCleanupPolicy,
		"log.retention.ms":            retention,
		"log.retention.bytes":         strconv.FormatInt(c.LogRetentionBytes, 10),
		"log.segment.bytes":           strconv.FormatInt(c.LogSegmentBytes, 10),
		"log.roll.ms":                 ms(c.LogRollMs),
		"log.flush.interval.messages": strconv.FormatInt(c.LogFlushIntervalMessages, 10),
		"log.flush.interval.ms":       neverMs(ms(c.LogFlushIntervalMs)),
		"log.index.interval.bytes":    strconv.FormatInt(int64(c.LogIndexIntervalBytes), 10),
		"log.segment.delete.delay.ms": ms(c.LogSegmentDeleteDelayMs),
		"log.message.timestamp.type":  c.LogMessageTimestampType,
		"message.max.bytes":           strconv.FormatInt(int64(c.MessageMaxBytes), 10),
		"min.insync.replicas":         strconv.FormatInt(int64(c.MinInsyncReplicas), 10),
	}
}
