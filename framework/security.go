package framework

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/IBM/sarama"
	"github.com/xdg-go/scram"

	"github.com/kspring/kspring/internal/jaas"
)

// Security as Spring Boot binds it: spring.kafka.security.protocol and
// spring.kafka.ssl.* for every client, spring.kafka.{producer,consumer,
// admin}.security.protocol and .ssl.* for one, and the Kafka properties
// (security.protocol, ssl.*, sasl.mechanism, sasl.jaas.config) under
// spring.kafka.properties and each client's properties, which win, as in
// Spring. Key and trust stores are read as PEM only (key-store-type and
// trust-store-type PEM, Kafka 2.7+'s format): a key-store-location file
// holds the private key and its certificate chain, a trust-store-location
// file the CA certificates. SASL mechanisms: PLAIN, SCRAM-SHA-256 and
// SCRAM-SHA-512, with the username and password of the PlainLoginModule or
// ScramLoginModule in sasl.jaas.config. spring.kafka.ssl.bundle (Spring
// Boot 3's SSL bundles) is not read.

// SecurityConfig is spring.kafka[.client].security.*.
type SecurityConfig struct {
	// Protocol is PLAINTEXT (default), SSL, SASL_PLAINTEXT or SASL_SSL.
	Protocol string `yaml:"protocol"`
}

// SSLConfig is spring.kafka[.client].ssl.*.
type SSLConfig struct {
	KeyStoreType             string `yaml:"key-store-type"`
	KeyStoreLocation         string `yaml:"key-store-location"`
	KeyStoreCertificateChain string `yaml:"key-store-certificate-chain"`
	KeyStoreKey              string `yaml:"key-store-key"`
	KeyPassword              string `yaml:"key-password"`
	TrustStoreType           string `yaml:"trust-store-type"`
	TrustStoreLocation       string `yaml:"trust-store-location"`
	TrustStoreCertificates   string `yaml:"trust-store-certificates"`
	// Protocol (ssl.protocol, e.g. TLSv1.3) sets the lowest TLS version.
	Protocol string `yaml:"protocol"`
}

// ClientSecurity is one client's security keys.
type ClientSecurity struct {
	Security SecurityConfig `yaml:"security"`
	SSL      SSLConfig      `yaml:"ssl"`
}

// props returns the keys as Kafka client properties.
func (s ClientSecurity) props() map[string]string {
	out := map[string]string{}
	set := func(k, v string) {
		if v != "" {
			out[k] = v
		}
	}
	set("security.protocol", s.Security.Protocol)
	set("ssl.keystore.type", s.SSL.KeyStoreType)
	set("ssl.keystore.location", s.SSL.KeyStoreLocation)
	set("ssl.keystore.certificate.chain", s.SSL.KeyStoreCertificateChain)
	set("ssl.keystore.key", s.SSL.KeyStoreKey)
	set("ssl.key.password", s.SSL.KeyPassword)
	set("ssl.truststore.type", s.SSL.TrustStoreType)
	set("ssl.truststore.location", s.SSL.TrustStoreLocation)
	set("ssl.truststore.certificates", s.SSL.TrustStoreCertificates)
	set("ssl.protocol", s.SSL.Protocol)
	return out
}

// securityProps are the Kafka properties the security mapping reads.
var securityProps = []string{
	"security.protocol", "sasl.mechanism", "sasl.jaas.config",
	"ssl.keystore.type", "ssl.keystore.location", "ssl.keystore.certificate.chain", "ssl.keystore.key",
	"ssl.key.password", "ssl.keystore.password", "ssl.truststore.type", "ssl.truststore.location",
	"ssl.truststore.certificates", "ssl.truststore.password", "ssl.protocol", "ssl.enabled.protocols",
	"ssl.endpoint.identification.algorithm",
}

// client names the clients whose security can differ.
type client int

const (
	producerClient client = iota
	consumerClient
	adminClient
)

func (c client) String() string { return [...]string{"producer", "consumer", "admin"}[c] }

