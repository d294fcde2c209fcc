package broker_test

// Secured listeners end to end: TLS, mutual TLS, SASL PLAIN and SCRAM with
// franz-go, sarama and kcat, and every way in that must be refused.

import (
	"context"
	"crypto/x509"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/xdg-go/scram"

	"github.com/kspring/kspring/broker"
	"github.com/kspring/kspring/testkit"
)

var (
	alice = testkit.User{Name: "alice", Password: "alice-secret"}
	bob   = testkit.User{Name: "bob", Password: "bob-secret"}
)

// securedClient returns a franz-go client of b as user, with opts.
func securedClient(t *testing.T, b *testkit.Broker, user testkit.User, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	return newKgo(t, b.Addr(), append(b.ClientOpts(user), opts...)...)
}

// endOffset returns the log end offset of partition 0 of topic.
func endOffset(t *testing.T, b *testkit.Broker, topic string) int64 {
	t.Helper()
	off, err := b.Server().LogEndOffset(topic, 0)
	require.NoError(t, err)
	return off
}

// produceErr tries to produce one record to topic with a client that the
// broker should refuse, and returns the error the connection failed with
// (from a Metadata request: a produce only retries until its context ends).
func produceErr(t *testing.T, cl *kgo.Client, topic string) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(testCtx(t), 2*time.Second)
	defer cancel()
	require.Error(t, cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: []byte("x")}).FirstErr(), "produce got through")
	_, err := cl.Request(testCtx(t), kmsg.NewPtrMetadataRequest())
	require.Error(t, err, "a refused client's request was answered")
	return err
}

