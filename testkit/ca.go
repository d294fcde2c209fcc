package testkit

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

// CA is a certificate authority made for one test (crypto/x509, ECDSA
// P-256): it signs the broker's certificate and, for mutual TLS, clients'.
// Its certificate is in memory ([CA.PEM], [CA.Pool]) and in a file under
// t.TempDir() ([CA.File]). Safe for concurrent use.
type CA struct {
	cert   *x509.Certificate
	key    *ecdsa.PrivateKey
	pem    []byte
	file   string
	dir    string
	serial atomic.Int64
}

// NewCA generates a CA for the test.
func NewCA(t testing.TB) *CA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("testkit: CA key: %v", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "kspring test CA", Organization: []string{"kspring testkit"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatalf("testkit: CA certificate: %v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("testkit: CA certificate: %v", err)
	}
	ca := &CA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), dir: t.TempDir()}
	ca.serial.Store(1)
	ca.file = ca.write(t, "ca.pem", ca.pem)
	return ca
}

// PEM returns the CA's certificate, PEM-encoded.
func (ca *CA) PEM() []byte { return append([]byte(nil), ca.pem...) }

// File returns the path of the CA's certificate (PEM): a truststore for
// ssl.truststore.location, kcat's ssl.ca.location, Spring's trust-store.
func (ca *CA) File() string { return ca.file }

// Pool returns a pool holding the CA's certificate.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.cert)
	return p
}

// Cert is a certificate the CA issued, with its key, in memory and as PEM files.
type Cert struct {
	TLS tls.Certificate
	// CertFile holds the certificate; KeyFile the private key (PKCS#8);
	// BothFile both, as ssl.keystore.location (type PEM) takes them.
	CertFile, KeyFile, BothFile string
	CertPEM, KeyPEM             []byte
}

// Issue signs a certificate for commonName valid for validFor from now (a
// negative validFor gives a certificate that has expired). It is valid for
// servers on 127.0.0.1, ::1 and localhost, and for clients.
func (ca *CA) Issue(t testing.TB, commonName string, validFor time.Duration) Cert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("testkit: key for %s: %v", commonName, err)
	}
	now := time.Now()
	notBefore, notAfter := now.Add(-time.Hour), now.Add(validFor)
	if validFor < 0 {
		notBefore = now.Add(2 * validFor)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(ca.serial.Add(1)),
		Subject:      pkix.Name{CommonName: commonName, Organization: []string{"kspring"}},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatalf("testkit: certificate for %s: %v", commonName, err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatalf("testkit: key for %s: %v", commonName, err)
	}
	c := Cert{
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
	}
	if c.TLS, err = tls.X509KeyPair(c.CertPEM, c.KeyPEM); err != nil {
		t.Fatalf("testkit: key pair for %s: %v", commonName, err)
	}
	base := sanitize(commonName) + "-" + tmpl.SerialNumber.String()
	c.CertFile = ca.write(t, base+".crt", c.CertPEM)
	c.KeyFile = ca.write(t, base+".key", c.KeyPEM)
	c.BothFile = ca.write(t, base+".pem", append(append([]byte(nil), c.KeyPEM...), c.CertPEM...))
	return c
}

// ClientTLS returns a client configuration that trusts the CA, presenting
// cert if one is given (mutual TLS).
func (ca *CA) ClientTLS(cert ...Cert) *tls.Config {
	cfg := &tls.Config{RootCAs: ca.Pool(), MinVersion: tls.VersionTLS12}
	for _, c := range cert {
		cfg.Certificates = append(cfg.Certificates, c.TLS)
	}
	return cfg
}

func (ca *CA) write(t testing.TB, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(ca.dir, name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatalf("testkit: %v", err)
	}
	return p
}