// securityFor returns the security properties of one client, lowest first:
// spring.kafka.security/ssl, spring.kafka.properties, the client's
// security/ssl keys, the client's properties.
func (c Config) securityFor(cl client) map[string]string {
	own, props := c.ProducerSecurity, c.Producer.Properties
	switch cl {
	case consumerClient:
		own, props = c.ConsumerSecurity, c.Consumer.Properties
	case adminClient:
		own, props = ClientSecurity{Security: c.Admin.Security, SSL: c.Admin.SSL}, c.Admin.Properties
	}
	out := ClientSecurity{Security: c.Security, SSL: c.SSL}.props()
	for _, layer := range []map[string]string{c.Properties, own.props(), props} {
		for _, k := range securityProps {
			if v, ok := layer[k]; ok {
				out[k] = v
			}
		}
	}
	return out
}

// netSecurity is a client's resolved security.
type netSecurity struct {
	protocol  string
	tls       bool
	mechanism string // "" without SASL
	user      string
	password  string
}

// parseSecurity checks a client's security properties without reading any
// file: the protocol, the SASL mechanism and its JAAS configuration.
func parseSecurity(p map[string]string) (netSecurity, error) {
	var s netSecurity
	s.protocol = strings.ToUpper(strings.TrimSpace(p["security.protocol"]))
	if s.protocol == "" {
		s.protocol = "PLAINTEXT"
	}
	switch s.protocol {
	case "PLAINTEXT":
		return s, nil
	case "SSL":
		s.tls = true
		return s, nil
	case "SASL_SSL":
		s.tls = true
	case "SASL_PLAINTEXT":
	default:
		return s, fmt.Errorf("security.protocol=%s: want PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL", p["security.protocol"])
	}
	s.mechanism = strings.ToUpper(strings.TrimSpace(p["sasl.mechanism"]))
	switch s.mechanism {
	case "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512":
	case "", "GSSAPI":
		return s, fmt.Errorf("security.protocol=%s: sasl.mechanism=%s is not supported (kspring's clients do PLAIN, SCRAM-SHA-256, SCRAM-SHA-512); set sasl.mechanism",
			s.protocol, cmpOr(s.mechanism, "GSSAPI (Kafka's default)"))
	default:
		return s, fmt.Errorf("sasl.mechanism=%s is not supported: want PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512", s.mechanism)
	}
	cfg, ok := p["sasl.jaas.config"]
	if !ok {
		return s, fmt.Errorf("security.protocol=%s: sasl.jaas.config is missing (the login module with username and password)", s.protocol)
	}
	j, err := jaas.Parse(cfg)
	if err != nil {
		return s, fmt.Errorf("sasl.jaas.config: %w", err)
	}
	want := jaas.ScramLoginModule
	if s.mechanism == "PLAIN" {
		want = jaas.PlainLoginModule
	}
	if j.LoginModule != want {
		return s, fmt.Errorf("sasl.jaas.config: sasl.mechanism=%s takes %s, not %s", s.mechanism, want, j.LoginModule)
	}
	var okCreds bool
	if s.user, s.password, okCreds = j.Credentials(); !okCreds {
		return s, errors.New("sasl.jaas.config: username and password are required")
	}
	return s, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// embedded reports whether the module runs the bundled broker, which
// listens in PLAINTEXT: security settings are then not applied.
func (c Config) embedded() bool { return len(c.BootstrapServers) == 0 }

// applySecurity sets sc's Net.TLS and Net.SASL for one client (replacing
// what sc had).
func (c Config) applySecurity(sc *sarama.Config, cl client) error {
	sc.Net.TLS.Enable, sc.Net.TLS.Config = false, nil
	sc.Net.SASL.Enable, sc.Net.SASL.User, sc.Net.SASL.Password = false, "", ""
	sc.Net.SASL.SCRAMClientGeneratorFunc = nil
	if c.embedded() {
		return nil
	}
	p := c.securityFor(cl)
	s, err := parseSecurity(p)
	if err != nil {
		return fmt.Errorf("spring.kafka %s: %w", cl, err)
	}
	if s.tls {
		tc, err := clientTLS(p)
		if err != nil {
			return fmt.Errorf("spring.kafka %s: %w", cl, err)
		}
		sc.Net.TLS.Enable, sc.Net.TLS.Config = true, tc
	}
	if s.mechanism != "" {
		sc.Net.SASL.Enable = true
		sc.Net.SASL.Handshake = true
		sc.Net.SASL.Version = sarama.SASLHandshakeV1
		sc.Net.SASL.Mechanism = sarama.SASLMechanism(s.mechanism)
		sc.Net.SASL.User, sc.Net.SASL.Password = s.user, s.password
		switch s.mechanism {
		case "SCRAM-SHA-256":
			sc.Net.SASL.SCRAMClientGeneratorFunc = func() sarama.SCRAMClient { return &scramClient{hash: scram.SHA256} }
		case "SCRAM-SHA-512":
			sc.Net.SASL.SCRAMClientGeneratorFunc = func() sarama.SCRAMClient { return &scramClient{hash: scram.SHA512} }
		}
	}
	return nil
}

// clientTLS builds a client's TLS configuration from PEM stores.
func clientTLS(p map[string]string) (*tls.Config, error) {
	for _, k := range []string{"ssl.keystore.type", "ssl.truststore.type"} {
		if t := p[k]; t != "" && !strings.EqualFold(t, "PEM") {
			return nil, fmt.Errorf("%s=%s: only PEM stores are read; convert the store to PEM (openssl pkcs12 -nodes)", k, t)
		}
	}
	if p["ssl.key.password"] != "" {
		return nil, errors.New("ssl.key.password: encrypted private keys are not supported; give an unencrypted PEM key")
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	switch strings.ToUpper(p["ssl.protocol"]) {
	case "TLSV1.3":
		cfg.MinVersion = tls.VersionTLS13
	case "", "TLS", "TLSV1.2":
	default:
		return nil, fmt.Errorf("ssl.protocol=%s: want TLSv1.2 or TLSv1.3", p["ssl.protocol"])
	}
	var caPEM []byte
	if loc := p["ssl.truststore.location"]; loc != "" {
		b, err := readStore(loc)
		if err != nil {
			return nil, fmt.Errorf("ssl.truststore.location: %w", err)
		}
		caPEM = b
	} else {
		caPEM = []byte(p["ssl.truststore.certificates"])
	}
	if len(caPEM) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(caPEM) {
			return nil, errors.New("trust store: no PEM certificate in it")
		}
		cfg.RootCAs = pool
	}
	var certPEM, keyPEM []byte
	if loc := p["ssl.keystore.location"]; loc != "" {
		b, err := readStore(loc)
		if err != nil {
			return nil, fmt.Errorf("ssl.keystore.location: %w", err)
		}
		certPEM, keyPEM = b, b
	} else {
		certPEM, keyPEM = []byte(p["ssl.keystore.certificate.chain"]), []byte(p["ssl.keystore.key"])
	}
	if len(certPEM) > 0 || len(keyPEM) > 0 {
		if !hasBlock(keyPEM, "PRIVATE KEY") {
			return nil, errors.New("key store: no unencrypted PEM private key in it")
		}
		cert, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			return nil, fmt.Errorf("key store: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	if alg, ok := p["ssl.endpoint.identification.algorithm"]; ok && strings.TrimSpace(alg) == "" {
		// Kafka's way to keep the chain check and skip the host name.
		roots := cfg.RootCAs
		cfg.InsecureSkipVerify = true
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("tls: the broker sent no certificate")
			}
			inter := x509.NewCertPool()
			for _, c := range cs.PeerCertificates[1:] {
				inter.AddCert(c)
			}
			_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter})
			return err
		}
	}
	return cfg, nil
}

