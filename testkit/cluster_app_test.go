package testkit_test

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/fx"

	"github.com/kspring/kspring/framework"
	"github.com/kspring/kspring/listener"
	"github.com/kspring/kspring/template"
	"github.com/kspring/kspring/testkit"
)

// TestAppRidesOutLeaderLoss: a template sending with acks=all and
// idempotence, and a listener consuming, carry on while the broker leading
// their partition is killed: every send completes, the log holds each
// record once, and the listener receives every record.
func TestAppRidesOutLeaderLoss(t *testing.T) {
	t.Parallel()
	c := testkit.NewCluster(t, testkit.Brokers(3),
		testkit.WithTopic("orders", 1, map[string]string{"min.insync.replicas": "2"}))
	var (
		mu  sync.Mutex
		got = map[string]int{}
	)
	var kafka *template.Template[string, string]
	app := c.StartApp(t,
		testkit.AppProperties(map[string]string{
			"spring.kafka.producer.acks":                          "all",
			"spring.kafka.producer.retries":                       "2147483647",
			"spring.kafka.producer.properties.enable.idempotence": "true",
			"spring.kafka.producer.properties.retry.backoff.ms":   "50",
		}),
		framework.Listener(func() listener.Endpoint {
			return listener.Listen("orders", func(_ context.Context, v string) error {
				mu.Lock()
				got[v]++
				mu.Unlock()
				return nil
			}, listener.Topics("orders"), listener.GroupID(testkit.UniqueName(t, "billing")))
		}),
		fx.Populate(&kafka),
	)
	app.WaitForAssignment(t, "orders", 1)

	const n = 200
	send := func(from, to int) {
		t.Helper()
		var futures []*template.Future[string, string]
		for i := from; i < to; i++ {
			futures = append(futures, kafka.SendKey(t.Context(), "orders", strconv.Itoa(i), "order-"+strconv.Itoa(i)))
		}
		ctx, cancel := context.WithTimeout(t.Context(), testkit.WaitTimeout)
		defer cancel()
		for _, f := range futures {
			_, err := f.Get(ctx)
			require.NoError(t, err)
		}
	}
	send(0, n/2)
	leader := c.Leader(t, "orders", 0)
	c.Kill(leader)
	send(n/2, n)
	c.Restart(leader)

	testkit.Eventually(t, testkit.WaitTimeout, func() error {
		mu.Lock()
		defer mu.Unlock()
		if len(got) < n {
			return fmt.Errorf("the listener received %d of %d records", len(got), n)
		}
		return nil
	})
	recs := testkit.ConsumeN(t, c.Bootstrap(), "orders", n, 10*time.Second)
	seen := map[string]bool{}
	for _, r := range recs {
		require.False(t, seen[string(r.Value)], "%s is in the log twice", r.Value)
		seen[string(r.Value)] = true
	}
	require.Len(t, testkit.Records(t, c.Bootstrap(), "orders"), n, "each record once")
}
