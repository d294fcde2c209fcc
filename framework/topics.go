package framework

import (
	"errors"
	"fmt"
	"time"

	"github.com/IBM/sarama"
	"go.uber.org/fx"
	"go.uber.org/zap"
)

// NewTopic declares a topic the application needs: Spring's NewTopic bean.
// Declared topics are created at start, before any listener starts; a topic
// that exists with fewer partitions is grown, as Spring's KafkaAdmin does.
// Name and Configs values may hold ${...} placeholders, resolved from the
// configuration as a @Value-injected name would be.
type NewTopic struct {
	Name string
	// Partitions defaults to the broker's num.partitions.
	Partitions int32
	// Replicas defaults to the broker's default.replication.factor.
	Replicas int16
	// Configs are topic configs by Kafka's names (retention.ms, ...).
	Configs map[string]string
}

const topicsGroup = `group:"kspring.topics"`

// Topic declares topics; use it as an fx option next to [Module].
func Topic(topics ...NewTopic) fx.Option {
	opts := make([]fx.Option, 0, len(topics))
	for _, t := range topics {
		opts = append(opts, fx.Supply(fx.Annotate(t, fx.ResultTags(topicsGroup))))
	}
	return fx.Options(opts...)
}

// TopicsReady marks that declared topics have been created. Components that
// must start after that (the listener registry) depend on it.
type TopicsReady struct{ names []string }

type topicsParams struct {
	fx.In
	Lifecycle fx.Lifecycle
	Config    Config
	Client    sarama.Client
	Bootstrap *Bootstrap
	Logger    *zap.Logger
	Props     *Properties
	Topics    []NewTopic `group:"kspring.topics"`
}

func newTopics(p topicsParams) (*TopicsReady, error) {
	ready := &TopicsReady{}
	seen := map[string]bool{}
	topics := make([]NewTopic, 0, len(p.Topics))
	for _, t := range p.Topics {
		t, err := resolveTopic(p.Props, t)
		if err != nil {
			return nil, err
		}
		topics = append(topics, t)
		if t.Name == "" {
			return nil, errors.New("kspring: a declared NewTopic has no name")
		}
		if seen[t.Name] {
			return nil, fmt.Errorf("kspring: topic %q is declared twice", t.Name)
		}
		seen[t.Name] = true
		ready.names = append(ready.names, t.Name)
	}
	if p.Config.Admin.AutoCreate != nil && !*p.Config.Admin.AutoCreate || len(topics) == 0 {
		return ready, nil
	}
	conf, timeout, err := p.Config.adminConfig(p.Client.Config())
	if err != nil {
		return nil, err
	}
	p.Lifecycle.Append(fx.StartHook(func() error {
		return createTopics(p.Bootstrap.Servers, conf, timeout, topics, p.Logger)
	}))
	return ready, nil
}

// resolveTopic resolves the placeholders of t's name and configs.
func resolveTopic(props *Properties, t NewTopic) (NewTopic, error) {
	name, err := props.Resolve(t.Name)
	if err != nil {
		return t, fmt.Errorf("kspring: declared topic %q: %w", t.Name, err)
	}
	out := t
	out.Name = name
	if len(t.Configs) > 0 {
		out.Configs = make(map[string]string, len(t.Configs))
		for k, v := range t.Configs {
			if out.Configs[k], err = props.Resolve(v); err != nil {
				return t, fmt.Errorf("kspring: declared topic %q: config %s: %w", name, k, err)
			}
		}
	}
	return out, nil
}

// createTopics creates missing topics and grows existing ones, through a
// short-lived admin client bounded by timeout.
func createTopics(servers []string, base *sarama.Config, timeout time.Duration, topics []NewTopic, logger *zap.Logger) error {
	conf := *base
	conf.Admin.Timeout = timeout
	conf.Metadata.Full = true // the admin lists all topics
	if !conf.Version.IsAtLeast(sarama.V2_4_0_0) {
		conf.Version = sarama.V2_4_0_0 // broker-default partitions (-1) need CreateTopics v4
	}
	admin, err := sarama.NewClusterAdmin(servers, &conf)
	if err != nil {
		return fmt.Errorf("kspring: admin client: %w", err)
	}
	defer admin.Close()
	existing, err := admin.ListTopics()
	if err != nil {
		return fmt.Errorf("kspring: list topics: %w", err)
	}
	for _, t := range topics {
		if cur, ok := existing[t.Name]; ok {
			if t.Partitions > cur.NumPartitions {
				if err := admin.CreatePartitions(t.Name, t.Partitions, nil, false); err != nil {
					return fmt.Errorf("kspring: topic %q: grow to %d partitions: %w", t.Name, t.Partitions, err)
				}
				logger.Info("grew declared topic", zap.String("topic", t.Name), zap.Int32("partitions", t.Partitions))
			}
			continue
		}
		detail := &sarama.TopicDetail{NumPartitions: -1, ReplicationFactor: -1, ConfigEntries: map[string]*string{}}
		if t.Partitions > 0 {
			detail.NumPartitions = t.Partitions
		}
		if t.Replicas > 0 {
			detail.ReplicationFactor = t.Replicas
		}
		for k, v := range t.Configs {
			detail.ConfigEntries[k] = &v
		}
		err := admin.CreateTopic(t.Name, detail, false)
		if err != nil && !errors.Is(err, sarama.ErrTopicAlreadyExists) {
			return fmt.Errorf("kspring: create topic %q: %w", t.Name, err)
		}
		logger.Info("created declared topic", zap.String("topic", t.Name), zap.Int32("partitions", t.Partitions))
	}
	return nil
}
