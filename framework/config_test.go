package framework

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestSpringApplicationYMLLoads(t *testing.T) {
	p, err := LoadProperties("testdata/application.yml", nil)
	require.NoError(t, err)
	cfg, err := LoadConfig(p)
	require.NoError(t, err)

	require.Equal(t, StringList{"localhost:9092", "localhost:9093"}, cfg.BootstrapServers)
	require.Equal(t, "billing", cfg.ClientID)
	require.Equal(t, "PLAINTEXT", cfg.Properties["security.protocol"])
	require.Equal(t, "all", cfg.Producer.Acks)
	require.Equal(t, "lz4", cfg.Producer.CompressionType)
	require.Equal(t, "5", cfg.Producer.Properties["linger.ms"])
	require.Equal(t, "earliest", cfg.Consumer.AutoOffsetReset)
	require.Equal(t, 3, cfg.Listener.Concurrency)
	require.Equal(t, 45*time.Second, cfg.Admin.OperationTimeout.D())
	require.True(t, cfg.Admin.FailFast)

	// Placeholders resolve against the whole file, as Spring's do.
	require.Equal(t, "billing", cfg.Consumer.GroupID)
	require.Equal(t, "orders-v1", cfg.Template.DefaultTopic)
}

func TestEnvironmentOverridesInRelaxedForm(t *testing.T) {
	p, err := LoadProperties("testdata/application.yml", []string{
		"SPRING_KAFKA_BOOTSTRAP_SERVERS=kafka-1:9092, kafka-2:9092",
		"SPRING_KAFKA_PRODUCER_ACKS=1",
		"SPRING_KAFKA_LISTENER_CONCURRENCY=7",
		"APP_GROUP=payments",
		"UNRELATED=x",
	})
	require.NoError(t, err)
	cfg, err := LoadConfig(p)
	require.NoError(t, err)
	require.Equal(t, StringList{"kafka-1:9092", "kafka-2:9092"}, cfg.BootstrapServers)
	require.Equal(t, "1", cfg.Producer.Acks)
	require.Equal(t, 7, cfg.Listener.Concurrency)
	group, err := p.Resolve("${app.group}")
	require.NoError(t, err)
	require.Equal(t, "payments", group)
}

func TestNoFileNoServersMeansEmbedded(t *testing.T) {
	p, err := LoadProperties("", nil)
	require.NoError(t, err)
	cfg, err := LoadConfig(p)
	require.NoError(t, err)
	require.Empty(t, cfg.BootstrapServers)
}

func TestApplicationProperties(t *testing.T) {
	path := filepath.Join(t.TempDir(), "application.properties")
	require.NoError(t, os.WriteFile(path, []byte(
		"spring.kafka.bootstrap-servers=broker:9092\n"+
			"spring.kafka.consumer.group-id=g1\n"+
			"# comment\n"+
			"spring.kafka.listener.ack-mode=batch\n"+
			"spring.kafka.consumer.properties.[spring.json.trusted.packages]=com.acme\n"), 0o644))
	p, err := LoadProperties(path, nil)
	require.NoError(t, err)
	cfg, err := LoadConfig(p)
	require.NoError(t, err)
	require.Equal(t, StringList{"broker:9092"}, cfg.BootstrapServers)
	require.Equal(t, "g1", cfg.Consumer.GroupID)
	require.Equal(t, "com.acme", cfg.Consumer.Properties["spring.json.trusted.packages"], "Spring's bracket form")
}

func TestResolve(t *testing.T) {
	p := NewProperties(map[string]string{"a": "x", "b": "${a}-y", "loop": "${loop}"})
	for _, tc := range []struct {
		in, want, err string
	}{
		{in: "plain", want: "plain"},
		{in: "${a}", want: "x"},
		{in: "pre-${b}-post", want: "pre-x-y-post"},
		{in: "${missing:fallback}", want: "fallback"},
		{in: "${missing:${a}}", want: "x"},
		{in: "${missing}", err: "unresolved placeholder ${missing} in \"${missing}\": set missing in the configuration or MISSING in the environment"},
		{in: "${a", err: "unclosed placeholder"},
		{in: "${loop}", err: "circular placeholder reference loop -> loop"},
	} {
		got, err := p.Resolve(tc.in)
		if tc.err != "" {
			require.ErrorContains(t, err, tc.err, tc.in)
			continue
		}
		require.NoError(t, err, tc.in)
		require.Equal(t, tc.want, got, tc.in)
	}
}

func TestBadYAMLNamesTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "application.yml")
	require.NoError(t, os.WriteFile(path, []byte("spring:\n  kafka: [unclosed\n"), 0o644))
	_, err := LoadProperties(path, nil)
	require.ErrorContains(t, err, path)
}

func TestSerdeClassesAndPropertiesChecked(t *testing.T) {
	const s = "org.springframework.kafka.support.serializer."
	for _, tc := range []struct {
		name  string
		props map[string]string
		want  string
	}{
		{"unknown value deserializer", map[string]string{"spring.kafka.consumer.value-deserializer": "io.confluent.kafka.serializers.KafkaAvroDeserializer"},
			"spring.kafka.consumer.value-deserializer: serde: unknown serializer class \"io.confluent.kafka.serializers.KafkaAvroDeserializer\""},
		{"unknown serializer in properties", map[string]string{"spring.kafka.producer.properties.value.serializer": "com.acme.Ser"},
			"spring.kafka.producer.properties.value.serializer"},
		{"error handling without delegate", map[string]string{"spring.kafka.consumer.value-deserializer": s + "ErrorHandlingDeserializer"},
			"spring.deserializer.value.delegate.class"},
		{"bad type mapping", map[string]string{"spring.kafka.producer.properties.spring.json.type.mapping": "x"},
			"spring.kafka.producer.properties: spring.json.type.mapping"},
		{"unknown security protocol", map[string]string{"spring.kafka.security.protocol": "TLS"},
			"spring.kafka producer: security.protocol=TLS: want PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL"},
		{"SASL without a mechanism", map[string]string{"spring.kafka.properties.security.protocol": "SASL_SSL"},
			"sasl.mechanism=GSSAPI (Kafka's default) is not supported"},
		{"SASL without JAAS", map[string]string{"spring.kafka.consumer.security.protocol": "SASL_PLAINTEXT",
			"spring.kafka.consumer.properties.sasl.mechanism": "PLAIN"}, "spring.kafka consumer: security.protocol=SASL_PLAINTEXT: sasl.jaas.config is missing"},
		{"malformed JAAS", map[string]string{"spring.kafka.properties.security.protocol": "SASL_SSL",
			"spring.kafka.properties.sasl.mechanism":   "SCRAM-SHA-256",
			"spring.kafka.properties.sasl.jaas.config": `org.apache.kafka.common.security.scram.ScramLoginModule required username="a"`},
			"sasl.jaas.config: jaas: malformed sasl.jaas.config: missing ';'"},
		{"login module of another mechanism", map[string]string{"spring.kafka.admin.security.protocol": "SASL_SSL",
			"spring.kafka.admin.properties.sasl.mechanism":   "PLAIN",
			"spring.kafka.admin.properties.sasl.jaas.config": `org.apache.kafka.common.security.scram.ScramLoginModule required username="a" password="b";`},
			"spring.kafka admin: sasl.jaas.config: sasl.mechanism=PLAIN takes org.apache.kafka.common.security.plain.PlainLoginModule"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadConfig(NewProperties(tc.props))
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func TestIgnoredPropertiesAreNamed(t *testing.T) {
	cfg, err := LoadConfig(NewProperties(map[string]string{
		"spring.kafka.properties.session.timeout.ms":                    "30000",
		"spring.kafka.properties.ssl.endpoint.identification.algorithm": "",
		"spring.kafka.producer.properties.linger.ms":                    "5",
		"spring.kafka.producer.properties.spring.json.add.type.headers": "false",
		"spring.kafka.producer.properties.partitioner.class":            "com.acme.Partitioner",
		"spring.kafka.consumer.properties.isolation.level":              "read_committed",
		"spring.kafka.consumer.properties.spring.json.trusted.packages": "*",
		"spring.kafka.consumer.properties.check.crcs":                   "true",
		"spring.kafka.admin.properties.request.timeout.ms":              "5000",
		"spring.kafka.admin.properties.retries":                         "3",
	}))
	require.NoError(t, err)
	require.Equal(t, []ignoredProperty{
		{"spring.kafka.producer.properties", "partitioner.class"},
		{"spring.kafka.consumer.properties", "check.crcs"},
		{"spring.kafka.admin.properties", "retries"},
	}, cfg.ignoredProperties())
}
