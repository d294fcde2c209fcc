package listener_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/kspring/kspring/listener"
	"github.com/kspring/kspring/serde"
)

func TestParseAckMode(t *testing.T) {
	for in, want := range map[string]listener.AckMode{
		"RECORD": listener.AckRecord, "batch": listener.AckBatch, "MANUAL": listener.AckManual,
		"manual_immediate": listener.AckManualImmediate, "manual-immediate": listener.AckManualImmediate,
		"COUNT": listener.AckCount, "TIME": listener.AckTime, "COUNT_TIME": listener.AckCountTime,
	} {
		got, err := listener.ParseAckMode(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
		back, err := listener.ParseAckMode(got.String())
		require.NoError(t, err)
		require.Equal(t, got, back)
	}
	_, err := listener.ParseAckMode("SOMETIMES")
	require.ErrorIs(t, err, listener.ErrConfig)
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"500": 500 * time.Millisecond, "500ms": 500 * time.Millisecond, "10s": 10 * time.Second,
		"2m": 2 * time.Minute, "1h": time.Hour, "1d": 24 * time.Hour, "250us": 250 * time.Microsecond,
		"PT10S": 10 * time.Second, "PT1M30S": 90 * time.Second, "P1DT2H": 26 * time.Hour, "PT0.5S": 500 * time.Millisecond,
	} {
		got, err := listener.ParseDuration(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got.D(), in)
	}
	for _, bad := range []string{"", "ten", "10x", "P", "PT"} {
		_, err := listener.ParseDuration(bad)
		require.Error(t, err, bad)
	}
}

// A Spring Boot application.yml's consumer and listener sections decode into
// Config as they are.
func TestConfigReadsSpringYAML(t *testing.T) {
	const doc = `
consumer:
  group-id: billing
  auto-offset-reset: earliest
  client-id: billing-svc
  max-poll-records: 100
  fetch-min-size: 1KB
  fetch-max-wait: 250ms
  heartbeat-interval: 1s
  isolation-level: read_committed
  enable-auto-commit: false
  properties:
    session.timeout.ms: "15000"
    spring.json.trusted.packages: "*"
listener:
  ack-mode: manual_immediate
  concurrency: 3
  poll-timeout: 3000
  ack-count: 20
  ack-time: PT2S
  missing-topics-fatal: true
  auto-startup: false
  type: single
`
	var cfg listener.Config
	require.NoError(t, yaml.Unmarshal([]byte(doc), &cfg))
	require.Equal(t, "billing", cfg.Consumer.GroupID)
	require.Equal(t, 1024, int(cfg.Consumer.FetchMinSize))
	require.Equal(t, 250*time.Millisecond, cfg.Consumer.FetchMaxWait.D())
	require.Equal(t, 2*time.Second, cfg.Listener.AckTime.D())
	require.Equal(t, 3*time.Second, cfg.Listener.PollTimeout.D())
	require.False(t, *cfg.Listener.AutoStartup)

	sc, err := cfg.Sarama()
	require.NoError(t, err)
	require.Equal(t, sarama.OffsetOldest, sc.Consumer.Offsets.Initial)
	require.Equal(t, sarama.ReadCommitted, sc.Consumer.IsolationLevel)
	require.Equal(t, time.Second, sc.Consumer.Group.Heartbeat.Interval)
	require.Equal(t, 15*time.Second, sc.Consumer.Group.Session.Timeout)
	require.Equal(t, 250*time.Millisecond, sc.Consumer.MaxWaitTime)
	require.Equal(t, int32(1024), sc.Consumer.Fetch.Min)
	require.False(t, sc.Consumer.Offsets.AutoCommit.Enable, "the container commits")

	r, err := listener.NewRegistry([]string{"127.0.0.1:1"}, cfg)
	require.NoError(t, err)
	require.NoError(t, r.Register(listener.Listen("billing", func(context.Context, string) error { return nil },
		listener.Topics("invoices"))))
	c, ok := r.Container("billing")
	require.True(t, ok)
	require.Equal(t, listener.AckManualImmediate, c.AckMode())
	require.Equal(t, 3, c.Concurrency())
	require.False(t, c.AutoStartup())
	require.Equal(t, "billing", c.GroupID(), "the listener id is the group, as Spring's idIsGroup")
}