func TestTLSRoundTrip(t *testing.T) {
	t.Parallel()
	b := testkit.NewBroker(t, testkit.WithTLS(), testkit.WithTopic("secure", 1, nil))
	require.Equal(t, "SSL", b.SecurityProtocol())

	t.Run("franz-go", func(t *testing.T) {
		cl := newKgo(t, b.Addr(), kgo.DialTLSConfig(b.ClientTLS()), kgo.ConsumeTopics("secure"),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
		produceSync(t, cl, &kgo.Record{Topic: "secure", Value: []byte("over tls")})
		recs := pollN(t, cl, 1)
		require.Equal(t, "over tls", string(recs[0].Value))
	})
	t.Run("sarama", func(t *testing.T) {
		cfg := secureSaramaConfig()
		cfg.Net.TLS.Enable, cfg.Net.TLS.Config = true, b.ClientTLS()
		saramaProduce(t, b.Addr(), cfg, "secure", "from sarama")
	})
	t.Run("kcat", func(t *testing.T) {
		args := []string{"-b", b.Addr(), "-X", "security.protocol=ssl", "-X", "ssl.ca.location=" + b.CA().File()}
		kcat(t, "from kcat\n", append(args, "-P", "-t", "secure")...)
		out := kcat(t, "", append(args, "-C", "-t", "secure", "-o", "beginning", "-e", "-f", "%s\n")...)
		require.Contains(t, out, "from kcat")
	})
	require.Equal(t, int64(3), endOffset(t, b, "secure"))
}

func TestTLSRefusals(t *testing.T) {
	t.Parallel()
	b := testkit.NewBroker(t, testkit.WithTLS(), testkit.WithTopic("secure", 1, nil))

	t.Run("plaintext client", func(t *testing.T) {
		c := dialWire(t, b.Addr())
		c.send(kmsg.NewPtrApiVersionsRequest())
		c.requireClosed()
		cl := newKgo(t, b.Addr(), kgo.RequestRetries(0), kgo.RequestRetries(0))
		require.Error(t, produceErr(t, cl, "secure"))
	})
	t.Run("unknown CA", func(t *testing.T) {
		other := testkit.NewCA(t)
		cl := newKgo(t, b.Addr(), kgo.DialTLSConfig(other.ClientTLS()), kgo.RequestRetries(0))
		err := produceErr(t, cl, "secure")
		var unknown x509.UnknownAuthorityError
		require.ErrorAs(t, err, &unknown)
	})
	t.Run("expired server certificate", func(t *testing.T) {
		ca := testkit.NewCA(t)
		expired := ca.Issue(t, "localhost", -time.Hour)
		eb := testkit.NewBroker(t, testkit.WithProperty("listeners", "SSL://127.0.0.1:0"),
			testkit.WithProperty("ssl.keystore.location", expired.BothFile))
		cl := newKgo(t, eb.Addr(), kgo.DialTLSConfig(ca.ClientTLS()), kgo.RequestRetries(0))
		require.ErrorContains(t, produceErr(t, cl, "t"), "expired")
	})
	require.Equal(t, int64(0), endOffset(t, b, "secure"), "nothing written")
}

func TestMutualTLS(t *testing.T) {
	t.Parallel()
	b := testkit.NewBroker(t, testkit.WithMutualTLS(), testkit.WithTopic("mtls", 1, nil))
	ca := b.CA()

	t.Run("no client certificate", func(t *testing.T) {
		cl := newKgo(t, b.Addr(), kgo.DialTLSConfig(ca.ClientTLS()), kgo.RequestRetries(0))
		require.Error(t, produceErr(t, cl, "mtls"))
	})
	t.Run("expired client certificate", func(t *testing.T) {
		cl := newKgo(t, b.Addr(), kgo.DialTLSConfig(ca.ClientTLS(ca.Issue(t, "old", -time.Hour))), kgo.RequestRetries(0))
		require.Error(t, produceErr(t, cl, "mtls"))
	})
	t.Run("certificate of another CA", func(t *testing.T) {
		other := testkit.NewCA(t)
		cfg := ca.ClientTLS(other.Issue(t, "stranger", time.Hour))
		cl := newKgo(t, b.Addr(), kgo.DialTLSConfig(cfg), kgo.RequestRetries(0))
		require.Error(t, produceErr(t, cl, "mtls"))
	})
	require.Equal(t, int64(0), endOffset(t, b, "mtls"), "nothing written")

	t.Run("valid client certificate", func(t *testing.T) {
		cl := newKgo(t, b.Addr(), kgo.DialTLSConfig(ca.ClientTLS(ca.Issue(t, "alice", time.Hour))))
		produceSync(t, cl, &kgo.Record{Topic: "mtls", Value: []byte("v")})
		require.Equal(t, int64(1), endOffset(t, b, "mtls"))
	})
	t.Run("kcat", func(t *testing.T) {
		c := ca.Issue(t, "kcat", time.Hour)
		kcat(t, "k\n", "-b", b.Addr(), "-X", "security.protocol=ssl", "-X", "ssl.ca.location="+ca.File(),
			"-X", "ssl.certificate.location="+c.CertFile, "-X", "ssl.key.location="+c.KeyFile, "-P", "-t", "mtls")
		require.Equal(t, int64(2), endOffset(t, b, "mtls"))
	})
}

func TestSASL(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		mechanism string
		tls       bool
	}{
		{testkit.PLAIN, false},
		{testkit.SCRAMSHA256, false},
		{testkit.SCRAMSHA256, true},
		{testkit.SCRAMSHA512, false},
		{testkit.SCRAMSHA512, true},
	} {
		name := tc.mechanism + "/SASL_PLAINTEXT"
		if tc.tls {
			name = tc.mechanism + "/SASL_SSL"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			opts := []testkit.Option{testkit.WithSASL(tc.mechanism, alice), testkit.WithTopic("sasl", 1, nil)}
			if tc.tls {
				opts = append(opts, testkit.WithTLS())
			}
			b := testkit.NewBroker(t, opts...)

			wrong := testkit.User{Name: "alice", Password: "wrong"}
			err := produceErr(t, securedClient(t, b, wrong, kgo.RequestRetries(0)), "sasl")
			require.ErrorIs(t, err, kerr.SaslAuthenticationFailed)
			err = produceErr(t, securedClient(t, b, testkit.User{Name: "mallory", Password: "x"}, kgo.RequestRetries(0)), "sasl")
			require.ErrorIs(t, err, kerr.SaslAuthenticationFailed)
			require.Equal(t, int64(0), endOffset(t, b, "sasl"), "nothing written")

			produceSync(t, securedClient(t, b, alice), &kgo.Record{Topic: "sasl", Value: []byte("franz-go")})

			cfg := secureSaramaConfig()
			saramaSASL(cfg, tc.mechanism, alice)
			if tc.tls {
				cfg.Net.TLS.Enable, cfg.Net.TLS.Config = true, b.ClientTLS()
			}
			saramaProduce(t, b.Addr(), cfg, "sasl", "sarama")

			args := []string{"-b", b.Addr(), "-X", "security.protocol=" + strings.ToLower(b.SecurityProtocol()),
				"-X", "sasl.mechanisms=" + tc.mechanism, "-X", "sasl.username=alice", "-X", "sasl.password=alice-secret"}
			if tc.tls {
				args = append(args, "-X", "ssl.ca.location="+b.CA().File())
			}
			// librdkafka before 2.6.1 (kcat here) sends its SCRAM client-final
			// nonce as clientNonce+serverNonce (librdkafka#4895); the broker
			// accepts that form as Kafka 3.8.1-3.9 do.
			kcat(t, "kcat\n", append(args, "-P", "-t", "sasl")...)
			out := kcat(t, "", append(args, "-C", "-t", "sasl", "-o", "beginning", "-e", "-f", "%s\n")...)
			require.Equal(t, "franz-go\nsarama\nkcat\n", out)
			kcatBad := slices.Clone(args)
			kcatBad[slices.Index(kcatBad, "sasl.password=alice-secret")] = "sasl.password=wrong"
			out, err = kcatRun(t, "refused\n", append(kcatBad, "-P", "-t", "sasl")...)
			require.Error(t, err, "kcat with a wrong password: %s", out)
			require.Contains(t, out, "invalid credentials")
			require.Equal(t, int64(3), endOffset(t, b, "sasl"))

			saramaBad := secureSaramaConfig()
			saramaSASL(saramaBad, tc.mechanism, wrong)
			if tc.tls {
				saramaBad.Net.TLS.Enable, saramaBad.Net.TLS.Config = true, b.ClientTLS()
			}
			_, err = sarama.NewSyncProducer([]string{b.Addr()}, saramaBad)
			require.Error(t, err)
			require.Equal(t, int64(3), endOffset(t, b, "sasl"), "nothing written")
		})
	}
}

