package testkit

import "maps"

// Option configures [NewBroker] and [NewCluster].
type Option func(*options)

type options struct {
	props    map[string]string
	topics   []topicSpec
	logs     bool
	brokers  int
	security securityOpts
}

type topicSpec struct {
	name       string
	partitions int32
	configs    map[string]string
}

func newOptions(opts []Option) options {
	o := options{props: map[string]string{}, brokers: 1}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// WithTopic creates a topic before NewBroker (or NewCluster) returns, with
// partitions partitions (0: the broker's num.partitions) and the given topic
// configs (Kafka's names, e.g. "cleanup.policy": "compact"; nil for none).
//
// Against an external cluster ([External]) the topic gets a unique name; ask
// [Broker.Topic] for it. Against the embedded broker it keeps name.
func WithTopic(name string, partitions int32, configs map[string]string) Option {
	return func(o *options) {
		o.topics = append(o.topics, topicSpec{name, partitions, maps.Clone(configs)})
	}
}

// WithProperty sets a broker property by its server.properties name, e.g.
// WithProperty("auto.create.topics.enable", "false"). It overrides the test
// settings NewBroker starts from. An external cluster cannot be configured:
// there the property is logged and not applied.
func WithProperty(key, value string) Option {
	return func(o *options) { o.props[key] = value }
}

// WithLogs sends the broker's logs to the test log (t.Log).
func WithLogs() Option { return func(o *options) { o.logs = true } }

// Brokers sets how many brokers [NewCluster] starts (default 1).
func Brokers(n int) Option { return func(o *options) { o.brokers = n } }
