package testkit

import (
	"crypto/tls"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// User is a SASL user: a name and a password.
type User struct{ Name, Password string }

// SASL mechanisms for [WithSASL].
const (
	PLAIN       = "PLAIN"
	SCRAMSHA256 = "SCRAM-SHA-256"
	SCRAMSHA512 = "SCRAM-SHA-512"
)

// Admin is the user testkit's own helpers (topic creation, [ConsumeN], ...)
// connect as to a broker with [WithSASL]; it is a super user, so that
// ACLs a test sets never block them.
var Admin = User{Name: "kspring-testkit", Password: "kspring-testkit-secret"}

type securityOpts struct {
	tls, mtls bool
	mechanism string
	users     []User
}

// WithTLS serves the broker's listener over TLS (SSL://, or SASL_SSL://
// with [WithSASL]), with a certificate from a CA generated for the test
// ([Broker.CA]). Clients get a configuration that trusts it from
// [Broker.ClientTLS]. Not for [NewCluster] (brokers talk to each other in
// the clear) or an external cluster.
func WithTLS() Option { return func(o *options) { o.security.tls = true } }

// WithMutualTLS is [WithTLS] with ssl.client.auth=required: clients present
// a certificate from [Broker.CA] ([CA.Issue]), whose subject becomes their
// principal ("User:CN=alice,O=kspring").
func WithMutualTLS() Option {
	return func(o *options) { o.security.tls, o.security.mtls = true, true }
}

// WithSASL makes the broker's listener authenticate clients with mechanism
// (PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512): SASL_PLAINTEXT://, or
// SASL_SSL:// with [WithTLS]. users are its users besides [Admin]: PLAIN's
// from the listener's JAAS configuration, SCRAM's created in the metadata
// quorum at start (kspring.add.scram). With [NewCluster] (without
// [WithTLS]) the brokers also log in to each other as [Admin]. Not for an
// external cluster.
func WithSASL(mechanism string, users ...User) Option {
	return func(o *options) {
		o.security.mechanism = mechanism
		o.security.users = append(o.security.users, users...)
	}
}

func (s securityOpts) on() bool { return s.tls || s.mechanism != "" }

// protocol is the listener's security protocol.
func (s securityOpts) protocol() string {
	switch {
	case s.tls && s.mechanism != "":
		return "SASL_SSL"
	case s.tls:
		return "SSL"
	case s.mechanism != "":
		return "SASL_PLAINTEXT"
	}
	return "PLAINTEXT"
}

// secured is what a test's clients need to reach a secured broker.
type secured struct {
	opts     securityOpts
	ca       *CA
	admin    Cert // testkit's own client certificate under mutual TLS
	protocol string
}

// secure adds the broker properties of o's security to props.
func secure(t testing.TB, o *options) *secured {
	t.Helper()
	s := o.security
	if !s.on() {
		return nil
	}
	switch s.mechanism {
	case "", PLAIN, SCRAMSHA256, SCRAMSHA512:
	default:
		t.Fatalf("testkit: WithSASL(%q): want PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512", s.mechanism)
	}
	sec := &secured{opts: s, protocol: s.protocol()}
	p := o.props
	setDefault := func(k, v string) {
		if _, ok := p[k]; !ok {
			p[k] = v
		}
	}
	setDefault("listeners", sec.protocol+"://127.0.0.1:0")
	if s.tls {
		sec.ca = NewCA(t)
		server := sec.ca.Issue(t, "localhost", 24*time.Hour)
		setDefault("ssl.keystore.type", "PEM")
		setDefault("ssl.keystore.location", server.BothFile)
		setDefault("ssl.truststore.type", "PEM")
		setDefault("ssl.truststore.location", sec.ca.File())
		if s.mtls {
			setDefault("ssl.client.auth", "required")
			sec.admin = sec.ca.Issue(t, Admin.Name, 24*time.Hour)
		}
	}
	var supers []string
	if s.mtls {
		supers = append(supers, "User:"+sec.admin.TLS.Leaf.Subject.String())
	}
	if s.mechanism != "" {
		supers = append(supers, "User:"+Admin.Name)
		users := append([]User{Admin}, s.users...)
		setDefault("sasl.enabled.mechanisms", s.mechanism)
		if s.mechanism == PLAIN {
			var b strings.Builder
			// username and password: the brokers' own login to each other
			// (NewCluster).
			fmt.Fprintf(&b, `org.apache.kafka.common.security.plain.PlainLoginModule required username=%q password=%q`, Admin.Name, Admin.Password)
			for _, u := range users {
				fmt.Fprintf(&b, " user_%s=%q", u.Name, u.Password)
			}
			b.WriteString(";")
			setDefault("listener.name."+strings.ToLower(sec.protocol)+".plain.sasl.jaas.config", b.String())
		} else {
			var entries []string
			for _, u := range users {
				entries = append(entries, fmt.Sprintf("%s=[name=%s,password=%s]", s.mechanism, u.Name, u.Password))
			}
			setDefault("kspring.add.scram", strings.Join(entries, ";"))
			setDefault("listener.name."+strings.ToLower(sec.protocol)+"."+strings.ToLower(s.mechanism)+".sasl.jaas.config",
				fmt.Sprintf(`org.apache.kafka.common.security.scram.ScramLoginModule required username=%q password=%q;`, Admin.Name, Admin.Password))
		}
	}
	if len(supers) > 0 {
		if v := p["super.users"]; v != "" {
			supers = append(supers, v)
		}
		p["super.users"] = strings.Join(supers, ";")
	}
	return sec
}

// kgoOpts are the franz-go options of a client connecting as user (the
// zero User: [Admin]) with cert (mutual TLS; none: testkit's own).
func (s *secured) kgoOpts(user User, cert ...Cert) []kgo.Opt {
	if s == nil {
		return nil
	}
	var out []kgo.Opt
	if s.opts.tls {
		if len(cert) == 0 && s.opts.mtls {
			cert = []Cert{s.admin}
		}
		out = append(out, kgo.DialTLSConfig(s.ca.ClientTLS(cert...)))
	}
	if s.opts.mechanism != "" {
		if user == (User{}) {
			user = Admin
		}
		out = append(out, kgo.SASL(saslMechanism(s.opts.mechanism, user)))
	}
	return out
}

// springProperties are the Spring Boot keys of an application connecting
// as Admin (and testkit's client certificate under mutual TLS).
func (s *secured) springProperties() map[string]string {
	if s == nil {
		return nil
	}
	out := map[string]string{"spring.kafka.security.protocol": s.protocol}
	if s.opts.tls {
		out["spring.kafka.ssl.trust-store-type"] = "PEM"
		out["spring.kafka.ssl.trust-store-location"] = s.ca.File()
		if s.opts.mtls {
			out["spring.kafka.ssl.key-store-type"] = "PEM"
			out["spring.kafka.ssl.key-store-location"] = s.admin.BothFile
		}
	}
	if m := s.opts.mechanism; m != "" {
		module := "org.apache.kafka.common.security.scram.ScramLoginModule"
		if m == PLAIN {
			module = "org.apache.kafka.common.security.plain.PlainLoginModule"
		}
		out["spring.kafka.properties.sasl.mechanism"] = m
		out["spring.kafka.properties.sasl.jaas.config"] = fmt.Sprintf("%s required username=%q password=%q;", module, Admin.Name, Admin.Password)
	}
	return out
}

func saslMechanism(mechanism string, u User) sasl.Mechanism {
	switch mechanism {
	case PLAIN:
		return plain.Auth{User: u.Name, Pass: u.Password}.AsMechanism()
	case SCRAMSHA512:
		return scram.Auth{User: u.Name, Pass: u.Password}.AsSha512Mechanism()
	}
	return scram.Auth{User: u.Name, Pass: u.Password}.AsSha256Mechanism()
}

// securedAddrs maps the addresses of secured brokers to how testkit's own
// helpers connect to them, so that helpers taking an address keep working.
var securedAddrs sync.Map // host:port -> *secured

func register(t testing.TB, addr string, s *secured) {
	if s == nil {
		return
	}
	securedAddrs.Store(addr, s)
	t.Cleanup(func() { securedAddrs.Delete(addr) })
}

// helperOpts returns the options testkit's helpers need for addrs.
func helperOpts(addrs []string) []kgo.Opt {
	for _, a := range addrs {
		if v, ok := securedAddrs.Load(a); ok {
			return v.(*secured).kgoOpts(User{})
		}
	}
	return nil
}

// CA returns the test CA that signed the broker's certificate ([WithTLS]),
// or nil.
func (b *Broker) CA() *CA {
	if b.sec == nil {
		return nil
	}
	return b.sec.ca
}

// SecurityProtocol returns the listener's security protocol: PLAINTEXT,
// SSL, SASL_PLAINTEXT or SASL_SSL.
func (b *Broker) SecurityProtocol() string {
	if b.sec == nil {
		return "PLAINTEXT"
	}
	return b.sec.protocol
}

// SASLMechanism returns the mechanism of [WithSASL], or "".
func (b *Broker) SASLMechanism() string {
	if b.sec == nil {
		return ""
	}
	return b.sec.opts.mechanism
}

// ClientTLS returns a TLS configuration that trusts the broker's CA,
// presenting cert if given; nil if the broker does not serve TLS.
func (b *Broker) ClientTLS(cert ...Cert) *tls.Config {
	if b.sec == nil || b.sec.ca == nil {
		return nil
	}
	return b.sec.ca.ClientTLS(cert...)
}

// ClientOpts returns the franz-go options to connect to the broker as user
// (the zero User: [Admin]) presenting cert under mutual TLS (none:
// testkit's own certificate), besides the seed brokers.
func (b *Broker) ClientOpts(user User, cert ...Cert) []kgo.Opt {
	return b.sec.kgoOpts(user, cert...)
}

// listenerWithAddr returns listener l ("NAME://host:port") with its
// address replaced by addr.
func listenerWithAddr(l, addr string) string {
	name, _, ok := strings.Cut(l, "://")
	if !ok {
		return addr
	}
	return name + "://" + addr
}

// ClientOpts returns the franz-go options to connect to the cluster as
// user (the zero User: [Admin]), besides the seed brokers.
func (c *Cluster) ClientOpts(user User) []kgo.Opt { return c.sec.kgoOpts(user) }
