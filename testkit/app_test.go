package testkit_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kspring/kspring/framework"
	"github.com/kspring/kspring/listener"
	"github.com/kspring/kspring/testkit"
)

func TestNewAppRunsAListener(t *testing.T) {
	t.Parallel()
	topic, group := testkit.UniqueName(t, "orders"), testkit.UniqueName(t, "billing")
	got := make(chan string, 1)
	app := testkit.NewApp(t,
		framework.Topic(framework.NewTopic{Name: topic, Partitions: 3}),
		framework.Listener(func() listener.Endpoint {
			return listener.Listen("billing", func(_ context.Context, order string) error {
				got <- order
				return nil
			}, listener.Topics(topic), listener.GroupID(group))
		}),
	)
	app.WaitForAssignment(t, "billing", 3)
	testkit.Produce(t, app.Bootstrap(), topic, testkit.KeyValue("o-1", "42 EUR"))
	require.Equal(t, "42 EUR", testkit.Receive(t, got, 10*time.Second))

	testkit.Eventually(t, 10*time.Second, func() error {
		if c := sum(testkit.CommittedOffsets(t, app.Bootstrap(), group, topic)); c != 1 {
			return fmt.Errorf("group %s committed %d records of %s, want 1", group, c, topic)
		}
		return nil
	})
	require.Equal(t, app.Broker().Bootstrap(), app.Bootstrap())
	require.Len(t, app.Registry().Containers(), 1)
}

// Records produced before the listener is assigned reach it:
// auto-offset-reset is earliest in test apps.
func TestNewAppReadsFromEarliest(t *testing.T) {
	t.Parallel()
	b := testkit.NewBroker(t, testkit.WithTopic("early", 1, nil))
	topic := b.Topic("early")
	testkit.Produce(t, b.Addr(), topic, testkit.Value("first"))
	got := make(chan string, 1)
	b.StartApp(t, framework.Listener(func() listener.Endpoint {
		return listener.Listen(testkit.UniqueName(t, "late"), func(_ context.Context, v string) error {
			got <- v
			return nil
		}, listener.Topics(topic))
	}))
	require.Equal(t, "first", testkit.Receive(t, got, 10*time.Second))
}

func TestAppPropertiesReachPlaceholders(t *testing.T) {
	t.Parallel()
	topic := testkit.UniqueName(t, "payments")
	app := testkit.NewApp(t,
		testkit.AppProperties(map[string]string{
			"payments.topic":                    topic,
			"spring.kafka.listener.concurrency": "2",
		}),
		framework.Topic(framework.NewTopic{Name: topic, Partitions: 2}),
		framework.Listener(func() listener.Endpoint {
			return listener.Listen(testkit.UniqueName(t, "payments"), func(context.Context, string) error { return nil },
				listener.Topics("${payments.topic}"))
		}),
	)
	c := app.Registry().Containers()[0]
	require.Equal(t, []string{topic}, c.Topics())
	require.Equal(t, 2, c.Concurrency())
	testkit.WaitForAssignment(t, c, 2)
}

func TestAppContainerNamesTheIDsThereAre(t *testing.T) {
	t.Parallel()
	app := testkit.NewApp(t, framework.Listener(func() listener.Endpoint {
		return listener.Listen("present", func(context.Context, string) error { return nil },
			listener.Topics(testkit.UniqueName(t, "t")), listener.AutoStartup(false))
	}))
	msg := failure(t, func(ft testing.TB) { app.Container(ft, "absent") })
	require.Contains(t, msg, `no listener container "absent" (it has ["present"])`)
}

func TestReceive(t *testing.T) {
	t.Parallel()
	ch := make(chan int, 1)
	ch <- 7
	require.Equal(t, 7, testkit.Receive(t, ch, time.Second))
	require.Contains(t, failure(t, func(ft testing.TB) { testkit.Receive(ft, ch, 10*time.Millisecond) }),
		"want a int, nothing came within 10ms")
	close(ch)
	require.Contains(t, failure(t, func(ft testing.TB) { testkit.Receive(ft, ch, time.Second) }),
		"the channel was closed")
}
