package framework

import (
	"testing"

	"github.com/IBM/sarama"
	"github.com/stretchr/testify/require"
)

const scramJAAS = `org.apache.kafka.common.security.scram.ScramLoginModule required username="svc" password="s3cret";`

// Each client's security comes from the shared keys, the shared
// properties, its own keys and its own properties, later ones winning.
func TestSecurityLayers(t *testing.T) {
	cfg, err := LoadConfig(NewProperties(map[string]string{
		"spring.kafka.bootstrap-servers":                    "broker:9093",
		"spring.kafka.security.protocol":                    "SSL",
		"spring.kafka.ssl.trust-store-location":             "/etc/ca.pem",
		"spring.kafka.properties.ssl.truststore.type":       "PEM",
		"spring.kafka.consumer.security.protocol":           "SASL_SSL",
		"spring.kafka.consumer.properties.sasl.mechanism":   "SCRAM-SHA-512",
		"spring.kafka.consumer.properties.sasl.jaas.config": scramJAAS,
		"spring.kafka.admin.properties.security.protocol":   "PLAINTEXT",
		"spring.kafka.producer.ssl.trust-store-location":    "/etc/producer-ca.pem",
	}))
	require.NoError(t, err)
	require.Equal(t, map[string]string{"security.protocol": "SSL", "ssl.truststore.location": "/etc/producer-ca.pem", "ssl.truststore.type": "PEM"},
		cfg.securityFor(producerClient))
	require.Equal(t, map[string]string{"security.protocol": "SASL_SSL", "ssl.truststore.location": "/etc/ca.pem",
		"ssl.truststore.type": "PEM", "sasl.mechanism": "SCRAM-SHA-512", "sasl.jaas.config": scramJAAS},
		cfg.securityFor(consumerClient))
	require.Equal(t, "PLAINTEXT", cfg.securityFor(adminClient)["security.protocol"])

	s, err := parseSecurity(cfg.securityFor(consumerClient))
	require.NoError(t, err)
	require.Equal(t, netSecurity{protocol: "SASL_SSL", tls: true, mechanism: "SCRAM-SHA-512", user: "svc", password: "s3cret"}, s)
}

func TestApplySecurity(t *testing.T) {
	cfg, err := LoadConfig(NewProperties(map[string]string{
		"spring.kafka.bootstrap-servers":           "broker:9093",
		"spring.kafka.security.protocol":           "SASL_PLAINTEXT",
		"spring.kafka.properties.sasl.mechanism":   "SCRAM-SHA-256",
		"spring.kafka.properties.sasl.jaas.config": scramJAAS,
	}))
	require.NoError(t, err)
	sc := sarama.NewConfig()
	require.NoError(t, cfg.applySecurity(sc, producerClient))
	require.True(t, sc.Net.SASL.Enable)
	require.False(t, sc.Net.TLS.Enable)
	require.Equal(t, sarama.SASLMechanism("SCRAM-SHA-256"), sc.Net.SASL.Mechanism)
	require.Equal(t, "svc", sc.Net.SASL.User)
	require.Equal(t, sarama.SASLHandshakeV1, sc.Net.SASL.Version)
	require.NotNil(t, sc.Net.SASL.SCRAMClientGeneratorFunc)
	require.NoError(t, sc.Validate())

	// The embedded broker listens in PLAINTEXT: nothing is applied.
	cfg.BootstrapServers = nil
	require.NoError(t, cfg.applySecurity(sc, producerClient))
	require.False(t, sc.Net.SASL.Enable)
}

func TestClientTLSErrors(t *testing.T) {
	for name, tc := range map[string]struct {
		props map[string]string
		want  string
	}{
		"JKS store":          {map[string]string{"ssl.truststore.type": "JKS"}, "ssl.truststore.type=JKS: only PEM stores are read"},
		"missing file":       {map[string]string{"ssl.truststore.location": "/nonexistent/ca.pem"}, "ssl.truststore.location"},
		"classpath location": {map[string]string{"ssl.keystore.location": "classpath:client.pem"}, "no classpath"},
		"no certificates":    {map[string]string{"ssl.truststore.certificates": "not pem"}, "no PEM certificate"},
		"encrypted key":      {map[string]string{"ssl.key.password": "pw"}, "encrypted private keys are not supported"},
		"bad ssl.protocol":   {map[string]string{"ssl.protocol": "SSLv3"}, "ssl.protocol=SSLv3"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := clientTLS(tc.props)
			require.ErrorContains(t, err, tc.want)
		})
	}
}
