package broker

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"go.uber.org/zap"

	"github.com/kspring/kspring/broker/internal/cluster"
	"github.com/kspring/kspring/broker/internal/replica"
	"github.com/kspring/kspring/broker/internal/topicconf"
	"github.com/kspring/kspring/broker/internal/wire"
)

// topics keeps cluster metadata and partitions in step: every topic change
// goes through it, whether a client asked for it or the broker made an
// internal topic. It implements wire.Topics.
type topics struct {
	cfg    *Config
	meta   *cluster.Node
	parts  *replica.Manager
	member *member
	sync   func() // applies the metadata to the partitions now
	logger *zap.Logger
}

var _ wire.Topics = (*topics)(nil)

// settings returns the partition settings of a topic with the given overrides.
func (t *topics) settings(overrides map[string]string) (replica.Settings, error) {
	s, err := replica.SettingsFromConfigs(topicconf.Effective(overrides, t.cfg.topicDefaults()))
	s.Log.ProducerIDExpiration = t.cfg.ProducerIDExpirationMs // a broker setting, not a topic's
	return s, err
}

// errNotApplied: the controller made a change that this broker's metadata
// does not show yet.
var errNotApplied = errors.New("the metadata change has not reached this broker yet")

// local runs a metadata change on this node if it is the active
// controller; otherwise remote sends it to the controller. Either way, the
// change is in this broker's metadata, and its partitions follow it, when
// the call returns.
func (t *topics) change(ctx context.Context, local func(context.Context) error, remote func(context.Context) error, applied func(*cluster.State) bool) error {
	if t.meta.IsController() {
		err := local(ctx)
		if err == nil || !errors.Is(err, cluster.ErrNotController) {
			t.sync()
			return err
		}
	}
	if err := remote(ctx); err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for {
		ch := t.meta.Changed()
		if applied(t.meta.State()) {
			t.sync()
			return nil
		}
		select {
		case <-ch:
		case <-wctx.Done():
			return fmt.Errorf("%w: %v", errNotApplied, wctx.Err())
		}
	}
}

func (t *topics) Create(ctx context.Context, spec cluster.Topic) (cluster.Topic, error) {
	if _, err := t.settings(spec.Configs); err != nil {
		return cluster.Topic{}, err
	}
	var out cluster.Topic
	err := t.change(ctx,
		func(ctx context.Context) (err error) { out, err = t.meta.CreateTopic(ctx, spec); return err },
		func(ctx context.Context) error { return t.forwardCreate(ctx, spec) },
		func(st *cluster.State) bool {
			tp, ok := st.Topics[spec.Name]
			if ok {
				out = tp.Clone()
			}
			return ok
		})
	return out, err
}

// ensure returns the topic, creating it from spec if it does not exist.
func (t *topics) ensure(ctx context.Context, spec cluster.Topic) (cluster.Topic, error) {
	if tp, ok := t.meta.Topic(spec.Name); ok {
		return tp, nil
	}
	tp, err := t.Create(ctx, spec)
	if errors.Is(err, cluster.ErrTopicExists) || errors.Is(err, kerr.TopicAlreadyExists) {
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
// when a client first looks for a group coordinator, with
// offsets.topic.replication.factor replicas (fewer while fewer brokers are
// alive, as Kafka's first creation does).
func (t *topics) EnsureOffsetsTopic(ctx context.Context) error {
	rf := t.cfg.OffsetsTopicReplicationFactor
	if live := int16(len(t.meta.State().LiveBrokers())); live > 0 && rf > live {
		rf = live
	}
	_, err := t.ensure(ctx, cluster.Topic{
		Name:              wire.OffsetsTopic,
		Partitions:        t.cfg.OffsetsTopicNumPartitions,
		ReplicationFactor: max(rf, 1),
		Internal:          true,
		Configs: map[string]string{
			"cleanup.policy": "compact",
			"segment.bytes":  strconv.Itoa(100 << 20),
		},
	})
	return err
}

func (t *topics) Delete(ctx context.Context, name string) error {
	return t.change(ctx,
		func(ctx context.Context) error { _, err := t.meta.DeleteTopic(ctx, name); return err },
		func(ctx context.Context) error { return t.forwardDelete(ctx, name) },
		func(st *cluster.State) bool { _, ok := st.Topics[name]; return !ok })
}

func (t *topics) AddPartitions(ctx context.Context, name string, n int32) error {
	return t.change(ctx,
		func(ctx context.Context) error { _, err := t.meta.SetPartitions(ctx, name, n); return err },
		func(ctx context.Context) error { return t.forwardCreatePartitions(ctx, name, n) },
		func(st *cluster.State) bool { tp, ok := st.Topics[name]; return !ok || tp.Partitions >= n })
}

func (t *topics) SetConfigs(ctx context.Context, name string, configs map[string]string) error {
	if _, err := t.settings(configs); err != nil {
		return err
	}
	return t.change(ctx,
		func(ctx context.Context) error { _, err := t.meta.SetConfigs(ctx, name, configs); return err },
		func(ctx context.Context) error { return t.forwardConfigs(ctx, name, configs) },
		func(st *cluster.State) bool {
			tp, ok := st.Topics[name]
			return !ok || maps.Equal(tp.Configs, configs) || len(tp.Configs) == 0 && len(configs) == 0
		})
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