func TestConfigErrors(t *testing.T) {
	yes := true
	for name, cfg := range map[string]listener.Config{
		"auto commit":      {Consumer: listener.ConsumerConfig{EnableAutoCommit: &yes}},
		"offset reset":     {Consumer: listener.ConsumerConfig{AutoOffsetReset: "none-of-these"}},
		"isolation":        {Consumer: listener.ConsumerConfig{IsolationLevel: "dirty"}},
		"cooperative only": {Consumer: listener.ConsumerConfig{Properties: map[string]string{"partition.assignment.strategy": "org.apache.kafka.clients.consumer.CooperativeStickyAssignor"}}},
		"heartbeat":        {Consumer: listener.ConsumerConfig{HeartbeatInterval: listener.Duration(time.Minute)}},
		"bad number":       {Consumer: listener.ConsumerConfig{Properties: map[string]string{"max.poll.records": "many"}}},
		"ack mode":         {Listener: listener.ContainerConfig{AckMode: "OFTEN"}},
		"listener type":    {Listener: listener.ContainerConfig{Type: "stream"}},
		"negative threads": {Listener: listener.ContainerConfig{Concurrency: -1}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := listener.NewRegistry([]string{"127.0.0.1:1"}, cfg)
			require.ErrorIs(t, err, listener.ErrConfig)
		})
	}
	_, err := listener.NewRegistry(nil, listener.Config{})
	require.ErrorIs(t, err, listener.ErrConfig)
}

// Kafka's default assignors "range, cooperative-sticky" work: the eager one
// is used.
func TestAssignorList(t *testing.T) {
	cfg := listener.Config{Consumer: listener.ConsumerConfig{Properties: map[string]string{
		"partition.assignment.strategy": "org.apache.kafka.clients.consumer.RangeAssignor, org.apache.kafka.clients.consumer.CooperativeStickyAssignor",
	}}}
	sc, err := cfg.Sarama()
	require.NoError(t, err)
	require.Len(t, sc.Consumer.Group.Rebalance.GroupStrategies, 1)
	require.Equal(t, sarama.RangeBalanceStrategyName, sc.Consumer.Group.Rebalance.GroupStrategies[0].Name())
}

