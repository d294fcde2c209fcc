package testkit_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kspring/kspring/framework"
	"github.com/kspring/kspring/listener"
	"github.com/kspring/kspring/testkit"
)

// Examples get no *testing.T, so each runs its test body through example(),
// which hands it a testing.TB. In your tests the body is the test.

// A broker for one test, a record produced and read back.
func ExampleNewBroker() {
	example(func(t testing.TB) { // func TestOrders(t *testing.T) {
		b := testkit.NewBroker(t, testkit.WithTopic("orders", 3, nil))
		orders := b.Topic("orders") // "orders"; unique against $KSPRING_TEST_BOOTSTRAP

		testkit.Produce(t, b.Addr(), orders, testkit.KeyValue("order-1", "42 EUR"))

		r := testkit.SingleRecord(t, b.Addr(), orders)
		fmt.Printf("%s: %s\n", r.Key, r.Value)
	})
	// Output: order-1: 42 EUR
}

// Wait for n records, with a bound.
func ExampleConsumeN() {
	example(func(t testing.TB) {
		b := testkit.NewBroker(t, testkit.WithTopic("events", 1, nil))
		events := b.Topic("events")
		testkit.Produce(t, b.Addr(), events, testkit.Value("created"), testkit.Value("paid"), testkit.Value("shipped"))

		for _, r := range testkit.ConsumeN(t, b.Addr(), events, 3, 10*time.Second) {
			fmt.Println(r.Offset, string(r.Value))
		}
	})
	// Output:
	// 0 created
	// 1 paid
	// 2 shipped
}

// End offsets by partition; records with a key go where Java clients put
// them.
func ExampleEndOffsets() {
	example(func(t testing.TB) {
		b := testkit.NewBroker(t, testkit.WithTopic("accounts", 2, nil))
		accounts := b.Topic("accounts")
		testkit.Produce(t, b.Addr(), accounts,
			testkit.KeyValue("12", "+10"), testkit.KeyValue("12", "-3"), testkit.Value("audit").ToPartition(1))

		ends := testkit.EndOffsets(t, b.Addr(), accounts)
		for _, p := range slices.Sorted(maps.Keys(ends)) {
			fmt.Printf("partition %d: %d\n", p, ends[p])
		}
	})
	// Output:
	// partition 0: 2
	// partition 1: 1
}

// A listener test: the fx app with kspring's module, a listener, a record in,
// the handler's view and the group's commit out.
func ExampleNewApp() {
	example(func(t testing.TB) {
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

		testkit.Produce(t, app.Bootstrap(), topic, testkit.KeyValue("order-1", "42 EUR"))
		fmt.Println("handled:", testkit.Receive(t, got, 10*time.Second))

		testkit.Eventually(t, 10*time.Second, func() error {
			if n := len(testkit.CommittedOffsets(t, app.Bootstrap(), group, topic)); n != 1 {
				return fmt.Errorf("group %s committed on %d partitions, want 1", group, n)
			}
			return nil
		})
		fmt.Println("committed")
	})
	// Output:
	// handled: 42 EUR
	// committed
}

// Poll until a condition holds; on timeout the test fails with the last
// error the check returned.
func ExampleEventually() {
	example(func(t testing.TB) {
		b := testkit.NewBroker(t, testkit.WithTopic("jobs", 1, nil))
		jobs := b.Topic("jobs")
		cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()), kgo.DefaultProduceTopic(jobs))
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		cl.Produce(context.Background(), kgo.StringRecord("a"), nil) // asynchronous
		cl.Produce(context.Background(), kgo.StringRecord("b"), nil)

		testkit.Eventually(t, 10*time.Second, func() error {
			if end := testkit.EndOffsets(t, b.Addr(), jobs)[0]; end != 2 {
				return fmt.Errorf("end offset of %s is %d, want 2", jobs, end)
			}
			return nil
		})
		fmt.Println("both written")
	})
	// Output: both written
}

// Crash the leader of a replicated partition: an in-sync follower takes
// over with everything acknowledged, and the crashed broker comes back on
// the same data and port.
func ExampleNewCluster() {
	example(func(t testing.TB) {
		c := testkit.NewCluster(t, testkit.Brokers(3), testkit.WithTopic("ledger", 1, nil))
		testkit.Produce(t, c.Bootstrap(), "ledger", testkit.Value("credit 10"))

		leader := c.Leader(t, "ledger", 0)
		c.Kill(leader) // no clean shutdown: the restart recovers the log
		testkit.Produce(t, c.Bootstrap(), "ledger", testkit.Value("debit 4"))
		c.Restart(leader)

		for _, r := range testkit.Records(t, c.Bootstrap(), "ledger") {
			fmt.Println(string(r.Value)) // credit 10, then debit 4
		}
	})
	// No Output line: against an external cluster (KSPRING_TEST_BOOTSTRAP)
	// NewCluster skips, so the example is compiled, not run.
}

// Names for topics and groups that no parallel test, and no earlier run
// against the same external cluster, uses.
func ExampleUniqueName() {
	example(func(t testing.TB) {
		topic := testkit.UniqueName(t, "orders") // e.g. "orders-TestBilling-3fa2c1-7"
		b := testkit.NewBroker(t)
		b.CreateTopic(t, topic, 3, nil)
	})
}
