package broker

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"strings"
)

// serverTLS builds the TLS configuration of listener name from the ssl.*
// settings (PEM only).
func (c *Config) serverTLS(name string) (*tls.Config, error) {
	v := func(key, global string) string { return c.listenerValue(name, key, global) }
	s := c.Security
	if t := v("ssl.keystore.type", s.SSLKeystoreType); t != "" && !strings.EqualFold(t, "PEM") {
		return nil, fmt.Errorf("broker: listener %s: ssl.keystore.type=%s: only PEM is read", name, t)
	}
	if t := v("ssl.truststore.type", s.SSLTruststoreType); t != "" && !strings.EqualFold(t, "PEM") {
		return nil, fmt.Errorf("broker: listener %s: ssl.truststore.type=%s: only PEM is read", name, t)
	}
	if v("ssl.key.password", s.SSLKeyPassword) != "" {
		return nil, fmt.Errorf("broker: listener %s: ssl.key.password: encrypted private keys are not supported; give an unencrypted PEM key", name)
	}
	if r := v("ssl.principal.mapping.rules", s.SSLPrincipalMappingRules); r != "" && r != "DEFAULT" {
		return nil, fmt.Errorf("broker: listener %s: ssl.principal.mapping.rules=%q: only DEFAULT is supported", name, r)
	}
	var certPEM, keyPEM []byte
	if loc := v("ssl.keystore.location", s.SSLKeystoreLocation); loc != "" {
		b, err := os.ReadFile(loc)
		if err != nil {
			return nil, fmt.Errorf("broker: listener %s: ssl.keystore.location: %w", name, err)
		}
		certPEM, keyPEM = b, b
	} else {
		certPEM = []byte(v("ssl.keystore.certificate.chain", s.SSLKeystoreCertificateChain))
		keyPEM = []byte(v("ssl.keystore.key", s.SSLKeystoreKey))
	}
	if len(certPEM) == 0 || len(keyPEM) == 0 {
		return nil, fmt.Errorf("broker: listener %s is SSL but has no certificate: set ssl.keystore.location (a PEM file with key and chain) or ssl.keystore.certificate.chain and ssl.keystore.key", name)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("broker: listener %s: keystore: %w", name, err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	var caPEM []byte
	if loc := v("ssl.truststore.location", s.SSLTruststoreLocation); loc != "" {
		if caPEM, err = os.ReadFile(loc); err != nil {
			return nil, fmt.Errorf("broker: listener %s: ssl.truststore.location: %w", name, err)
		}
	} else {
		caPEM = []byte(v("ssl.truststore.certificates", s.SSLTruststoreCertificates))
	}
	if len(caPEM) > 0 {
		pool := x509.NewCertPool()
		if !appendCerts(pool, caPEM) {
			return nil, fmt.Errorf("broker: listener %s: truststore holds no PEM certificate", name)
		}
		cfg.ClientCAs = pool
	}
	switch auth := strings.ToLower(v("ssl.client.auth", s.SSLClientAuth)); auth {
	case "", "none":
		cfg.ClientAuth = tls.NoClientCert
	case "requested":
		cfg.ClientAuth = tls.VerifyClientCertIfGiven
	case "required":
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	default:
		return nil, fmt.Errorf("broker: listener %s: ssl.client.auth=%q: want none, requested or required", name, auth)
	}
	if cfg.ClientAuth != tls.NoClientCert && cfg.ClientCAs == nil {
		return nil, fmt.Errorf("broker: listener %s: ssl.client.auth needs a truststore (ssl.truststore.location) to verify client certificates", name)
	}
	return cfg, nil
}

// appendCerts adds every CERTIFICATE block of pemBytes to pool.
func appendCerts(pool *x509.CertPool, pemBytes []byte) bool {
	ok := false
	for {
		var blk *pem.Block
		blk, pemBytes = pem.Decode(pemBytes)
		if blk == nil {
			return ok
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			continue
		}
		pool.AddCert(c)
		ok = true
	}
}
