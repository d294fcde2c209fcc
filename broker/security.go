package broker

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"

	"github.com/kspring/kspring/broker/internal/cluster"
	"github.com/kspring/kspring/broker/internal/sasl"
	"github.com/kspring/kspring/broker/internal/wire"
	"github.com/kspring/kspring/internal/jaas"
)

// wireListeners describes each bound client listener to the request
// handlers: its protocol, TLS configuration, SASL mechanisms and the
// address Metadata gives its clients.
func (b *Broker) wireListeners() ([]wire.Listener, error) {
	mechs, err := b.cfg.mechanisms()
	if err != nil {
		return nil, err
	}
	out := make([]wire.Listener, len(b.lns))
	for i, spec := range b.specs {
		l := wire.Listener{Name: spec.Name, Protocol: spec.Protocol}
		if sslOn(spec.Protocol) {
			if l.TLS, err = b.cfg.serverTLS(spec.Name); err != nil {
				return nil, err
			}
		}
		if saslOn(spec.Protocol) {
			l.Mechanisms = mechs
		}
		host, port, err := b.advertisedFor(i)
		if err != nil {
			return nil, err
		}
		l.AdvertisedHost, l.AdvertisedPort = host, port
		out[i] = l
	}
	return out, nil
}

// mechanisms returns sasl.enabled.mechanisms, checked.
func (c *Config) mechanisms() ([]string, error) {
	if len(c.Security.SASLEnabledMechanisms) == 0 {
		return slices.Clone(sasl.Mechanisms), nil
	}
	for _, m := range c.Security.SASLEnabledMechanisms {
		if !sasl.Supported(m) {
			return nil, fmt.Errorf("broker: config: sasl.enabled.mechanisms: %s is not supported (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 are)", m)
		}
	}
	return slices.Clone(c.Security.SASLEnabledMechanisms), nil
}