func TestRegisterValidates(t *testing.T) {
	props := map[string]string{"app.topic": "orders", "app.group": "billing"}
	resolver := func(k string) (string, bool) { v, ok := props[k]; return v, ok }
	noop := func(context.Context, string) error { return nil }

	tests := []struct {
		name string
		ep   listener.Endpoint
		opts []listener.RegistryOption
		want error
		msg  string
	}{
		{"no topics", listener.Listen("a", noop), nil, listener.ErrNoTopics, `listener "a"`},
		{"unknown placeholder", listener.Listen("b", noop, listener.Topics("${app.missing}")), nil, listener.ErrUnresolvedPlaceholder, "app.missing"},
		{"placeholder in group", listener.Listen("c", noop, listener.Topics("t"), listener.GroupID("${nope}")), nil, listener.ErrUnresolvedPlaceholder, `listener "c"`},
		{"wrong deserializer", listener.Listen("d", noop, listener.Topics("t"), listener.ValueDeserializer(serde.Int32{})), nil, listener.ErrConfig, "serde.Deserializer[string]"},
		{"reply without template", listener.ListenReply("e", func(context.Context, string) (string, error) { return "", nil }, listener.Topics("t")), nil, listener.ErrConfig, "WithReplyTemplate"},
		{"pattern and topics", listener.Listen("f", noop, listener.Topics("t"), listener.TopicPattern("x.*")), nil, listener.ErrConfig, "TopicPattern"},
		{"bad pattern", listener.Listen("g", noop, listener.TopicPattern("(")), nil, listener.ErrConfig, "topic pattern"},
		{"partitions and topics", listener.Listen("h", noop, listener.Topics("t"), listener.Partitions("t", map[int32]int64{0: 0})), nil, listener.ErrConfig, "Partitions"},
		{"retry topics without sender", listener.Listen("i", noop, listener.Topics("t"), listener.RetryTopics(listener.RetryTopicConfig{})), nil, listener.ErrConfig, "sender"},
		{"retry topics on a batch", listener.ListenBatch("j", func(context.Context, []*listener.Record[string]) error { return nil }, listener.Topics("t"), listener.RetryTopics(listener.RetryTopicConfig{})), nil, listener.ErrConfig, "batch"},
		{"endpoint property", listener.Listen("k", noop, listener.Topics("t"), listener.ConsumerProperties(map[string]string{"enable.auto.commit": "true"})), nil, listener.ErrConfig, "enable.auto.commit"},
		{"empty id", listener.Listen("", noop, listener.Topics("t")), nil, listener.ErrConfig, "empty id"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := listener.NewRegistry([]string{"127.0.0.1:1"}, listener.Config{},
				append([]listener.RegistryOption{listener.WithPropertyResolver(resolver)}, tc.opts...)...)
			require.NoError(t, err)
			err = r.Register(tc.ep)
			require.ErrorIs(t, err, tc.want)
			require.ErrorContains(t, err, tc.msg)
			require.Empty(t, r.Containers())
		})
	}

	t.Run("placeholders and duplicates", func(t *testing.T) {
		r, err := listener.NewRegistry([]string{"127.0.0.1:1"}, listener.Config{}, listener.WithPropertyResolver(resolver))
		require.NoError(t, err)
		require.NoError(t, r.Register(listener.Listen("x", noop,
			listener.Topics("${app.topic}", "${app.extra:audit}, more"), listener.GroupID("${app.group}"))))
		c, _ := r.Container("x")
		require.Equal(t, []string{"orders", "audit", "more"}, c.Topics())
		require.Equal(t, "billing", c.GroupID())
		err = r.Register(listener.Listen("x", noop, listener.Topics("t")))
		require.ErrorIs(t, err, listener.ErrDuplicateID)
		require.Len(t, r.Containers(), 1)
		require.ErrorIs(t, r.Unregister(context.Background(), "nope"), listener.ErrUnknownListener)
		require.NoError(t, r.Unregister(context.Background(), "x"))
		require.Empty(t, r.Containers())
	})

	t.Run("id is not the group when told", func(t *testing.T) {
		r, err := listener.NewRegistry([]string{"127.0.0.1:1"}, listener.Config{Consumer: listener.ConsumerConfig{GroupID: "shared"}})
		require.NoError(t, err)
		require.NoError(t, r.Register(listener.Listen("y", noop, listener.Topics("t"), listener.IDIsGroup(false))))
		c, _ := r.Container("y")
		require.Equal(t, "shared", c.GroupID())
	})
}

func TestBackOffs(t *testing.T) {
	fixed := listener.FixedBackOff{Interval: time.Second, MaxRetries: 2}
	for failures, want := range []bool{1: true, 2: true, 3: false} {
		if failures == 0 {
			continue
		}
		d, ok := fixed.NextBackOff(failures)
		require.Equal(t, want, ok, failures)
		if ok {
			require.Equal(t, time.Second, d)
		}
	}
	_, ok := listener.FixedBackOff{MaxRetries: listener.UnlimitedRetries}.NextBackOff(1_000_000)
	require.True(t, ok)

	exp := listener.ExponentialBackOff{InitialInterval: 100 * time.Millisecond, Multiplier: 2, MaxInterval: 500 * time.Millisecond}
	var got []time.Duration
	for i := 1; i <= 5; i++ {
		d, ok := exp.NextBackOff(i)
		require.True(t, ok)
		got = append(got, d)
	}
	require.Equal(t, []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 500 * time.Millisecond, 500 * time.Millisecond}, got)

	exp.MaxRetries = 3
	_, ok = exp.NextBackOff(4)
	require.False(t, ok)
	exp.MaxRetries, exp.MaxElapsedTime = 0, 700*time.Millisecond
	_, ok = exp.NextBackOff(3) // 100+200+400 = 700: still within
	require.True(t, ok)
	_, ok = exp.NextBackOff(4)
	require.False(t, ok)

	d, ok := listener.ExponentialBackOff{}.NextBackOff(1)
	require.True(t, ok)
	require.Equal(t, 2*time.Second, d, "Spring's default initial interval")
}