// On a SASL listener only ApiVersions, SaslHandshake and SaslAuthenticate
// are served before authentication; anything else closes the connection.
func TestSASLBeforeAuthentication(t *testing.T) {
	t.Parallel()
	b := testkit.NewBroker(t, testkit.WithSASL(testkit.SCRAMSHA256, alice))

	c := dialWire(t, b.Addr())
	av := c.do(kmsg.NewPtrApiVersionsRequest()).(*kmsg.ApiVersionsResponse)
	requireCode(t, nil, av.ErrorCode)
	md := kmsg.NewPtrMetadataRequest()
	md.Version = 9
	c.send(md)
	c.requireClosed()

	c = dialWire(t, b.Addr())
	hs := kmsg.NewPtrSASLHandshakeRequest()
	hs.Version, hs.Mechanism = 1, "GSSAPI"
	hr := c.do(hs).(*kmsg.SASLHandshakeResponse)
	requireCode(t, kerr.UnsupportedSaslMechanism, hr.ErrorCode)
	require.Equal(t, []string{testkit.SCRAMSHA256}, hr.SupportedMechanisms)
	c.requireClosed()

	c = dialWire(t, b.Addr())
	auth := kmsg.NewPtrSASLAuthenticateRequest()
	auth.Version = 1
	ar := c.do(auth).(*kmsg.SASLAuthenticateResponse)
	requireCode(t, kerr.IllegalSaslState, ar.ErrorCode)
	c.requireClosed()

	// PLAIN is not enabled on this listener.
	c = dialWire(t, b.Addr())
	hs.Mechanism = testkit.PLAIN
	requireCode(t, kerr.UnsupportedSaslMechanism, c.do(hs).(*kmsg.SASLHandshakeResponse).ErrorCode)
}

