package broker

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kspring/kspring/broker/internal/wire"
)

// Security settings, with Kafka's server.properties names. TLS material is
// read from PEM only (ssl.keystore.type=PEM, ssl.truststore.type=PEM, as
// Kafka 2.7+ accepts): either files or the PEM text inline.
//
//	ssl.keystore.location          a PEM file with the private key and the certificate chain
//	ssl.keystore.certificate.chain the certificate chain, PEM text (instead of a file)
//	ssl.keystore.key               the private key, PEM text (PKCS#8, PKCS#1 or EC; unencrypted)
//	ssl.truststore.location        a PEM file of the CA certificates that sign client certificates
//	ssl.truststore.certificates    the same, PEM text
//	ssl.client.auth                none (default), requested or required
//
// Each may be set for one listener only with Kafka's prefix,
// listener.name.<listener>.ssl.keystore.location and so on.

// SecurityConfig holds a broker's security settings. The zero value is
// Kafka's default: every listener's protocol is its name, no SASL users, no
// authorizer.
type SecurityConfig struct {
	// ListenerSecurityProtocolMap is listener.security.protocol.map:
	// listener name to PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL. A
	// listener named after a protocol needs no entry.
	ListenerSecurityProtocolMap map[string]string

	SSLKeystoreType             string // ssl.keystore.type: PEM (the only type read)
	SSLKeystoreLocation         string // ssl.keystore.location
	SSLKeystoreCertificateChain string // ssl.keystore.certificate.chain
	SSLKeystoreKey              string // ssl.keystore.key
	SSLKeyPassword              string // ssl.key.password: encrypted keys are refused
	SSLTruststoreType           string // ssl.truststore.type: PEM
	SSLTruststoreLocation       string // ssl.truststore.location
	SSLTruststoreCertificates   string // ssl.truststore.certificates
	SSLClientAuth               string // ssl.client.auth: none, requested, required
	// SSLPrincipalMappingRules is ssl.principal.mapping.rules; only DEFAULT
	// (the certificate's subject, RFC 2253) is served.
	SSLPrincipalMappingRules string

	// SASLEnabledMechanisms is sasl.enabled.mechanisms. Kafka's default is
	// GSSAPI, which kspring does not serve; empty here means PLAIN,
	// SCRAM-SHA-256 and SCRAM-SHA-512.
	SASLEnabledMechanisms []string
	// SASLMechanismInterBrokerProtocol is sasl.mechanism.inter.broker.protocol.
	SASLMechanismInterBrokerProtocol string
	// SecurityInterBrokerProtocol is security.inter.broker.protocol.
	SecurityInterBrokerProtocol string
	// InterBrokerListenerName is inter.broker.listener.name.
	InterBrokerListenerName string
	// SASLJaasConfig is sasl.jaas.config for every listener and mechanism;
	// Kafka wants it per listener (ListenerOverrides), and so do we for
	// the server side: this one gives the inter-broker client's login.
	SASLJaasConfig string
	// PlainUsersFile is kspring.sasl.plain.users.file: a file of
	// user=password lines, PLAIN's users besides those of the JAAS configs.
	PlainUsersFile string
	// AddScram is kspring.add.scram: SCRAM users created when the broker
	// starts if they do not exist yet, in the form of kafka-storage's
	// --add-scram: 'SCRAM-SHA-256=[name=alice,password=alice-secret]',
	// several separated by ';'.
	AddScram []string

	// AuthorizerClassName is authorizer.class.name: any value turns ACLs on
	// (Kafka's org.apache.kafka.metadata.authorizer.StandardAuthorizer).
	AuthorizerClassName string
	// SuperUsers is super.users: principals allowed everything
	// ("User:alice;User:bob").
	SuperUsers []string
	// AllowEveryoneIfNoACLFound is allow.everyone.if.no.acl.found.
	AllowEveryoneIfNoACLFound bool

	// ListenerOverrides are the listener.name.<listener>.<key> properties,
	// keyed "<listener lower case>.<key>".
	ListenerOverrides map[string]string
}

