package template

import (
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

func TestZeroConfigGetsJavaDefaults(t *testing.T) {
	sc, err := Config{}.Sarama()
	require.NoError(t, err)

	require.Equal(t, sarama.WaitForAll, sc.Producer.RequiredAcks)
	require.False(t, sc.Producer.Idempotent)
	require.Equal(t, sarama.CompressionNone, sc.Producer.Compression)
	require.Equal(t, 1024*1024, sc.Producer.MaxMessageBytes)
	require.Equal(t, 30*time.Second, sc.Producer.Timeout)
	require.Equal(t, 30*time.Second, sc.Net.ReadTimeout)
	require.Equal(t, 10*time.Second, sc.Net.DialTimeout)
	require.Equal(t, 60*time.Second, sc.Metadata.Timeout)
	require.Equal(t, "kspring", sc.ClientID)
	require.Zero(t, sc.Producer.Flush.Frequency, "linger 0 sends at once")
	require.Zero(t, sc.Producer.Flush.Bytes)
	require.True(t, sc.Producer.Return.Successes)
	require.True(t, sc.Producer.Return.Errors)
	require.True(t, sc.Metadata.AllowAutoTopicCreation)
	require.False(t, sc.Metadata.Full)
	require.IsType(t, &partitioner{}, sc.Producer.Partitioner("t"))
	require.NoError(t, checkClientConfig(sc))

	// Retries fill the default delivery timeout with capped exponential back-off.
	require.Greater(t, sc.Producer.Retry.Max, 100)
	require.Equal(t, 100*time.Millisecond, sc.Producer.Retry.BackoffFunc(0, sc.Producer.Retry.Max))
	require.Equal(t, 800*time.Millisecond, sc.Producer.Retry.BackoffFunc(3, sc.Producer.Retry.Max))
	require.Equal(t, time.Second, sc.Producer.Retry.BackoffFunc(50, sc.Producer.Retry.Max))

	s, err := Config{}.resolve()
	require.NoError(t, err)
	require.Equal(t, int64(32*1024*1024), s.bufferMemory)
	require.Equal(t, 60*time.Second, s.maxBlock)
	require.Equal(t, 120*time.Second, s.deliveryTimeout)
}

func ptr[T any](v T) *T { return &v }

func TestConfigMapsOntoSarama(t *testing.T) {
	tests := []struct {
		name  string
		cfg   Config
		check func(t *testing.T, sc *sarama.Config)
	}{
		{"acks 1", Config{Acks: "1"}, func(t *testing.T, sc *sarama.Config) {
			require.Equal(t, sarama.WaitForLocal, sc.Producer.RequiredAcks)
		}},
		{"acks 0", Config{Acks: "0"}, func(t *testing.T, sc *sarama.Config) {
			require.Equal(t, sarama.NoResponse, sc.Producer.RequiredAcks)
		}},
		{"acks -1", Config{Acks: "-1"}, func(t *testing.T, sc *sarama.Config) {
			require.Equal(t, sarama.WaitForAll, sc.Producer.RequiredAcks)
		}},
		{"acks ALL", Config{Acks: "ALL"}, func(t *testing.T, sc *sarama.Config) {
			require.Equal(t, sarama.WaitForAll, sc.Producer.RequiredAcks)
		}},
		{"retries", Config{Retries: ptr(5)}, func(t *testing.T, sc *sarama.Config) {
			require.Equal(t, 5, sc.Producer.Retry.Max)
		}},
		{"retries Java MAX_INT is capped", Config{Retries: ptr(2147483647)}, func(t *testing.T, sc *sarama.Config) {
			require.Equal(t, maxRetries, sc.Producer.Retry.Max)
		}},
		{"idempotence", Config{EnableIdempotence: ptr(true)}, func(t *testing.T, sc *sarama.Config) {
			require.True(t, sc.Producer.Idempotent)
			require.Equal(t, sarama.WaitForAll, sc.Producer.RequiredAcks)
			require.Equal(t, 1, sc.Net.MaxOpenRequests)
			require.True(t, sc.Version.IsAtLeast(sarama.V0_11_0_0))
		}},
		{"compression", Config{CompressionType: "zstd"}, func(t *testing.T, sc *sarama.Config) {
			require.Equal(t, sarama.CompressionZSTD, sc.Producer.Compression)
		}},
		{"gzip", Config{CompressionType: "gzip"}, func(t *testing.T, sc *sarama.Config) {
			require.Equal(t, sarama.CompressionGZIP, sc.Producer.Compression)
		}},
		{"linger and batch size", Config{LingerMs: 5, BatchSize: 64 * Kilobyte}, func(t *testing.T, sc *sarama.Config) {
			require.Equal(t, 5*time.Millisecond, sc.Producer.Flush.Frequency)
			require.Equal(t, 64*1024, sc.Producer.Flush.Bytes)
		}},
		{"batch size alone does not hold records", Config{BatchSize: 64 * Kilobyte}, func(t *testing.T, sc *sarama.Config) {
			require.Zero(t, sc.Producer.Flush.Bytes)
		}},
		{"client id", Config{ClientID: "orders-svc"}, func(t *testing.T, sc *sarama.Config) {
			require.Equal(t, "orders-svc", sc.ClientID)
		}},
		{"max request size", Config{MaxRequestSize: 2 * Megabyte}, func(t *testing.T, sc *sarama.Config) {
			require.Equal(t, 2*1024*1024, sc.Producer.MaxMessageBytes)
		}},
		{"request timeout", Config{RequestTimeoutMs: 1500}, func(t *testing.T, sc *sarama.Config) {
			require.Equal(t, 1500*time.Millisecond, sc.Producer.Timeout)
			require.Equal(t, 1500*time.Millisecond, sc.Net.ReadTimeout)
			require.Equal(t, 1500*time.Millisecond, sc.Net.WriteTimeout)
			require.Equal(t, 1500*time.Millisecond, sc.Net.DialTimeout)
		}},
		{"short delivery timeout means few retries", Config{DeliveryTimeoutMs: 500}, func(t *testing.T, sc *sarama.Config) {
			require.Equal(t, 3, sc.Producer.Retry.Max) // 100+200+400ms >= 500ms
		}},
		{"max block bounds metadata", Config{MaxBlockMs: 250}, func(t *testing.T, sc *sarama.Config) {
			require.Equal(t, 250*time.Millisecond, sc.Metadata.Timeout)
		}},
		{"auto create off", Config{AllowAutoCreateTopics: ptr(false)}, func(t *testing.T, sc *sarama.Config) {
			require.False(t, sc.Metadata.AllowAutoTopicCreation)
		}},
		{"properties as in spring.kafka.producer.properties", Config{Properties: map[string]string{
			"enable.idempotence":                    "true",
			"linger.ms":                             "20",
			"batch.size":                            "32768",
			"max.request.size":                      "2097152",
			"request.timeout.ms":                    "5000",
			"allow.auto.create.topics":              "false",
			"compression.type":                      "lz4",
			"client.id":                             "from-props",
			"retries":                               "7",
			"retry.backoff.ms":                      "50",
			"retry.backoff.max.ms":                  "400",
			"spring.json.add.type.headers":          "false", // a serializer setting: ignored
			"max.in.flight.requests.per.connection": "3",     // idempotence forces 1
		}}, func(t *testing.T, sc *sarama.Config) {
			require.True(t, sc.Producer.Idempotent)
			require.Equal(t, 1, sc.Net.MaxOpenRequests)
			require.Equal(t, 20*time.Millisecond, sc.Producer.Flush.Frequency)
			require.Equal(t, 32768, sc.Producer.Flush.Bytes)
			require.Equal(t, 2097152, sc.Producer.MaxMessageBytes)
			require.Equal(t, 5*time.Second, sc.Producer.Timeout)
			require.False(t, sc.Metadata.AllowAutoTopicCreation)
			require.Equal(t, sarama.CompressionLZ4, sc.Producer.Compression)
			require.Equal(t, "from-props", sc.ClientID)
			require.Equal(t, 7, sc.Producer.Retry.Max)
			require.Equal(t, 50*time.Millisecond, sc.Producer.Retry.BackoffFunc(0, 7))
			require.Equal(t, 400*time.Millisecond, sc.Producer.Retry.BackoffFunc(6, 7))
		}},
		{"max in flight", Config{Properties: map[string]string{"max.in.flight.requests.per.connection": "2"}},
			func(t *testing.T, sc *sarama.Config) { require.Equal(t, 2, sc.Net.MaxOpenRequests) }},
		{"properties override fields, as in Spring", Config{Acks: "1", Properties: map[string]string{"acks": "all"}},
			func(t *testing.T, sc *sarama.Config) { require.Equal(t, sarama.WaitForAll, sc.Producer.RequiredAcks) }},
		{"a transaction id prefix makes the producer idempotent, the shared client gets no transactional.id",
			Config{TransactionIDPrefix: "tx-"}, func(t *testing.T, sc *sarama.Config) {
				require.True(t, sc.Producer.Idempotent)
				require.Equal(t, 1, sc.Net.MaxOpenRequests)
				require.Empty(t, sc.Producer.Transaction.ID)
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sc, err := tc.cfg.Sarama()
			require.NoError(t, err)
			tc.check(t, sc)
		})
	}
}

func TestConfigRejectsBadSettings(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"acks", Config{Acks: "2"}, `acks: "2" is not all, -1, 1 or 0`},
		{"idempotence needs acks all", Config{Acks: "1", EnableIdempotence: ptr(true)}, "needs acks=all"},
		{"idempotence needs retries", Config{Retries: ptr(0), EnableIdempotence: ptr(true)}, "needs retries > 0"},
		{"compression", Config{CompressionType: "brotli"}, `"brotli" is not none, gzip, snappy, lz4 or zstd`},
		{"negative size", Config{BufferMemory: -1}, "buffer-memory: -1 is negative"},
		{"negative timeout", Config{RequestTimeoutMs: -5}, "request-timeout-ms: -5 is negative"},
		{"negative linger", Config{LingerMs: -1}, "linger-ms: -1 is negative"},
		{"negative retries", Config{Retries: ptr(-1)}, "retries: -1 is negative"},
		{"bad property", Config{Properties: map[string]string{"linger.ms": "soon"}}, `properties linger.ms="soon"`},
		{"bad bool property", Config{Properties: map[string]string{"enable.idempotence": "maybe"}}, "enable.idempotence"},
		{"transactions need idempotence", Config{TransactionIDPrefix: "tx-", EnableIdempotence: ptr(false)}, "enable-idempotence=false contradicts it"},
		{"transactions need acks all", Config{TransactionIDPrefix: "tx-", Acks: "1"}, "transactional producer needs acks=all"},
		{"transactions need retries", Config{TransactionIDPrefix: "tx-", Retries: ptr(0)}, "transactional producer needs retries > 0"},
		{"bad transaction timeout", Config{Properties: map[string]string{"transaction.timeout.ms": "long"}}, "transaction.timeout.ms"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.cfg.Sarama()
			require.ErrorIs(t, err, ErrConfig)
			require.ErrorContains(t, err, tc.want)
		})
	}

	// Every problem is reported at once.
	_, err := Config{Acks: "x", CompressionType: "y"}.Sarama()
	require.ErrorContains(t, err, "acks")
	require.ErrorContains(t, err, "compression-type")
}