// SCRAM users are managed with AlterUserScramCredentials and
// DescribeUserScramCredentials, and take effect at once.
func TestScramCredentialsAdmin(t *testing.T) {
	t.Parallel()
	b := testkit.NewBroker(t, testkit.WithSASL(testkit.SCRAMSHA512, alice), testkit.WithTopic("scram", 1, nil))
	adm := kadm.NewClient(securedClient(t, b, alice))
	ctx := testCtx(t)

	described, err := adm.DescribeUserSCRAMs(ctx, "alice", "bob")
	require.NoError(t, err)
	require.NoError(t, described["alice"].Err)
	require.Equal(t, []kadm.CredInfo{{Mechanism: kadm.ScramSha512, Iterations: 4096}}, described["alice"].CredInfos)
	require.ErrorIs(t, described["bob"].Err, kerr.ResourceNotFound)

	bobClient := securedClient(t, b, bob, kgo.RequestRetries(0))
	require.ErrorIs(t, produceErr(t, bobClient, "scram"), kerr.SaslAuthenticationFailed)

	altered, err := adm.AlterUserSCRAMs(ctx, nil, []kadm.UpsertSCRAM{{User: "bob", Mechanism: kadm.ScramSha512, Iterations: 8192, Password: bob.Password}})
	require.NoError(t, err)
	require.NoError(t, altered.Error())
	produceSync(t, securedClient(t, b, bob), &kgo.Record{Topic: "scram", Value: []byte("bob")})

	altered, err = adm.AlterUserSCRAMs(ctx, []kadm.DeleteSCRAM{{User: "bob", Mechanism: kadm.ScramSha512}}, nil)
	require.NoError(t, err)
	require.NoError(t, altered.Error())
	require.ErrorIs(t, produceErr(t, securedClient(t, b, bob, kgo.RequestRetries(0)), "scram"), kerr.SaslAuthenticationFailed)

	altered, err = adm.AlterUserSCRAMs(ctx, []kadm.DeleteSCRAM{{User: "bob", Mechanism: kadm.ScramSha512}}, nil)
	require.NoError(t, err)
	require.ErrorIs(t, altered.Error(), kerr.ResourceNotFound)
	// kadm refuses too few iterations itself; send them raw.
	req := kmsg.NewPtrAlterUserSCRAMCredentialsRequest()
	up := kmsg.NewAlterUserSCRAMCredentialsRequestUpsertion()
	up.Name, up.Mechanism, up.Iterations, up.Salt, up.SaltedPassword = "carol", 1, 100, []byte("salt"), []byte("salted")
	req.Upsertions = append(req.Upsertions, up)
	resp, err := req.RequestWith(ctx, securedClient(t, b, alice))
	require.NoError(t, err)
	requireCode(t, kerr.UnacceptableCredential, resp.Results[0].ErrorCode)
	require.Equal(t, int64(1), endOffset(t, b, "scram"))
}

// ---- kcat ----

