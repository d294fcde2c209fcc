package framework

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// writeFiles writes name -> content into a new directory and returns it.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		path := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
	}
	return dir
}

// load reads location (relative to dir) with environ and decodes the Config.
func load(t *testing.T, dir, location string, environ ...string) (*Properties, Config, error) {
	t.Helper()
	p, err := LoadProperties(filepath.Join(dir, location), environ)
	if err != nil {
		return nil, Config{}, err
	}
	cfg, err := LoadConfig(p)
	return p, cfg, err
}

func TestPlaceholdersResolveInEveryValue(t *testing.T) {
	dir := writeFiles(t, map[string]string{"application.yml": `
app:
  kafka: ${KAFKA_HOST:kafka}:9092
  group: orders
spring:
  kafka:
    bootstrap-servers: ${KAFKA_BOOTSTRAP:localhost:9092}
    client-id: ${spring.application.name}-${HOSTNAME:local}
    consumer:
      group-id: ${app.group}-${ENVIRONMENT:dev}
      max-poll-records: ${MAX_POLL:${DEFAULT_POLL:250}}
      heartbeat-interval: ${HEARTBEAT:PT3S}
      properties:
        session.timeout.ms: ${SESSION_TIMEOUT_MS:45000}
    producer:
      batch-size: ${BATCH:16KB}
      properties:
        "[linger.ms]": ${LINGER:5}
    template:
      default-topic: \${literal}
  application:
    name: order-service
server:
  port: ${UNRESOLVABLE_SERVER_PORT}
`})
	for _, tc := range []struct {
		name    string
		environ []string
		servers StringList
		group   string
		poll    int
		client  string
	}{
		{"defaults", nil, StringList{"localhost:9092"}, "orders-dev", 250, "order-service-local"},
		{"environment", []string{"KAFKA_BOOTSTRAP=k1:9092,k2:9092", "ENVIRONMENT=prod", "DEFAULT_POLL=100", "HOSTNAME=pod-7"},
			StringList{"k1:9092", "k2:9092"}, "orders-prod", 100, "order-service-pod-7"},
		{"nested default loses to the outer value", []string{"MAX_POLL=10", "DEFAULT_POLL=100"}, StringList{"localhost:9092"}, "orders-dev", 10, "order-service-local"},
		{"placeholder to another property", []string{"KAFKA_BOOTSTRAP=${app.kafka}", "KAFKA_HOST=broker"}, StringList{"broker:9092"}, "orders-dev", 250, "order-service-local"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, cfg, err := load(t, dir, "application.yml", tc.environ...)
			require.NoError(t, err)
			require.Equal(t, tc.servers, cfg.BootstrapServers)
			require.Equal(t, tc.group, cfg.Consumer.GroupID)
			require.Equal(t, tc.poll, cfg.Consumer.MaxPollRecords)
			require.Equal(t, tc.client, cfg.ClientID)
			require.Equal(t, 3*time.Second, cfg.Consumer.HeartbeatInterval.D())
			require.Equal(t, "45000", cfg.Consumer.Properties["session.timeout.ms"])
			require.Equal(t, "5", cfg.Producer.Properties["linger.ms"])
			require.EqualValues(t, 16*1024, cfg.Producer.BatchSize)
			require.Equal(t, "${literal}", cfg.Template.DefaultTopic)
		})
	}
}

func TestUnresolvedPlaceholderNamesKeyAndFile(t *testing.T) {
	for _, tc := range []struct {
		name, file string
		environ    []string
		want       []string
	}{
		{"unknown key", "spring.kafka.bootstrap-servers: ${KAFKA_BOOTSTRAP}\n", nil,
			[]string{"spring.kafka.bootstrap-servers", "application.yml", "${KAFKA_BOOTSTRAP}", "KAFKA_BOOTSTRAP in the environment"}},
		{"cycle", "spring.kafka.client-id: ${a}\na: ${b}\nb: ${a}\n", nil,
			[]string{"spring.kafka.client-id", "circular placeholder reference a -> b -> a"}},
		{"from the environment", "spring.kafka.client-id: x\n", []string{"SPRING_KAFKA_CLIENT_ID=${NOPE}"},
			[]string{"spring.kafka.client-id", "environment variable SPRING_KAFKA_CLIENT_ID", "${NOPE}"}},
		{"every failure reported", "spring.kafka:\n  client-id: ${one}\n  consumer.group-id: ${two}\n", nil,
			[]string{"${one}", "${two}", "spring.kafka.consumer.group-id"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeFiles(t, map[string]string{"application.yml": tc.file})
			_, _, err := load(t, dir, "application.yml", tc.environ...)
			require.Error(t, err)
			for _, w := range tc.want {
				require.ErrorContains(t, err, w)
			}
		})
	}
}

