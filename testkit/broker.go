package testkit

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/kspring/kspring/broker"
)

// Broker is a running test broker.
type Broker struct {
	*broker.Broker
	t testing.TB
}

// Option configures a test broker.
type Option func(*options)

type options struct {
	props  map[string]string
	topics []topicSpec
	logs   bool
}

type topicSpec struct {
	name       string
	partitions int32
	configs    map[string]string
}

// WithTopic creates a topic before NewBroker returns.
func WithTopic(name string, partitions int32, configs map[string]string) Option {
	return func(o *options) { o.topics = append(o.topics, topicSpec{name, partitions, configs}) }
}

// WithProperty sets a broker property by its Kafka name, e.g.
// WithProperty("auto.create.topics.enable", "false").
func WithProperty(key, value string) Option {
	return func(o *options) { o.props[key] = value }
}

// WithLogs sends the broker's logs to the test log.
func WithLogs() Option { return func(o *options) { o.logs = true } }

// NewBroker starts a broker for the test and closes it when the test ends.
// It fails the test if the broker cannot start.
func NewBroker(t testing.TB, opts ...Option) *Broker {
	t.Helper()
	o := options{props: map[string]string{}}
	for _, opt := range opts {
		opt(&o)
	}
	cfg := broker.DefaultConfig()
	cfg.Listeners = []string{"PLAINTEXT://127.0.0.1:0"}
	cfg.LogDirs = []string{t.TempDir()}
	cfg.GroupInitialRebalanceDelayMs = time.Millisecond
	cfg.OffsetsTopicNumPartitions = 4
	cfg.LogRetentionCheckIntervalMs = time.Second
	cfg.LogSegmentDeleteDelayMs = time.Millisecond
	for k, v := range o.props {
		if err := cfg.Set(k, v); err != nil {
			t.Fatalf("testkit: %v", err)
		}
	}
	logger := zap.NewNop()
	if o.logs {
		logger = zaptest.NewLogger(t)
	}
	b, err := broker.New(cfg, broker.WithLogger(logger))
	if err != nil {
		t.Fatalf("testkit: new broker: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := b.Start(ctx); err != nil {
		t.Fatalf("testkit: start broker: %v", err)
	}
	tb := &Broker{Broker: b, t: t}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := b.Close(ctx); err != nil {
			t.Errorf("testkit: close broker: %v", err)
		}
	})
	for _, s := range o.topics {
		tb.CreateTopic(t, s.name, s.partitions, s.configs)
	}
	return tb
}

// CreateTopic creates a topic through the Kafka protocol and fails the test
// if that fails.
func (b *Broker) CreateTopic(t testing.TB, name string, partitions int32, configs map[string]string) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()))
	if err != nil {
		t.Fatalf("testkit: client: %v", err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfgs := map[string]*string{}
	for k, v := range configs {
		cfgs[k] = &v
	}
	resp, err := kadm.NewClient(cl).CreateTopic(ctx, partitions, 1, cfgs, name)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		t.Fatalf("testkit: create topic %q: %v", name, err)
	}
}
