package framework_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/fx"
	"go.uber.org/fx/fxtest"
	"go.uber.org/zap/zaptest"

	"github.com/kspring/kspring/framework"
	"github.com/kspring/kspring/listener"
	"github.com/kspring/kspring/template"
	"github.com/kspring/kspring/testkit"
)

// securedYAML is a Spring Boot application.yml for a SASL_SSL cluster with
// SCRAM users, as a Spring service has it.
const securedYAML = `spring:
  kafka:
    bootstrap-servers: %s
    security:
      protocol: SASL_SSL
    ssl:
      trust-store-type: PEM
      trust-store-location: file:%s
    properties:
      sasl.mechanism: SCRAM-SHA-512
      sasl.jaas.config: org.apache.kafka.common.security.scram.ScramLoginModule required username="orders-svc" password="%s";
    consumer:
      auto-offset-reset: earliest
`

func writeYAML(t *testing.T, content string) *framework.Properties {
	t.Helper()
	path := filepath.Join(t.TempDir(), "application.yml")
	require.NoError(t, os.WriteFile(path, []byte(content), 0o600))
	props, err := framework.LoadProperties(path, nil)
	require.NoError(t, err)
	return props
}

// An application whose application.yml asks for SASL_SSL and SCRAM sends and
// receives through a secured broker, unchanged from Spring.
func TestSecuredApplicationYAML(t *testing.T) {
	svc := testkit.User{Name: "orders-svc", Password: "orders-secret"}
	b := testkit.NewBroker(t, testkit.WithTLS(), testkit.WithSASL(testkit.SCRAMSHA512, svc))
	topic := testkit.UniqueName(t, "orders")
	props := writeYAML(t, fmt.Sprintf(securedYAML, b.Bootstrap(), b.CA().File(), svc.Password))

	got := make(chan string, 1)
	var kafka *template.Template[string, string]
	app := fxtest.New(t,
		framework.Module(framework.WithProperties(props), framework.WithLogger(zaptest.NewLogger(t))),
		framework.Topic(framework.NewTopic{Name: topic, Partitions: 1}),
		framework.Listener(func() listener.Endpoint {
			return listener.Listen("orders", func(_ context.Context, v string) error {
				select {
				case got <- v:
				default:
				}
				return nil
			}, listener.Topics(topic), listener.GroupID(testkit.UniqueName(t, "orders")))
		}),
		fx.Populate(&kafka),
	)
	app.RequireStart()
	defer app.RequireStop()

	ctx, cancel := context.WithTimeout(context.Background(), testkit.WaitTimeout)
	defer cancel()
	_, err := kafka.Send(ctx, topic, "order-1").Get(ctx)
	require.NoError(t, err)
	select {
	case v := <-got:
		require.Equal(t, "order-1", v)
	case <-ctx.Done():
		t.Fatal("the listener did not receive the record over SASL_SSL")
	}
	require.Equal(t, "order-1", string(testkit.SingleRecord(t, b.Addr(), topic).Value))
}

// With a wrong password the application's sends fail with the broker's
// authentication error, and nothing is written.
func TestSecuredApplicationWrongPassword(t *testing.T) {
	b := testkit.NewBroker(t, testkit.WithTLS(), testkit.WithSASL(testkit.SCRAMSHA512, testkit.User{Name: "orders-svc", Password: "right"}))
	topic := b.CreateTopic(t, testkit.UniqueName(t, "orders"), 1, nil)
	props := writeYAML(t, fmt.Sprintf(securedYAML, b.Bootstrap(), b.CA().File(), "wrong"))
	var kafka *template.Template[string, string]
	app := fxtest.New(t,
		framework.Module(framework.WithProperties(props), framework.WithLogger(zaptest.NewLogger(t))),
		fx.Populate(&kafka),
	)
	app.RequireStart()
	defer app.RequireStop()

	ctx, cancel := context.WithTimeout(context.Background(), testkit.WaitTimeout)
	defer cancel()
	_, err := kafka.Send(ctx, topic, "order-1").Get(ctx)
	require.ErrorContains(t, err, "SASL Authentication failed")
	require.Empty(t, testkit.Records(t, b.Addr(), topic), "nothing written")
}