func TestTransactionTimeoutProperty(t *testing.T) {
	s, err := Config{TransactionIDPrefix: "tx-"}.resolve()
	require.NoError(t, err)
	require.Equal(t, "tx-", s.txnPrefix)
	require.Equal(t, time.Minute, s.txnTimeout, "Kafka's default transaction.timeout.ms")
	s, err = Config{TransactionIDPrefix: "tx-", Properties: map[string]string{"transaction.timeout.ms": "15000"}}.resolve()
	require.NoError(t, err)
	require.Equal(t, 15*time.Second, s.txnTimeout)
}

func TestConfigFromSpringYAML(t *testing.T) {
	// The spring.kafka.producer block of a Spring Boot application.yml.
	const doc = `
acks: all
retries: 3
compression-type: snappy
batch-size: 32KB
buffer-memory: 64MB
client-id: billing
linger-ms: 10
max-request-size: 2097152
request-timeout-ms: 15000
delivery-timeout-ms: 60000
properties:
  enable.idempotence: "true"
  max.block.ms: "5000"
`
	var cfg Config
	require.NoError(t, yaml.Unmarshal([]byte(doc), &cfg))
	require.Equal(t, Config{
		Acks:              "all",
		Retries:           ptr(3),
		CompressionType:   "snappy",
		BatchSize:         32 * Kilobyte,
		BufferMemory:      64 * Megabyte,
		ClientID:          "billing",
		LingerMs:          10,
		MaxRequestSize:    2 * Megabyte,
		RequestTimeoutMs:  15000,
		DeliveryTimeoutMs: 60000,
		Properties:        map[string]string{"enable.idempotence": "true", "max.block.ms": "5000"},
	}, cfg)

	s, err := cfg.resolve()
	require.NoError(t, err)
	require.True(t, s.idempotent)
	require.Equal(t, 5*time.Second, s.maxBlock)
	require.Equal(t, int64(64*1024*1024), s.bufferMemory)
	require.Nil(t, cfg.EnableIdempotence, "resolve does not change the caller's Config")
}

func TestParseDataSize(t *testing.T) {
	for in, want := range map[string]DataSize{
		"0": 0, "16384": 16384, "512B": 512, "16KB": 16 * 1024, "16kb": 16 * 1024,
		"32 MB": 32 << 20, "1GB": 1 << 30, "2TB": 2 << 40,
	} {
		got, err := ParseDataSize(in)
		require.NoError(t, err, in)
		require.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "KB", "-1", "1.5MB", "12PB"} {
		_, err := ParseDataSize(in)
		require.Error(t, err, in)
	}

	var d DataSize
	require.NoError(t, d.UnmarshalJSON([]byte(`"4KB"`)))
	require.Equal(t, 4*Kilobyte, d)
	require.NoError(t, d.UnmarshalJSON([]byte(`100`)))
	require.Equal(t, DataSize(100), d)
}
