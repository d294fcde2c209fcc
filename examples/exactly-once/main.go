// Command exactly-once is consume-process-produce with Kafka transactions,
// on the embedded default: no Kafka to install.
//
// spring.kafka.producer.transaction-id-prefix makes the templates
// transactional and puts a transaction manager on the listener containers,
// as Spring Boot does. The program writes five orders in one transaction
// (and a bogus one in a transaction it aborts), and a billing listener
// turns each order into an invoice: the invoice and the order's offset
// commit in one transaction. Billing fails once, after it has sent its
// invoice for o-3: that transaction rolls back and o-3 is delivered again.
// An audit listener reads the invoices with isolation.level read_committed
// (the default once transactions are on) and the program exits once it has
// every invoice, each exactly once.
//
//	go run ./examples/exactly-once
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"sort"
	"sync"
	"time"

	"go.uber.org/fx"

	"github.com/kspring/kspring/framework"
	"github.com/kspring/kspring/listener"
	"github.com/kspring/kspring/template"
)

var orders = []string{"o-1", "o-2", "o-3", "o-4", "o-5"}

// properties are the application's spring.kafka.* settings; with no
// bootstrap-servers the module starts the bundled broker in-process.
var properties = map[string]string{
	"spring.application.name":                            "exactly-once",
	"spring.kafka.producer.transaction-id-prefix":        "exactly-once-tx-",
	"spring.kafka.consumer.auto-offset-reset":            "earliest",
	"spring.kafka.consumer.key-deserializer":             "org.apache.kafka.common.serialization.StringDeserializer",
	"spring.kafka.consumer.value-deserializer":           "org.apache.kafka.common.serialization.StringDeserializer",
	"spring.kafka.producer.properties.linger.ms":         "0",
	"spring.kafka.listener.ack-mode":                     "record",
	"spring.kafka.consumer.properties.fetch.max.wait.ms": "100",
}

// shop bills orders and audits the invoices.
type shop struct {
	out   io.Writer
	kafka *template.Template[string, string]

	mu       sync.Mutex
	failed   bool           // o-3 has failed once
	invoices map[string]int // invoice -> times the audit read it
	done     chan struct{}
}

// bill is the billing listener: it runs in a transaction with the order's
// offset, and its send joins that transaction through ctx.
func (s *shop) bill(ctx context.Context, order string) error {
	if _, err := s.kafka.Send(ctx, "invoices", "invoice for "+order).Get(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	fail := order == "o-3" && !s.failed
	s.failed = s.failed || fail
	s.mu.Unlock()
	if fail {
		fmt.Fprintf(s.out, "billing %s failed after sending its invoice: the transaction rolls back\n", order)
		return errors.New("payment service unavailable")
	}
	fmt.Fprintf(s.out, "billed %s\n", order)
	return nil
}

// audit reads the invoices, read_committed.
func (s *shop) audit(_ context.Context, invoice string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.invoices[invoice]++
	fmt.Fprintf(s.out, "audit read %q\n", invoice)
	if len(s.invoices) == len(orders) {
		select {
		case <-s.done:
		default:
			close(s.done)
		}
	}
	return nil
}

// send writes the orders in one transaction, and a bogus order in a
// transaction that aborts: no listener ever reads it.
func send(ctx context.Context, s *shop) error {
	err := s.kafka.ExecuteInTransaction(ctx, func(tx *template.Tx[string, string]) error {
		tx.Send(ctx, "orders", "o-bogus")
		return errors.New("changed my mind")
	})
	if !errors.Is(err, template.ErrTransactionAborted) {
		return fmt.Errorf("the bogus order's transaction: %v", err)
	}
	fmt.Fprintf(s.out, "aborted: %v\n", err)
	return s.kafka.ExecuteInTransaction(ctx, func(tx *template.Tx[string, string]) error {
		for _, o := range orders {
			tx.SendKey(ctx, "orders", o, o)
		}
		return nil
	})
}

// run starts the application on the brokers of bootstrap ("": the bundled
// broker), waits until the audit has every invoice (or ctx ends), stops it
// and checks that each invoice was read once.
func run(ctx context.Context, bootstrap string, out io.Writer) error {
	s := &shop{out: out, invoices: map[string]int{}, done: make(chan struct{})}
	props := maps.Clone(properties)
	if bootstrap != "" {
		props["spring.kafka.bootstrap-servers"] = bootstrap
	}
	app := fx.New(
		fx.NopLogger,
		framework.Module(framework.WithProperties(framework.NewProperties(props))),
		framework.Topic(framework.NewTopic{Name: "orders", Partitions: 2}, framework.NewTopic{Name: "invoices", Partitions: 2}),
		framework.Listener(func() listener.Endpoint {
			return listener.Listen("billing", s.bill, listener.Topics("orders"))
		}),
		framework.Listener(func() listener.Endpoint {
			return listener.Listen("audit", s.audit, listener.Topics("invoices"))
		}),
		fx.Populate(&s.kafka),
	)
	if err := app.Start(ctx); err != nil {
		return err
	}
	err := send(ctx, s)
	if err == nil {
		select {
		case <-s.done:
		case <-ctx.Done():
			err = fmt.Errorf("waiting for the invoices: %w", ctx.Err())
		}
	}
	stopCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if stopErr := app.Stop(stopCtx); err == nil {
		err = stopErr
	}
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var names []string
	for inv, n := range s.invoices {
		if n != 1 {
			return fmt.Errorf("%q read %d times", inv, n)
		}
		names = append(names, inv)
	}
	sort.Strings(names)
	fmt.Fprintf(out, "exactly once: %d orders, %d invoices, each read once %v\n", len(orders), len(names), names)
	return nil
}

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := run(ctx, os.Getenv("SPRING_KAFKA_BOOTSTRAP_SERVERS"), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "exactly-once:", err)
		os.Exit(1)
	}
}