func TestProfiles(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"application.yml": `
spring:
  profiles:
    active: ${APP_PROFILES:dev}
  kafka:
    bootstrap-servers: localhost:9092
    client-id: base
    consumer:
      group-id: orders
---
spring:
  config:
    activate:
      on-profile: prod
  kafka:
    bootstrap-servers: kafka-prod:9092
    client-id: prod-doc
---
spring.config.activate.on-profile: "staging | prod & !eu"
spring.kafka.consumer.group-id: orders-staging-or-non-eu-prod
---
spring:
  profiles: legacy
  kafka.client-id: legacy-doc
`,
		"application-prod.yml":         "spring.kafka.client-id: prod-file\n",
		"application-eu.properties":    "spring.kafka.client-id=eu-file\nspring.kafka.listener.concurrency=4\n",
		"application-dev.yaml":         "spring.kafka.listener.concurrency: 2\n",
		"application-default.yml":      "spring.kafka.client-id: default-file\n",
		"application-cloud.yml":        "spring.kafka.client-id: on-k8s\nspring.config.activate.on-cloud-platform: kubernetes\n",
		"application-unrelated.yml":    "spring.kafka.client-id: never\n",
		"application-multi.properties": "spring.kafka.client-id=first\n#---\nspring.config.activate.on-profile=multi\nspring.kafka.client-id=second\n",
	})
	for _, tc := range []struct {
		name        string
		environ     []string
		profiles    []string
		servers     string
		client      string
		group       string
		concurrency int
	}{
		{"active in the file, with a placeholder", nil, []string{"dev"}, "localhost:9092", "base", "orders", 2},
		{"environment over the file", []string{"SPRING_PROFILES_ACTIVE=prod"}, []string{"prod"}, "kafka-prod:9092", "prod-file", "orders-staging-or-non-eu-prod", 0},
		{"placeholder in the file's active list", []string{"APP_PROFILES=prod,eu"}, []string{"prod", "eu"}, "kafka-prod:9092", "eu-file", "orders", 4},
		{"later profile wins", []string{"SPRING_PROFILES_ACTIVE=eu,prod"}, []string{"eu", "prod"}, "kafka-prod:9092", "prod-file", "orders", 4},
		{"expression with or", []string{"SPRING_PROFILES_ACTIVE=staging"}, []string{"staging"}, "localhost:9092", "base", "orders-staging-or-non-eu-prod", 0},
		{"legacy spring.profiles document", []string{"SPRING_PROFILES_ACTIVE=legacy"}, []string{"legacy"}, "localhost:9092", "legacy-doc", "orders", 0},
		{"empty active means default", []string{"APP_PROFILES="}, []string{"default"}, "localhost:9092", "default-file", "orders", 0},
		{"cloud platform document off the cloud", []string{"SPRING_PROFILES_ACTIVE=cloud"}, []string{"cloud"}, "localhost:9092", "base", "orders", 0},
		{"cloud platform document on kubernetes", []string{"SPRING_PROFILES_ACTIVE=cloud", "KUBERNETES_SERVICE_HOST=10.0.0.1", "KUBERNETES_SERVICE_PORT=443"},
			[]string{"cloud"}, "localhost:9092", "on-k8s", "orders", 0},
		{"multi-document properties", []string{"SPRING_PROFILES_ACTIVE=multi"}, []string{"multi"}, "localhost:9092", "second", "orders", 0},
		{"group expands", []string{"SPRING_PROFILES_ACTIVE=live", "SPRING_PROFILES_GROUP_LIVE=prod,eu"}, []string{"live", "prod", "eu"}, "kafka-prod:9092", "eu-file", "orders", 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, cfg, err := load(t, dir, "", tc.environ...)
			require.NoError(t, err)
			require.Equal(t, tc.profiles, p.Profiles())
			require.Equal(t, StringList{tc.servers}, cfg.BootstrapServers)
			require.Equal(t, tc.client, cfg.ClientID)
			require.Equal(t, tc.group, cfg.Consumer.GroupID)
			require.Equal(t, tc.concurrency, cfg.Listener.Concurrency)
		})
	}

	t.Run("a bad expression names the file", func(t *testing.T) {
		dir := writeFiles(t, map[string]string{"application.yml": "a: 1\n---\nspring.config.activate.on-profile: (dev\n"})
		_, err := LoadProperties(dir, nil)
		require.ErrorContains(t, err, "application.yml")
		require.ErrorContains(t, err, "missing )")
	})
}