// kcatRun runs kcat and returns its stderr and exit error.
func kcatRun(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	path, err := exec.LookPath("kcat")
	if err != nil {
		t.Skip("kcat is not on PATH")
	}
	ctx, cancel := context.WithTimeout(testCtx(t), waitFor)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// ---- sarama ----

func secureSaramaConfig() *sarama.Config {
	cfg := sarama.NewConfig()
	cfg.Version = sarama.V3_6_0_0
	cfg.Producer.Return.Successes = true
	cfg.Producer.Retry.Max = 0
	cfg.Metadata.Retry.Max = 0
	cfg.Net.DialTimeout = 5 * time.Second
	return cfg
}

func saramaSASL(cfg *sarama.Config, mechanism string, u testkit.User) {
	cfg.Net.SASL.Enable = true
	cfg.Net.SASL.Mechanism = sarama.SASLMechanism(mechanism)
	cfg.Net.SASL.User, cfg.Net.SASL.Password = u.Name, u.Password
	switch mechanism {
	case testkit.SCRAMSHA256:
		cfg.Net.SASL.SCRAMClientGeneratorFunc = func() sarama.SCRAMClient { return &xdgClient{hash: scram.SHA256} }
	case testkit.SCRAMSHA512:
		cfg.Net.SASL.SCRAMClientGeneratorFunc = func() sarama.SCRAMClient { return &xdgClient{hash: scram.SHA512} }
	}
}

// xdgClient is sarama's SCRAM client on github.com/xdg-go/scram, as
// sarama's examples write it.
type xdgClient struct {
	hash scram.HashGeneratorFcn
	conv *scram.ClientConversation
}

func (x *xdgClient) Begin(user, password, authzID string) error {
	c, err := x.hash.NewClient(user, password, authzID)
	if err != nil {
		return err
	}
	x.conv = c.NewConversation()
	return nil
}

func (x *xdgClient) Step(challenge string) (string, error) { return x.conv.Step(challenge) }
func (x *xdgClient) Done() bool                            { return x.conv.Done() }

func saramaProduce(t *testing.T, addr string, cfg *sarama.Config, topic, value string) {
	t.Helper()
	p, err := sarama.NewSyncProducer([]string{addr}, cfg)
	require.NoError(t, err)
	defer p.Close()
	_, _, err = p.SendMessage(&sarama.ProducerMessage{Topic: topic, Value: sarama.StringEncoder(value)})
	require.NoError(t, err)
}

// kspring.add.scram takes kafka-storage's --add-scram form; anything else is
// refused before the broker binds a port.
func TestAddScramRefused(t *testing.T) {
	for _, v := range []string{
		"SCRAM-SHA-1=[name=a,password=b]",
		"SCRAM-SHA-256=name=a,password=b",
		"SCRAM-SHA-256=[name=a]",
		"SCRAM-SHA-256=[name=a,password=b,iterations=100]",
		"SCRAM-SHA-256=[name=a,password=b,salt=c]",
	} {
		cfg := broker.DefaultConfig()
		cfg.LogDirs = []string{t.TempDir()}
		require.NoError(t, cfg.Set("kspring.add.scram", v))
		_, err := broker.New(cfg)
		require.ErrorContains(t, err, "kspring.add.scram", v)
	}
}

// Clients from before Kafka 1.0 send SaslHandshake v0 and then the tokens
// as raw frames; sarama still can. A failed exchange closes the connection.
func TestSASLHandshakeV0RawTokens(t *testing.T) {
	t.Parallel()
	for _, mech := range []string{testkit.PLAIN, testkit.SCRAMSHA256} {
		t.Run(mech, func(t *testing.T) {
			t.Parallel()
			b := testkit.NewBroker(t, testkit.WithSASL(mech, alice), testkit.WithTopic("raw", 1, nil))
			cfg := secureSaramaConfig()
			saramaSASL(cfg, mech, alice)
			cfg.Net.SASL.Version, cfg.ApiVersionsRequest = sarama.SASLHandshakeV0, false
			saramaProduce(t, b.Addr(), cfg, "raw", "v0")

			bad := secureSaramaConfig()
			saramaSASL(bad, mech, testkit.User{Name: "alice", Password: "wrong"})
			bad.Net.SASL.Version, bad.ApiVersionsRequest = sarama.SASLHandshakeV0, false
			_, err := sarama.NewSyncProducer([]string{b.Addr()}, bad)
			require.Error(t, err)
			require.Equal(t, int64(1), endOffset(t, b, "raw"))
		})
	}
}

// A wrong password gets SASL_AUTHENTICATION_FAILED with a message, and the
// connection closes.
func TestSASLFailureClosesConnection(t *testing.T) {
	t.Parallel()
	b := testkit.NewBroker(t, testkit.WithSASL(testkit.PLAIN, alice))
	c := dialWire(t, b.Addr())
	hs := kmsg.NewPtrSASLHandshakeRequest()
	hs.Version, hs.Mechanism = 1, testkit.PLAIN
	requireCode(t, nil, c.do(hs).(*kmsg.SASLHandshakeResponse).ErrorCode)
	auth := kmsg.NewPtrSASLAuthenticateRequest()
	auth.Version, auth.SASLAuthBytes = 1, []byte("\x00alice\x00wrong")
	ar := c.do(auth).(*kmsg.SASLAuthenticateResponse)
	requireCode(t, kerr.SaslAuthenticationFailed, ar.ErrorCode)
	require.NotNil(t, ar.ErrorMessage)
	require.Contains(t, *ar.ErrorMessage, "invalid credentials")
	c.requireClosed()

	// The right password authenticates the connection for other requests.
	c = dialWire(t, b.Addr())
	requireCode(t, nil, c.do(hs).(*kmsg.SASLHandshakeResponse).ErrorCode)
	auth.SASLAuthBytes = []byte("\x00alice\x00alice-secret")
	requireCode(t, nil, c.do(auth).(*kmsg.SASLAuthenticateResponse).ErrorCode)
	md := kmsg.NewPtrMetadataRequest()
	md.Version = 9
	require.NotEmpty(t, c.do(md).(*kmsg.MetadataResponse).Brokers)
}

// Every client is refused the same ways: sarama and kcat beside franz-go.
func TestRefusalsBySaramaAndKcat(t *testing.T) {
	t.Parallel()
	tlsBroker := testkit.NewBroker(t, testkit.WithTLS(), testkit.WithTopic("t", 1, nil))
	mtlsBroker := testkit.NewBroker(t, testkit.WithMutualTLS(), testkit.WithTopic("t", 1, nil))
	saslBroker := testkit.NewBroker(t, testkit.WithSASL(testkit.PLAIN, alice), testkit.WithTopic("t", 1, nil))
	other := testkit.NewCA(t)

	saramaRefused := func(t *testing.T, addr string, cfg *sarama.Config) {
		t.Helper()
		_, err := sarama.NewSyncProducer([]string{addr}, cfg)
		require.Error(t, err)
	}
	kcatRefused := func(t *testing.T, addr string, args ...string) {
		t.Helper()
		args = append([]string{"-b", addr, "-m", "5"}, append(args, "-P", "-t", "t")...)
		out, err := kcatRun(t, "x\n", args...)
		require.Error(t, err, "kcat %v:\n%s", args, out)
	}

	t.Run("plaintext client on a TLS port", func(t *testing.T) {
		saramaRefused(t, tlsBroker.Addr(), secureSaramaConfig())
		kcatRefused(t, tlsBroker.Addr())
	})
	t.Run("unknown CA", func(t *testing.T) {
		cfg := secureSaramaConfig()
		cfg.Net.TLS.Enable, cfg.Net.TLS.Config = true, other.ClientTLS()
		saramaRefused(t, tlsBroker.Addr(), cfg)
		kcatRefused(t, tlsBroker.Addr(), "-X", "security.protocol=ssl", "-X", "ssl.ca.location="+other.File())
	})
	t.Run("mutual TLS without a certificate", func(t *testing.T) {
		cfg := secureSaramaConfig()
		cfg.Net.TLS.Enable, cfg.Net.TLS.Config = true, mtlsBroker.ClientTLS()
		saramaRefused(t, mtlsBroker.Addr(), cfg)
		kcatRefused(t, mtlsBroker.Addr(), "-X", "security.protocol=ssl", "-X", "ssl.ca.location="+mtlsBroker.CA().File())
	})
	t.Run("wrong password", func(t *testing.T) {
		cfg := secureSaramaConfig()
		saramaSASL(cfg, testkit.PLAIN, testkit.User{Name: "alice", Password: "wrong"})
		saramaRefused(t, saslBroker.Addr(), cfg)
		kcatRefused(t, saslBroker.Addr(), "-X", "security.protocol=sasl_plaintext", "-X", "sasl.mechanisms=PLAIN",
			"-X", "sasl.username=alice", "-X", "sasl.password=wrong")
	})
	for _, b := range []*testkit.Broker{tlsBroker, mtlsBroker, saslBroker} {
		require.Equal(t, int64(0), endOffset(t, b, "t"), "nothing written")
	}
}

// ssl.client.auth=requested takes a client certificate when one is given
// and lets a client without one in.
func TestClientAuthRequested(t *testing.T) {
	t.Parallel()
	b := testkit.NewBroker(t, testkit.WithTLS(), testkit.WithProperty("ssl.client.auth", "requested"),
		testkit.WithTopic("t", 1, nil))
	ca := b.CA()
	produceSync(t, newKgo(t, b.Addr(), kgo.DialTLSConfig(ca.ClientTLS())), &kgo.Record{Topic: "t", Value: []byte("anonymous")})
	produceSync(t, newKgo(t, b.Addr(), kgo.DialTLSConfig(ca.ClientTLS(ca.Issue(t, "dave", time.Hour)))), &kgo.Record{Topic: "t", Value: []byte("dave")})
	other := testkit.NewCA(t)
	require.Error(t, produceErr(t, newKgo(t, b.Addr(), kgo.DialTLSConfig(ca.ClientTLS(other.Issue(t, "eve", time.Hour))), kgo.RequestRetries(0)), "t"),
		"a certificate given is verified")
	require.Equal(t, int64(2), endOffset(t, b, "t"))
}

// DescribeConfigs reports the security settings, and none of the secrets.
func TestDescribeSecurityConfigs(t *testing.T) {
	t.Parallel()
	b := testkit.NewBroker(t, testkit.WithMutualTLS(), testkit.WithSASL(testkit.PLAIN, alice),
		testkit.WithProperty("authorizer.class.name", "kspring"))
	adm := kadm.NewClient(securedClient(t, b, testkit.User{}))
	rcs, err := adm.DescribeBrokerConfigs(testCtx(t), 1)
	require.NoError(t, err)
	got := map[string]string{}
	for _, rc := range rcs {
		require.NoError(t, rc.Err)
		for _, c := range rc.Configs {
			got[c.Key] = c.MaybeValue()
		}
	}
	require.Equal(t, "required", got["ssl.client.auth"])
	require.Equal(t, "PLAIN", got["sasl.enabled.mechanisms"])
	require.Equal(t, "kspring", got["authorizer.class.name"])
	require.Contains(t, got["super.users"], "User:"+testkit.Admin.Name)
	require.Equal(t, b.CA().File(), got["ssl.truststore.location"])
	require.True(t, strings.HasPrefix(got["listeners"], "SASL_SSL://"), got["listeners"])
	for k, v := range got {
		require.NotContains(t, v, alice.Password, k)
		require.NotContains(t, k, "jaas", k)
	}
}