// readStore reads a store file, given as a path or a Spring "file:" URL.
func readStore(loc string) ([]byte, error) {
	if strings.HasPrefix(loc, "classpath:") {
		return nil, fmt.Errorf("%s: a Go binary has no classpath; give a file path", loc)
	}
	return os.ReadFile(strings.TrimPrefix(loc, "file:"))
}

// hasBlock reports whether pemBytes holds a block whose type ends in suffix.
func hasBlock(pemBytes []byte, suffix string) bool {
	for {
		var b *pem.Block
		b, pemBytes = pem.Decode(pemBytes)
		if b == nil {
			return false
		}
		if strings.HasSuffix(b.Type, suffix) && !strings.Contains(b.Type, "ENCRYPTED") {
			return true
		}
	}
}

// scramClient is sarama's SCRAM client on github.com/xdg-go/scram.
type scramClient struct {
	hash scram.HashGeneratorFcn
	conv *scram.ClientConversation
}

func (s *scramClient) Begin(user, password, authzID string) error {
	c, err := s.hash.NewClient(user, password, authzID)
	if err != nil {
		return err
	}
	s.conv = c.NewConversation()
	return nil
}

func (s *scramClient) Step(challenge string) (string, error) { return s.conv.Step(challenge) }
func (s *scramClient) Done() bool                            { return s.conv.Done() }
