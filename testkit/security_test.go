package testkit_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/fx"

	"github.com/kspring/kspring/framework"
	"github.com/kspring/kspring/listener"
	"github.com/kspring/kspring/template"
	"github.com/kspring/kspring/testkit"
)

// A secured test broker refuses a plain client, accepts one with the
// options it hands out, and testkit's own helpers and apps work on it.
func TestSecuredBrokers(t *testing.T) {
	alice := testkit.User{Name: "alice", Password: "alice-secret"}
	for _, tc := range []struct {
		name     string
		opts     []testkit.Option
		protocol string
	}{
		{"TLS", []testkit.Option{testkit.WithTLS()}, "SSL"},
		{"mutual TLS", []testkit.Option{testkit.WithMutualTLS()}, "SSL"},
		{"SASL PLAIN", []testkit.Option{testkit.WithSASL(testkit.PLAIN, alice)}, "SASL_PLAINTEXT"},
		{"SASL_SSL SCRAM", []testkit.Option{testkit.WithTLS(), testkit.WithSASL(testkit.SCRAMSHA256, alice)}, "SASL_SSL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if testkit.External() {
				t.Skip("secured brokers are embedded only")
			}
			b := testkit.NewBroker(t, append(tc.opts, testkit.WithTopic("orders", 1, nil))...)
			require.Equal(t, tc.protocol, b.SecurityProtocol())

			plain, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()), kgo.RequestRetries(0))
			require.NoError(t, err)
			defer plain.Close()
			rctx, cancel := context.WithTimeout(ctx(t), 5*time.Second)
			defer cancel()
			require.Error(t, plain.Ping(rctx), "a client without the broker's security is refused")

			user := testkit.User{}
			if b.SASLMechanism() != "" {
				user = alice
			}
			cl, err := kgo.NewClient(append(b.ClientOpts(user), kgo.SeedBrokers(b.Addr()))...)
			require.NoError(t, err)
			defer cl.Close()
			require.NoError(t, cl.ProduceSync(ctx(t), &kgo.Record{Topic: "orders", Value: []byte("v")}).FirstErr())

			testkit.Produce(t, b.Addr(), "orders", testkit.KeyValue("k", "w"))
			require.Len(t, testkit.ConsumeN(t, b.Addr(), "orders", 2, testkit.WaitTimeout), 2)
		})
	}
}

// StartApp connects the application to a secured broker as Admin.
func TestAppOnSecuredBroker(t *testing.T) {
	if testkit.External() {
		t.Skip("secured brokers are embedded only")
	}
	b := testkit.NewBroker(t, testkit.WithMutualTLS(), testkit.WithSASL(testkit.SCRAMSHA512))
	topic := testkit.UniqueName(t, "orders")
	got := make(chan string, 1)
	var kafka *template.Template[string, string]
	app := b.StartApp(t,
		framework.Topic(framework.NewTopic{Name: topic, Partitions: 1}),
		framework.Listener(func() listener.Endpoint {
			return listener.Listen("orders", func(_ context.Context, v string) error {
				got <- v
				return nil
			}, listener.Topics(topic), listener.GroupID(testkit.UniqueName(t, "orders")))
		}),
		fx.Populate(&kafka),
	)
	app.WaitForAssignment(t, "orders", 1)
	_, err := kafka.Send(ctx(t), topic, "secured").Get(ctx(t))
	require.NoError(t, err)
	select {
	case v := <-got:
		require.Equal(t, "secured", v)
	case <-ctx(t).Done():
		t.Fatal("the listener received nothing")
	}
}

// A cluster with SASL: its brokers log in to each other, replicate, and
// clients and apps connect with the options it hands out.
func TestSASLCluster(t *testing.T) {
	if testkit.External() {
		t.Skip("clusters are embedded only")
	}
	for _, mech := range []string{testkit.PLAIN, testkit.SCRAMSHA512} {
		t.Run(mech, func(t *testing.T) {
			alice := testkit.User{Name: "alice", Password: "alice-secret"}
			c := testkit.NewCluster(t, testkit.Brokers(3), testkit.WithSASL(mech, alice), testkit.WithTopic("orders", 1, nil))
			cl, err := kgo.NewClient(append(c.ClientOpts(alice), kgo.SeedBrokers(c.Addrs()...), kgo.RequiredAcks(kgo.AllISRAcks()))...)
			require.NoError(t, err)
			defer cl.Close()
			require.NoError(t, cl.ProduceSync(ctx(t), &kgo.Record{Topic: "orders", Value: []byte("v")}).FirstErr())
			testkit.Eventually(t, testkit.WaitTimeout, func() error {
				for _, id := range c.IDs() {
					if off, err := c.Broker(id).LogEndOffset("orders", 0); err != nil || off != 1 {
						return fmt.Errorf("broker %d: offset %d, %v", id, off, err)
					}
				}
				return nil
			})
			require.Len(t, testkit.ConsumeN(t, c.Bootstrap(), "orders", 1, testkit.WaitTimeout), 1)
		})
	}
}