func TestLocationsAndImports(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"application.yml":          "spring.kafka.client-id: yml\nspring.kafka.consumer.group-id: g-yml\nspring.config.import: optional:file:./kafka.yml, secrets/creds.properties, optional:configtree:/run/secrets/\n",
		"application.properties":   "spring.kafka.client-id=properties\n",
		"kafka.yml":                "spring.kafka.bootstrap-servers: imported:9092\nspring.config.import: application.yml\n",
		"secrets/creds.properties": "spring.kafka.properties.sasl.jaas.config=user=${KAFKA_USER:svc}\n",
		"config/application.yml":   "spring.kafka.consumer.group-id: g-config\n",
		"other/orders.yml":         "spring.kafka.client-id: orders\n",
		"other/orders-dev.yml":     "spring.kafka.client-id: orders-dev\n",
	})
	_, cfg, err := load(t, dir, "")
	require.NoError(t, err)
	require.Equal(t, "properties", cfg.ClientID, ".properties wins over .yml in one directory")
	require.Equal(t, StringList{"imported:9092"}, cfg.BootstrapServers)
	require.Equal(t, "user=svc", cfg.Properties["sasl.jaas.config"])
	require.Equal(t, "g-yml", cfg.Consumer.GroupID)

	p, err := LoadProperties(dir+","+filepath.Join(dir, "config")+"/", nil)
	require.NoError(t, err)
	cfg, err = LoadConfig(p)
	require.NoError(t, err)
	require.Equal(t, "g-config", cfg.Consumer.GroupID, "a later location wins")
	require.Equal(t, filepath.Join(dir, "config", "application.yml"), p.Origin("spring.kafka.consumer.group-id"))

	_, cfg, err = load(t, dir, "other/orders.yml", "SPRING_PROFILES_ACTIVE=dev")
	require.NoError(t, err)
	require.Equal(t, "orders-dev", cfg.ClientID, "profile variants of a named file")

	for _, tc := range []struct{ location, want string }{
		{"missing.yml", "missing.yml"},
		{"nodir/", "nodir"},
	} {
		_, err := LoadProperties(filepath.Join(dir, tc.location), nil)
		require.ErrorContains(t, err, tc.want)
		_, err = LoadProperties("optional:"+filepath.Join(dir, tc.location), nil)
		require.NoError(t, err)
	}
	bad := writeFiles(t, map[string]string{"application.yml": "spring.config.import: vault://secret/kafka\n"})
	_, err = LoadProperties(bad, nil)
	require.ErrorContains(t, err, "vault://secret/kafka")
	require.ErrorContains(t, err, "optional:")
}

func TestEnvironmentSetsPropertiesMaps(t *testing.T) {
	p, err := LoadProperties("", []string{
		"SPRING_KAFKA_PROPERTIES_METADATA_MAX_AGE_MS=60000",
		"SPRING_KAFKA_CONSUMER_PROPERTIES_MAX_POLL_INTERVAL_MS=600000",
		"SPRING_KAFKA_PRODUCER_PROPERTIES_LINGER_MS=20",
	})
	require.NoError(t, err)
	cfg, err := LoadConfig(p)
	require.NoError(t, err)
	require.Equal(t, "60000", cfg.Properties["metadata.max.age.ms"])
	require.Equal(t, "600000", cfg.Consumer.Properties["max.poll.interval.ms"])
	require.Equal(t, "20", cfg.Producer.Properties["linger.ms"])
}

func TestDurationsAndSizesInEverySpringForm(t *testing.T) {
	for _, v := range []string{"3000", "3000ms", "3s", "PT3S", "pt3s"} {
		p := NewProperties(map[string]string{
			"spring.kafka.consumer.heartbeat-interval": v,
			"spring.kafka.admin.operation-timeout":     v,
			"spring.kafka.listener.ack-time":           v,
			"spring.kafka.consumer.fetch-min-size":     "16KB",
			"spring.kafka.producer.buffer-memory":      "32MB",
		})
		cfg, err := LoadConfig(p)
		require.NoError(t, err, v)
		require.Equal(t, 3*time.Second, cfg.Consumer.HeartbeatInterval.D(), v)
		require.Equal(t, 3*time.Second, cfg.Admin.OperationTimeout.D(), v)
		require.Equal(t, 3*time.Second, cfg.Listener.AckTime.D(), v)
		require.EqualValues(t, 16*1024, cfg.Consumer.FetchMinSize, v)
		require.EqualValues(t, 32<<20, cfg.Producer.BufferMemory, v)
	}
}