// advertisedFor returns the address clients of client listener i are
// given: the advertised.listeners entry of the same name, else the one at
// the same position, else the bound address.
func (b *Broker) advertisedFor(i int) (string, int32, error) {
	adv := b.lns[i].Addr().String()
	var match string
	for j, a := range b.cfg.AdvertisedListeners {
		name, _, ok := strings.Cut(a, "://")
		if ok && strings.EqualFold(name, b.specs[i].Name) || !ok && j == i {
			match = a
			break
		}
	}
	if match == "" && len(b.cfg.AdvertisedListeners) > 0 && len(b.lns) == 1 {
		match = b.cfg.AdvertisedListeners[0]
	}
	if match != "" {
		a, err := parseListener(match)
		if err != nil {
			return "", 0, err
		}
		adv = a
	}
	host, portStr, err := net.SplitHostPort(adv)
	if err != nil {
		return "", 0, fmt.Errorf("broker: advertised listener %q: %w", adv, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port == 0 {
		_, bound, _ := net.SplitHostPort(b.lns[i].Addr().String())
		port, _ = strconv.Atoi(bound)
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return host, int32(port), nil
}

// interBrokerListener returns the index of the client listener other
// brokers reach this one on (its registered address):
// inter.broker.listener.name, else the first listener of
// security.inter.broker.protocol (default PLAINTEXT), else the first.
func (b *Broker) interBrokerListener() int { return b.cfg.interBrokerSpec(b.specs) }

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// users is what SASL listeners authenticate against: PLAIN users from the
// JAAS configurations and the users file, SCRAM credentials from the
// metadata quorum. Safe for concurrent use (read-only after start; the
// quorum's state is immutable).
type users struct {
	plain map[string]string
	meta  *cluster.Node
}

func (u *users) PlainPassword(user string) (string, bool) {
	p, ok := u.plain[user]
	return p, ok
}

func (u *users) ScramCredential(user, mechanism string) (sasl.Credential, bool) {
	c, ok := u.meta.State().ScramCredential(user, mechanism)
	if !ok {
		return sasl.Credential{}, false
	}
	return sasl.Credential{Salt: c.Salt, StoredKey: c.StoredKey, ServerKey: c.ServerKey, Iterations: c.Iterations}, true
}

// plainUsers collects PLAIN's users: the user_<name> options of every
// listener.name.<listener>.plain.sasl.jaas.config (kspring's users are the
// broker's, whichever SASL listener they come in on), then the users file.
func (c *Config) plainUsers() (map[string]string, error) {
	out := map[string]string{}
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range c.Security.ListenerOverrides {
			if !yield(k) {
				return
			}
		}
	})
	for _, k := range keys {
		_, rest, _ := strings.Cut(k, ".")
		if !strings.EqualFold(rest, "plain.sasl.jaas.config") {
			continue
		}
		j, err := jaas.Parse(c.Security.ListenerOverrides[k])
		if err != nil {
			return nil, fmt.Errorf("broker: config: listener.name.%s: %w", k, err)
		}
		for u, p := range j.Users() {
			out[u] = p
		}
	}
	if f := c.Security.PlainUsersFile; f != "" {
		if err := readUsersFile(f, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// readUsersFile reads user=password lines ('#' comments) into out.
func readUsersFile(path string, out map[string]string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("broker: config: kspring.sasl.plain.users.file: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		u, p, ok := strings.Cut(line, "=")
		if !ok || strings.TrimSpace(u) == "" {
			return fmt.Errorf("broker: config: %s line %d: want user=password", path, n)
		}
		out[strings.TrimSpace(u)] = strings.TrimSpace(p)
	}
	return sc.Err()
}

// scramUser is one kspring.add.scram entry.
type scramUser struct {
	mechanism, name, password string
	iterations                int32
}

// parseAddScram parses kafka-storage's --add-scram form:
// SCRAM-SHA-256=[name=alice,password=alice-secret(,iterations=8192)].
func parseAddScram(s string) (scramUser, error) {
	mech, rest, ok := strings.Cut(strings.TrimSpace(s), "=")
	u := scramUser{mechanism: strings.TrimSpace(mech), iterations: sasl.MinIterations}
	rest = strings.TrimSpace(rest)
	if !ok || !strings.HasPrefix(rest, "[") || !strings.HasSuffix(rest, "]") {
		return u, fmt.Errorf("kspring.add.scram %q: want SCRAM-SHA-256=[name=alice,password=secret]", s)
	}
	if u.mechanism != sasl.ScramSHA256 && u.mechanism != sasl.ScramSHA512 {
		return u, fmt.Errorf("kspring.add.scram %q: mechanism %q: want SCRAM-SHA-256 or SCRAM-SHA-512", s, u.mechanism)
	}
	for kv := range strings.SplitSeq(rest[1:len(rest)-1], ",") {
		k, v, _ := strings.Cut(kv, "=")
		v = strings.Trim(strings.TrimSpace(v), `"`)
		switch strings.TrimSpace(k) {
		case "name":
			u.name = v
		case "password":
			u.password = v
		case "iterations":
			n, err := strconv.ParseInt(v, 10, 32)
			if err != nil || n < sasl.MinIterations || n > sasl.MaxIterations {
				return u, fmt.Errorf("kspring.add.scram %q: iterations %q: want %d to %d", s, v, sasl.MinIterations, sasl.MaxIterations)
			}
			u.iterations = int32(n)
		default:
			return u, fmt.Errorf("kspring.add.scram %q: unknown field %q", s, k)
		}
	}
	if u.name == "" || u.password == "" {
		return u, fmt.Errorf("kspring.add.scram %q: name and password are required", s)
	}
	return u, nil
}

// addScramUsers creates the kspring.add.scram users that do not exist yet.
func (b *Broker) addScramUsers(ctx context.Context) error {
	for _, s := range b.cfg.Security.AddScram {
		u, err := parseAddScram(s)
		if err != nil {
			return fmt.Errorf("broker: config: %w", err)
		}
		if _, ok := b.meta.State().ScramCredential(u.name, u.mechanism); ok {
			continue
		}
		salt := make([]byte, 32)
		_, _ = rand.Read(salt)
		salted, err := sasl.SaltPassword(u.mechanism, u.password, salt, u.iterations)
		if err != nil {
			return fmt.Errorf("broker: kspring.add.scram: %w", err)
		}
		if err := b.security.setScram(ctx, u.name, u.mechanism, salt, salted, u.iterations); err != nil {
			return fmt.Errorf("broker: kspring.add.scram: user %s: %w", u.name, err)
		}
		b.logger.Info("created SCRAM user", zap.String("user", u.name), zap.String("mechanism", u.mechanism))
	}
	return nil
}

// securityAdmin changes SCRAM credentials and ACLs in the metadata quorum:
// on the active controller directly, elsewhere by forwarding the request to
// it. It implements wire.SecurityAdmin; safe for concurrent use.
type securityAdmin struct {
	meta   *cluster.Node
	member *member
}

var _ wire.SecurityAdmin = (*securityAdmin)(nil)

// Local reports whether changes are made here (this node is the controller).
func (a *securityAdmin) Local() bool { return a.meta.IsController() }

// Forward sends a request to the active controller and returns its answer.
func (a *securityAdmin) Forward(ctx context.Context, req kmsg.Request) (kmsg.Response, error) {
	if a.meta.IsController() {
		return nil, errors.New("forward: this broker is the controller")
	}
	return a.member.call(ctx, req)
}

func (a *securityAdmin) SetScram(ctx context.Context, c cluster.ScramCredential) error {
	return a.meta.SetScramCredential(ctx, c)
}

func (a *securityAdmin) DeleteScram(ctx context.Context, user, mechanism string) error {
	return a.meta.DeleteScramCredential(ctx, user, mechanism)
}

func (a *securityAdmin) CreateACLs(ctx context.Context, acls []cluster.ACL) error {
	return a.meta.CreateACLs(ctx, acls)
}

func (a *securityAdmin) DeleteACLs(ctx context.Context, acls []cluster.ACL) ([]cluster.ACL, error) {
	return a.meta.DeleteACLs(ctx, acls)
}

// setScram sets a credential from its salted password here or, off the
// controller, through an AlterUserScramCredentials request to it.
func (a *securityAdmin) setScram(ctx context.Context, user, mechanism string, salt, salted []byte, iterations int32) error {
	if a.Local() {
		cred, err := sasl.FromSaltedPassword(mechanism, salt, salted, iterations)
		if err != nil {
			return err
		}
		return a.SetScram(ctx, cluster.ScramCredential{User: user, Mechanism: mechanism,
			Salt: cred.Salt, StoredKey: cred.StoredKey, ServerKey: cred.ServerKey, Iterations: cred.Iterations})
	}
	req := kmsg.NewPtrAlterUserSCRAMCredentialsRequest()
	u := kmsg.NewAlterUserSCRAMCredentialsRequestUpsertion()
	u.Name, u.Iterations, u.Salt, u.SaltedPassword = user, iterations, salt, salted
	u.Mechanism = 1
	if mechanism == sasl.ScramSHA512 {
		u.Mechanism = 2
	}
	req.Upsertions = append(req.Upsertions, u)
	resp, err := a.Forward(ctx, req)
	if err != nil {
		return err
	}
	for _, r := range resp.(*kmsg.AlterUserSCRAMCredentialsResponse).Results {
		if err := forwardError(r.ErrorCode, r.ErrorMessage); err != nil {
			return err
		}
	}
	return nil
}