func securityProp(field func(*SecurityConfig) *string) property {
	return stringProp(func(c *Config) *string { return field(&c.Security) })
}

func init() {
	for key, field := range map[string]func(*SecurityConfig) *string{
		"ssl.keystore.type":                    func(s *SecurityConfig) *string { return &s.SSLKeystoreType },
		"ssl.keystore.location":                func(s *SecurityConfig) *string { return &s.SSLKeystoreLocation },
		"ssl.keystore.certificate.chain":       func(s *SecurityConfig) *string { return &s.SSLKeystoreCertificateChain },
		"ssl.keystore.key":                     func(s *SecurityConfig) *string { return &s.SSLKeystoreKey },
		"ssl.key.password":                     func(s *SecurityConfig) *string { return &s.SSLKeyPassword },
		"ssl.truststore.type":                  func(s *SecurityConfig) *string { return &s.SSLTruststoreType },
		"ssl.truststore.location":              func(s *SecurityConfig) *string { return &s.SSLTruststoreLocation },
		"ssl.truststore.certificates":          func(s *SecurityConfig) *string { return &s.SSLTruststoreCertificates },
		"ssl.client.auth":                      func(s *SecurityConfig) *string { return &s.SSLClientAuth },
		"ssl.principal.mapping.rules":          func(s *SecurityConfig) *string { return &s.SSLPrincipalMappingRules },
		"sasl.mechanism.inter.broker.protocol": func(s *SecurityConfig) *string { return &s.SASLMechanismInterBrokerProtocol },
		"security.inter.broker.protocol":       func(s *SecurityConfig) *string { return &s.SecurityInterBrokerProtocol },
		"inter.broker.listener.name":           func(s *SecurityConfig) *string { return &s.InterBrokerListenerName },
		"sasl.jaas.config":                     func(s *SecurityConfig) *string { return &s.SASLJaasConfig },
		"kspring.sasl.plain.users.file":        func(s *SecurityConfig) *string { return &s.PlainUsersFile },
		"authorizer.class.name":                func(s *SecurityConfig) *string { return &s.AuthorizerClassName },
	} {
		properties[key] = securityProp(field)
	}
	properties["sasl.enabled.mechanisms"] = listProp(func(c *Config) *[]string { return &c.Security.SASLEnabledMechanisms })
	properties["allow.everyone.if.no.acl.found"] = boolProp(func(c *Config) *bool { return &c.Security.AllowEveryoneIfNoACLFound })
	properties["super.users"] = property{set: func(c *Config, v string) error {
		c.Security.SuperUsers = splitTrim(v, ";")
		return nil
	}}
	properties["kspring.add.scram"] = property{set: func(c *Config, v string) error {
		c.Security.AddScram = splitTrim(v, ";")
		return nil
	}}
	properties["listener.security.protocol.map"] = property{set: func(c *Config, v string) error {
		m := map[string]string{}
		for _, e := range splitTrim(v, ",") {
			name, proto, ok := strings.Cut(e, ":")
			if !ok {
				return fmt.Errorf("entry %q: want LISTENER:PROTOCOL", e)
			}
			proto = strings.ToUpper(strings.TrimSpace(proto))
			if !slices.Contains(securityProtocols, proto) {
				return fmt.Errorf("entry %q: unknown security protocol %s", e, proto)
			}
			m[strings.ToUpper(strings.TrimSpace(name))] = proto
		}
		c.Security.ListenerSecurityProtocolMap = m
		return nil
	}}
}

// setListenerOverride stores a listener.name.<listener>.<key> property.
func (c *Config) setListenerOverride(key, value string) bool {
	rest, ok := strings.CutPrefix(key, "listener.name.")
	if !ok {
		return false
	}
	name, k, ok := strings.Cut(rest, ".")
	if !ok || name == "" || k == "" {
		return false
	}
	if c.Security.ListenerOverrides == nil {
		c.Security.ListenerOverrides = map[string]string{}
	}
	c.Security.ListenerOverrides[strings.ToLower(name)+"."+k] = value
	return true
}

