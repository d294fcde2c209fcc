package broker_test

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	saslplain "github.com/twmb/franz-go/pkg/sasl/plain"

	"github.com/kspring/kspring/broker"
	"github.com/kspring/kspring/testkit"
)

// saslInterBroker makes the brokers' listener BROKER a SASL_PLAINTEXT one
// that they also use between themselves, logging in as brokerPassword says.
func saslInterBroker(brokerPassword string) func(*broker.Config) {
	return func(c *broker.Config) {
		for k, v := range map[string]string{
			"listener.security.protocol.map":       "BROKER:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT",
			"inter.broker.listener.name":           "BROKER",
			"sasl.enabled.mechanisms":              "PLAIN",
			"sasl.mechanism.inter.broker.protocol": "PLAIN",
			"listener.name.broker.plain.sasl.jaas.config": `org.apache.kafka.common.security.plain.PlainLoginModule required ` +
				`username="broker" password="` + brokerPassword + `" user_broker="broker-secret" user_alice="alice-secret";`,
		} {
			if err := c.Set(k, v); err != nil {
				panic(err)
			}
		}
	}
}

// Brokers whose inter-broker listener is SASL_PLAINTEXT log in to each
// other: registration, controller requests and replica fetches all work,
// and a client's acks=all write reaches every replica.
func TestSASLInterBrokerListener(t *testing.T) {
	t.Parallel()
	c := startCluster(t, 3, saslInterBroker("broker-secret"))
	alice := kgo.SASL(saslplain.Auth{User: "alice", Pass: "alice-secret"}.AsMechanism())
	resp, err := kadm.NewClient(newKgo(t, c.Bootstrap(), alice)).CreateTopic(testCtx(t), 1, 3, nil, "replicated")
	require.NoError(t, err)
	require.NoError(t, resp.Err)
	cl := newKgo(t, c.Bootstrap(), alice, kgo.RequiredAcks(kgo.AllISRAcks()))
	produceSync(t, cl, &kgo.Record{Topic: "replicated", Value: []byte("a")}, &kgo.Record{Topic: "replicated", Value: []byte("b")})
	for _, id := range c.IDs() {
		eventually(t, func() error {
			b := c.Broker(id)
			off, err := b.LogEndOffset("replicated", 0)
			if err != nil {
				return err
			}
			if off != 2 {
				return fmt.Errorf("broker %d has replicated to %d of 2", id, off)
			}
			return nil
		})
	}
}

// A broker whose inter-broker login is refused cannot join the cluster.
func TestSASLInterBrokerWrongPassword(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(testCtx(t), 5*time.Second)
	defer cancel()
	c, err := broker.NewCluster(ctx, 2, clusterConfig(saslInterBroker("wrong")), t.TempDir())
	if err == nil {
		_ = c.Close(context.Background())
	}
	require.Error(t, err)
}

func TestInterBrokerConfigRefused(t *testing.T) {
	for name, tc := range map[string]struct {
		props map[string]string
		want  string
	}{
		"SSL between brokers": {map[string]string{
			"listeners":                      "SSL://127.0.0.1:0,CONTROLLER://127.0.0.1:0",
			"controller.quorum.voters":       "1@127.0.0.1:1,2@127.0.0.1:2",
			"security.inter.broker.protocol": "SSL",
		}, "brokers of a cluster talk to each other over PLAINTEXT or SASL_PLAINTEXT"},
		"no login": {map[string]string{
			"listeners":                  "SASL_PLAINTEXT://127.0.0.1:0,CONTROLLER://127.0.0.1:0",
			"controller.quorum.voters":   "1@127.0.0.1:1,2@127.0.0.1:2",
			"inter.broker.listener.name": "SASL_PLAINTEXT",
		}, "set listener.name.sasl_plaintext.plain.sasl.jaas.config"},
		"unknown listener": {map[string]string{"inter.broker.listener.name": "NOPE"}, "inter.broker.listener.name=NOPE names no listener"},
		"unknown mechanism": {map[string]string{
			"listeners":                            "SASL_PLAINTEXT://127.0.0.1:0,CONTROLLER://127.0.0.1:0",
			"controller.quorum.voters":             "1@127.0.0.1:1,2@127.0.0.1:2",
			"security.inter.broker.protocol":       "SASL_PLAINTEXT",
			"sasl.mechanism.inter.broker.protocol": "GSSAPI",
		}, "sasl.mechanism.inter.broker.protocol=GSSAPI"},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := broker.DefaultConfig()
			cfg.LogDirs = []string{t.TempDir()}
			for k, v := range tc.props {
				require.NoError(t, cfg.Set(k, v))
			}
			_, err := broker.New(cfg)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

// In a cluster whose brokers also have an SSL listener, an SSL client gets
// every broker's SSL address (not the inter-broker one) from Metadata and
// FindCoordinator, so it reaches every partition leader and its group's
// coordinator.
func TestClusterListenerPerName(t *testing.T) {
	t.Parallel()
	ca := testkit.NewCA(t)
	cert := ca.Issue(t, "localhost", time.Hour)
	c := startCluster(t, 3, func(cfg *broker.Config) {
		cfg.Listeners = []string{"SSL://127.0.0.1:0"}
		require.NoError(t, cfg.Set("ssl.keystore.location", cert.BothFile))
	})
	createReplicated(t, c, "spread", 3, 3, nil)
	var sslAddr string
	for _, a := range c.Broker(1).Addrs() {
		if a != c.Addr(1) {
			sslAddr = a
		}
	}
	require.NotEmpty(t, sslAddr)

	cl := newKgo(t, sslAddr, kgo.DialTLSConfig(ca.ClientTLS()), kgo.RequiredAcks(kgo.AllISRAcks()))
	md, err := kmsg.NewPtrMetadataRequest().RequestWith(testCtx(t), cl)
	require.NoError(t, err)
	require.Len(t, md.Brokers, 3)
	for _, b := range md.Brokers {
		addr := net.JoinHostPort(b.Host, strconv.Itoa(int(b.Port)))
		require.NotEqual(t, c.Addr(b.NodeID), addr, "broker %d: the SSL client got the inter-broker address", b.NodeID)
		require.Contains(t, c.Broker(b.NodeID).Addrs(), addr)
	}
	var recs []*kgo.Record
	for p := range int32(3) {
		recs = append(recs, &kgo.Record{Topic: "spread", Partition: p, Value: []byte("v")})
	}
	produceSync(t, newKgo(t, sslAddr, kgo.DialTLSConfig(ca.ClientTLS()), kgo.RecordPartitioner(kgo.ManualPartitioner())), recs...)
	consumer := newKgo(t, sslAddr, kgo.DialTLSConfig(ca.ClientTLS()), kgo.ConsumeTopics("spread"), kgo.ConsumerGroup("per-name"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	require.Len(t, pollN(t, consumer, 3), 3)
}
