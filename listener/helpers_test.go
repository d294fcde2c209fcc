package listener_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/kspring/kspring/listener"
	"github.com/kspring/kspring/template"
	"github.com/kspring/kspring/testkit"
)

const waitFor = 30 * time.Second

// testConfig is a Config tuned for tests: start at the beginning, notice
// rebalances within 100ms, fetch without long waits.
func testConfig() listener.Config {
	return listener.Config{
		Consumer: listener.ConsumerConfig{
			AutoOffsetReset:   "earliest",
			HeartbeatInterval: listener.Duration(100 * time.Millisecond),
			FetchMaxWait:      listener.Duration(100 * time.Millisecond),
			Properties: map[string]string{
				"session.timeout.ms": "10000",
				"retry.backoff.ms":   "50",
			},
		},
	}
}

// broker starts a broker with topics of the given partition counts.
func broker(t *testing.T, topics map[string]int32) *testkit.Broker {
	t.Helper()
	var opts []testkit.Option
	for name, n := range topics {
		opts = append(opts, testkit.WithTopic(name, n, nil))
	}
	return testkit.NewBroker(t, opts...)
}

// groupID returns the consumer group the test calls id, for use as a
// listener id (the id is the group) or a group: id itself on the embedded
// broker, a name unique to the test and run against an external cluster,
// where the groups of other tests and earlier runs live on.
func groupID(t testing.TB, b *testkit.Broker, id string) string {
	t.Helper()
	if !b.External() {
		return id
	}
	return testkit.UniqueName(t, id)
}

// topicNamed creates a topic named exactly name, with partitions partitions,
// and returns name. It is for names derived from a topic of the test (a
// dead-letter topic "<topic>-dlt", a pattern's "<prefix>-a"), which
// [testkit.Broker.Topic] would rename. On an external cluster the topic is
// deleted when the test ends; call it before the registry is made (see
// [dropAtEnd]), or use dropAtEnd and [createTopic] apart.
func topicNamed(t testing.TB, b *testkit.Broker, name string, partitions int32) string {
	t.Helper()
	dropAtEnd(t, b, name)
	return createTopic(t, b, name, partitions)
}

// createTopic creates a topic named exactly name, with partitions partitions,
// and returns name. Against an external cluster nothing deletes it: pair it
// with [dropAtEnd].
func createTopic(t testing.TB, b *testkit.Broker, name string, partitions int32) string {
	t.Helper()
	if !b.External() {
		return b.CreateTopic(t, name, partitions, nil)
	}
	admin := newAdmin(t, b.Addr())
	defer func() { _ = admin.Close() }()
	require.NoError(t, admin.CreateTopic(name, &sarama.TopicDetail{NumPartitions: partitions, ReplicationFactor: -1}, false),
		"create topic %q", name)
	return name
}

// dropAtEnd deletes the topics named when the test ends, on an external
// cluster: topics the test made under derived names, or that its listeners
// created (retry and dead-letter topics). Call it before the registry is
// made, so that the topics go after the listeners stopped. The embedded
// broker goes away with the test and needs none of this.
func dropAtEnd(t testing.TB, b *testkit.Broker, names ...string) {
	t.Helper()
	if !b.External() {
		return
	}
	t.Cleanup(func() {
		admin := newAdmin(t, b.Addr())
		defer func() { _ = admin.Close() }()
		for _, name := range names {
			if err := admin.DeleteTopic(name); err != nil && !errors.Is(err, sarama.ErrUnknownTopicOrPartition) {
				t.Logf("delete topic %q: %v", name, err)
			}
		}
	})
}

func newAdmin(t testing.TB, addr string) sarama.ClusterAdmin {
	t.Helper()
	cfg := sarama.NewConfig()
	cfg.Version = sarama.DefaultVersion
	a, err := sarama.NewClusterAdmin([]string{addr}, cfg)
	require.NoError(t, err)
	return a
}

// sender returns a bytes template to the broker, closed when the test ends.
func sender(t testing.TB, addr string) *template.Template[[]byte, []byte] {
	t.Helper()
	tp, err := template.Dial[[]byte, []byte]([]string{addr},
		template.Config{RequestTimeoutMs: 5000, MaxBlockMs: 5000, DeliveryTimeoutMs: 20000})
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		require.NoError(t, tp.Close(ctx))
	})
	return tp
}