func TestDefaultErrorHandler(t *testing.T) {
	var recovered []error
	rec := listener.RecovererFunc(func(_ context.Context, _ *listener.RawRecord, err error) error {
		recovered = append(recovered, err)
		return nil
	})
	boom := errors.New("boom")
	fatal := errors.New("fatal")
	h := listener.NewDefaultErrorHandler(listener.WithRecoverer(rec), listener.NotRetryableErrors(fatal))
	raw := &listener.RawRecord{Topic: "t"}
	fail := func(err error, attempt int) bool {
		retry, _ := h.HandleError(context.Background(), &listener.Failure{Records: []*listener.RawRecord{raw}, Err: err, Attempt: attempt})
		return retry
	}
	// Spring's default: ten deliveries in all.
	for attempt := 1; attempt <= 9; attempt++ {
		require.True(t, fail(boom, attempt), "attempt %d", attempt)
	}
	require.False(t, fail(boom, 10))
	require.Equal(t, []error{boom}, recovered)

	recovered = nil
	require.False(t, fail(listener.NotRetryable(boom), 1))
	require.False(t, fail(&serde.DeserializationError{Topic: "t", Cause: boom}, 1))
	require.False(t, fail(errors.Join(fatal, boom), 1))
	require.Len(t, recovered, 3)
	require.True(t, errors.Is(listener.NotRetryable(boom), boom))
	require.True(t, listener.IsNotRetryable(listener.NotRetryable(boom)))
	require.Nil(t, listener.NotRetryable(nil))

	// A recoverer that fails means another delivery.
	failing := listener.NewDefaultErrorHandler(listener.WithBackOff(listener.FixedBackOff{}),
		listener.WithRecoverer(listener.RecovererFunc(func(context.Context, *listener.RawRecord, error) error { return boom })),
		listener.RecoveryRetryInterval(time.Millisecond))
	retry, after := failing.HandleError(context.Background(), &listener.Failure{Records: []*listener.RawRecord{raw}, Err: boom, Attempt: 1})
	require.True(t, retry)
	require.Equal(t, time.Millisecond, after)
}

// The header encodings are those of Java: ByteBuffer.putInt/putLong and
// BigInteger.toByteArray.
func TestHeaderEncodings(t *testing.T) {
	require.Equal(t, []byte{0, 0, 0, 7}, listener.Int32Header(7))
	require.Equal(t, []byte{0xff, 0xff, 0xff, 0xff}, listener.Int32Header(-1))
	require.Equal(t, []byte{0, 0, 0, 0, 0, 0, 1, 2}, listener.Int64Header(258))
	for v, want := range map[int64][]byte{
		0: {0}, 1: {1}, 127: {0x7f}, 128: {0, 0x80}, 255: {0, 0xff}, 256: {1, 0},
		-1: {0xff}, -128: {0x80}, -129: {0xff, 0x7f},
		1_700_000_000_000: {0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00},
	} {
		require.Equal(t, want, listener.BigIntHeader(v), v)
		back, ok := listener.ParseBigIntHeader(want)
		require.True(t, ok)
		require.Equal(t, v, back)
	}
	_, ok := listener.ParseBigIntHeader(nil)
	require.False(t, ok)
}
