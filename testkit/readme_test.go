package testkit_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kspring/kspring/framework"
	"github.com/kspring/kspring/listener"
	"github.com/kspring/kspring/testkit"
)

// The listener test of the README's Testing section, as written there.
func TestBilling(t *testing.T) {
	topic := testkit.UniqueName(t, "orders") // unique: the test also runs against a shared Kafka
	got := make(chan string, 1)
	app := testkit.NewApp(t, // fx test app: framework.Module wired to a fresh broker, stopped with the test
		framework.Topic(framework.NewTopic{Name: topic, Partitions: 3}),
		framework.Listener(func() listener.Endpoint {
			return listener.Listen("billing", func(_ context.Context, order string) error { got <- order; return nil },
				listener.Topics(topic), listener.GroupID(testkit.UniqueName(t, "billing")))
		}),
	)
	app.WaitForAssignment(t, "billing", 3)
	testkit.Produce(t, app.Bootstrap(), topic, testkit.KeyValue("order-1", "42 EUR"))
	require.Equal(t, "42 EUR", testkit.Receive(t, got, 10*time.Second))
}