// registry returns a registry on the broker, stopped when the test ends.
func registry(t *testing.T, addr string, cfg listener.Config, opts ...listener.RegistryOption) *listener.Registry {
	t.Helper()
	opts = append([]listener.RegistryOption{listener.WithLogger(zaptest.NewLogger(t))}, opts...)
	r, err := listener.NewRegistry([]string{addr}, cfg, opts...)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		require.NoError(t, r.Stop(ctx))
	})
	return r
}

func start(t *testing.T, r *listener.Registry) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	require.NoError(t, r.Start(ctx))
}

// send writes values to topic (to partition p when p >= 0) and waits for them.
func send(t testing.TB, s *template.Template[[]byte, []byte], topic string, p int32, key string, values ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	var fs []*template.Future[[]byte, []byte]
	for _, v := range values {
		rec := template.ProducerRecord[[]byte, []byte]{Topic: topic, Value: []byte(v)}
		if key != "" {
			k := []byte(key)
			rec.Key = &k
		}
		if p >= 0 {
			pp := p
			rec.Partition = &pp
		}
		fs = append(fs, s.SendRecord(ctx, rec))
	}
	for _, f := range fs {
		_, err := f.Get(ctx)
		require.NoError(t, err)
	}
}

// sendRecord writes one record and waits for it.
func sendRecord(t testing.TB, s *template.Template[[]byte, []byte], rec template.ProducerRecord[[]byte, []byte]) template.RecordMetadata {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	res, err := s.SendRecord(ctx, rec).Get(ctx)
	require.NoError(t, err)
	return res.Metadata
}

// eventually polls cond until it returns nil, failing the test with the last
// error after waitFor.
func eventually(t testing.TB, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("condition not met after %v: %v", waitFor, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// seen collects what handlers got, safely.
type seen[T any] struct {
	mu   sync.Mutex
	vals []T
}

func (s *seen[T]) add(v T) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.vals = append(s.vals, v)
}

func (s *seen[T]) get() []T {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]T(nil), s.vals...)
}

func (s *seen[T]) waitLen(t testing.TB, n int) []T {
	t.Helper()
	eventually(t, func() error {
		if got := len(s.get()); got < n {
			return fmt.Errorf("%d of %d", got, n)
		}
		return nil
	})
	return s.get()
}

// readTopic reads n records of a partition from offset with a plain sarama
// consumer.
func readTopic(t testing.TB, addr, topic string, partition int32, offset int64, n int) []*sarama.ConsumerMessage {
	t.Helper()
	cfg := sarama.NewConfig()
	cfg.Version = sarama.DefaultVersion
	cfg.Consumer.Return.Errors = true
	c, err := sarama.NewConsumer([]string{addr}, cfg)
	require.NoError(t, err)
	defer func() { require.NoError(t, c.Close()) }()
	pc, err := c.ConsumePartition(topic, partition, offset)
	require.NoError(t, err)
	defer func() { require.NoError(t, pc.Close()) }()
	var out []*sarama.ConsumerMessage
	timeout := time.After(waitFor)
	for len(out) < n {
		select {
		case m := <-pc.Messages():
			out = append(out, m)
		case err := <-pc.Errors():
			t.Fatalf("read %s-%d: %v", topic, partition, err)
		case <-timeout:
			t.Fatalf("read %s-%d from %d: got %d of %d records", topic, partition, offset, len(out), n)
		}
	}
	return out
}

func header(m *sarama.ConsumerMessage, key string) []byte {
	for _, h := range m.Headers {
		if string(h.Key) == key {
			return h.Value
		}
	}
	return nil
}

// committed returns the group's committed offset of a partition.
func committed(t testing.TB, addr, group, topic string, partition int32) int64 {
	t.Helper()
	cfg := sarama.NewConfig()
	cfg.Version = sarama.DefaultVersion
	client, err := sarama.NewClient([]string{addr}, cfg)
	require.NoError(t, err)
	defer client.Close()
	om, err := sarama.NewOffsetManagerFromClient(group, client)
	require.NoError(t, err)
	defer om.Close()
	pom, err := om.ManagePartition(topic, partition)
	require.NoError(t, err)
	defer pom.AsyncClose()
	off, _ := pom.NextOffset()
	return off
}

// sendRecordAt writes one record with a create timestamp.
func sendRecordAt(t testing.TB, s *template.Template[[]byte, []byte], topic, value string, ts time.Time) template.RecordMetadata {
	t.Helper()
	return sendRecord(t, s, template.ProducerRecord[[]byte, []byte]{Topic: topic, Value: []byte(value), Timestamp: ts})
}
