package framework_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/fx"

	"github.com/kspring/kspring/framework"
	"github.com/kspring/kspring/listener"
	"github.com/kspring/kspring/testkit"
)

// TestAppDeadLettersThroughTheModule: with the module's defaults, a record
// whose handler fails for good lands on <topic>-dlt with Spring's headers.
func TestAppDeadLettersThroughTheModule(t *testing.T) {
	topic := testkit.UniqueName(t, "payments")
	app := testkit.NewApp(t,
		framework.Topic(framework.NewTopic{Name: topic, Partitions: 2}, framework.NewTopic{Name: topic + "-dlt", Partitions: 2}),
		framework.Listener(func() listener.Endpoint {
			return listener.Listen("charger", func(context.Context, string) error {
				return listener.NotRetryable(errors.New("card declined"))
			}, listener.Topics(topic), listener.GroupID(testkit.UniqueName(t, "charger")))
		}),
	)
	app.WaitForAssignment(t, "charger", 2)
	sent := testkit.Produce(t, app.Bootstrap(), topic, testkit.KeyValue("p-1", "10 EUR"))[0]

	dead := testkit.ConsumeN(t, app.Bootstrap(), topic+"-dlt", 1, 20*time.Second)[0]
	require.Equal(t, "10 EUR", string(dead.Value))
	require.Equal(t, sent.Partition, dead.Partition, "dead letters keep the partition")
	origin, _ := dead.Header("kafka_dlt-original-topic")
	require.Equal(t, topic, origin)
	reason, _ := dead.Header("kafka_dlt-exception-message")
	require.Contains(t, reason, "card declined")
}

// TestAppAtLeastOnceAcrossRestart: an application stopped mid-stream and
// started again handles every record, losing none.
func TestAppAtLeastOnceAcrossRestart(t *testing.T) {
	b := testkit.NewBroker(t)
	topic := testkit.UniqueName(t, "events")
	group := testkit.UniqueName(t, "workers")
	const total = 200

	var mu sync.Mutex
	seen := map[string]int{}
	handled := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(seen)
	}
	endpoint := func() listener.Endpoint {
		return listener.Listen("worker", func(_ context.Context, v string) error {
			mu.Lock()
			seen[v]++
			mu.Unlock()
			return nil
		}, listener.Topics(topic), listener.GroupID(group), listener.WithAckMode(listener.AckRecord))
	}
	opts := []fx.Option{framework.Topic(framework.NewTopic{Name: topic, Partitions: 3}), framework.Listener(endpoint)}

	var first []testkit.Record
	for i := range total / 2 {
		first = append(first, testkit.Value(fmt.Sprintf("e-%03d", i)))
	}
	testkit.Produce(t, b.Addr(), topic, first...)
	app := b.StartApp(t, opts...)
	testkit.Eventually(t, 20*time.Second, func() error {
		if n := handled(); n < total/4 {
			return fmt.Errorf("handled %d records, want some", n)
		}
		return nil
	})
	app.RequireStop() // mid-stream: drains and commits what it handled

	var second []testkit.Record
	for i := total / 2; i < total; i++ {
		second = append(second, testkit.Value(fmt.Sprintf("e-%03d", i)))
	}
	testkit.Produce(t, b.Addr(), topic, second...)
	b.StartApp(t, opts...)
	testkit.Eventually(t, 30*time.Second, func() error {
		if n := handled(); n != total {
			return fmt.Errorf("handled %d distinct records, want %d", n, total)
		}
		return nil
	})
	// RECORD commits are asynchronous: they follow the handling shortly.
	testkit.Eventually(t, 20*time.Second, func() error {
		var sum int64
		for _, o := range testkit.CommittedOffsets(t, b.Addr(), group, topic) {
			sum += o
		}
		if sum != total {
			return fmt.Errorf("committed %d records, want %d", sum, total)
		}
		return nil
	})
}