// listenerValue returns key for listener name: its listener.name override
// if set, else global.
func (c *Config) listenerValue(name, key, global string) string {
	if v, ok := c.Security.ListenerOverrides[strings.ToLower(name)+"."+key]; ok {
		return v
	}
	return global
}

func splitTrim(v, sep string) []string {
	var out []string
	for s := range strings.SplitSeq(v, sep) {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// Kafka's security protocols.
const (
	protoPlaintext     = "PLAINTEXT"
	protoSSL           = "SSL"
	protoSASLPlaintext = "SASL_PLAINTEXT"
	protoSASLSSL       = "SASL_SSL"
)

var securityProtocols = []string{protoPlaintext, protoSSL, protoSASLPlaintext, protoSASLSSL}

// listenerSpec is one entry of listeners, resolved.
type listenerSpec struct {
	Name     string // upper case, as in listener.security.protocol.map
	Protocol string
	Addr     string // host:port
}

// parseListenerSpec resolves "NAME://host:port" (or "host:port", taken as
// PLAINTEXT) with listener.security.protocol.map.
func (c *Config) parseListenerSpec(l string) (listenerSpec, error) {
	name, addr, ok := strings.Cut(l, "://")
	if !ok {
		return listenerSpec{Name: protoPlaintext, Protocol: protoPlaintext, Addr: l}, nil
	}
	name = strings.ToUpper(name)
	proto, mapped := c.Security.ListenerSecurityProtocolMap[name]
	switch {
	case mapped:
	case slices.Contains(securityProtocols, name):
		proto = name
	case c.isControllerListener(l):
		proto = protoPlaintext
	default:
		return listenerSpec{}, fmt.Errorf("broker: listener %q: no security protocol for %s in listener.security.protocol.map", l, name)
	}
	return listenerSpec{Name: name, Protocol: proto, Addr: addr}, nil
}

// sslOn and saslOn tell what a protocol layers.
func sslOn(proto string) bool  { return proto == protoSSL || proto == protoSASLSSL }
func saslOn(proto string) bool { return proto == protoSASLPlaintext || proto == protoSASLSSL }

// securityConfigs are the security settings DescribeConfigs reports;
// secrets (keys, passwords, JAAS configurations) are left out.
func (c *Config) securityConfigs() []wire.StaticConfig {
	s := c.Security
	var protoMap []string
	for _, name := range slices.Sorted(maps.Keys(s.ListenerSecurityProtocolMap)) {
		protoMap = append(protoMap, name+":"+s.ListenerSecurityProtocolMap[name])
	}
	mechs, _ := c.mechanisms()
	str := func(name, value string) wire.StaticConfig {
		return wire.StaticConfig{Name: name, Value: value, Type: kmsg.ConfigTypeString}
	}
	return []wire.StaticConfig{
		{Name: "listener.security.protocol.map", Value: strings.Join(protoMap, ","), Type: kmsg.ConfigTypeString},
		str("inter.broker.listener.name", s.InterBrokerListenerName),
		str("security.inter.broker.protocol", cmpOr(s.SecurityInterBrokerProtocol, protoPlaintext)),
		{Name: "sasl.enabled.mechanisms", Value: strings.Join(mechs, ","), Type: kmsg.ConfigTypeList},
		str("sasl.mechanism.inter.broker.protocol", cmpOr(s.SASLMechanismInterBrokerProtocol, "PLAIN")),
		str("ssl.client.auth", cmpOr(strings.ToLower(s.SSLClientAuth), "none")),
		str("ssl.keystore.type", cmpOr(s.SSLKeystoreType, "PEM")),
		str("ssl.keystore.location", s.SSLKeystoreLocation),
		str("ssl.truststore.type", cmpOr(s.SSLTruststoreType, "PEM")),
		str("ssl.truststore.location", s.SSLTruststoreLocation),
		str("authorizer.class.name", s.AuthorizerClassName),
		str("super.users", strings.Join(s.SuperUsers, ";")),
		{Name: "allow.everyone.if.no.acl.found", Value: strconv.FormatBool(s.AllowEveryoneIfNoACLFound), Type: kmsg.ConfigTypeBoolean},
	}
}
