// Command spring-migration runs a Spring Boot order service's
// application.yml, unchanged, under kspring: placeholders, profiles, the
// JSON serializer with a type mapping, ErrorHandlingDeserializer, and Kafka
// properties passed through. With no KAFKA_BOOTSTRAP it uses the bundled
// broker in-process.
//
// It sends three orders with a Template[string, Order] whose serializer the
// file names, plus one record that is not JSON. The billing listener gets
// the orders; the bad record goes to orders-dlt, where a second listener
// reads it raw. The program exits once it has seen all four.
//
//	go run ./examples/spring-migration
//	SPRING_PROFILES_ACTIVE=prod KAFKA_BOOTSTRAP=localhost:9092 go run ./examples/spring-migration
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"go.uber.org/fx"

	"github.com/kspring/kspring/framework"
	"github.com/kspring/kspring/listener"
	"github.com/kspring/kspring/template"
)

// Order is com.example.orders.Order on the Java side: the type mapping's
// token "order" goes in its __TypeId__ header.
type Order struct {
	ID     string  `json:"id"`
	Item   string  `json:"item"`
	Amount float64 `json:"amount"`
}

var orders = []Order{{"o-1", "book", 12.5}, {"o-2", "lamp", 40}, {"o-3", "pen", 2.25}}

// billing is the service: the Go form of a class with @KafkaListener methods.
type billing struct {
	out  io.Writer
	mu   sync.Mutex
	seen int
	done chan struct{}
}

func (b *billing) count() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.seen++; b.seen == len(orders)+1 {
		close(b.done)
	}
}

// onOrder is @KafkaListener(topics = "${app.topics.orders}").
func (b *billing) onOrder(_ context.Context, r *listener.Record[Order]) error {
	typeID, _ := r.Headers.Get("__TypeId__")
	fmt.Fprintf(b.out, "billed %s: %s for %.2f (partition %d, offset %d, __TypeId__ %s)\n",
		r.Value.ID, r.Value.Item, r.Value.Amount, r.Partition, r.Offset, typeID)
	b.count()
	return nil
}

// onDeadLetter reads orders-dlt raw: its endpoint overrides the configured
// value deserializer, as a @KafkaListener's properties attribute would.
func (b *billing) onDeadLetter(_ context.Context, r *listener.Record[[]byte]) error {
	reason, _ := r.Headers.Get("kafka_dlt-exception-message")
	fmt.Fprintf(b.out, "dead letter %q: %s\n", r.Value, reason)
	b.count()
	return nil
}

// send publishes the orders, and one record that is not JSON, at start.
func send(lc fx.Lifecycle, p *framework.Properties, out io.Writer,
	kafka *template.Template[string, Order], raw *template.Template[[]byte, []byte]) {
	lc.Append(fx.StartHook(func(ctx context.Context) error {
		topic, err := p.Resolve("${app.topics.orders}")
		if err != nil {
			return err
		}
		for _, o := range orders {
			r, err := kafka.SendKey(ctx, topic, o.ID, o).Get(ctx)
			if err != nil {
				return fmt.Errorf("send %s: %w", o.ID, err)
			}
			fmt.Fprintf(out, "sent %s to %s-%d@%d\n", o.ID, r.Metadata.Topic, r.Metadata.Partition, r.Metadata.Offset)
		}
		_, err = raw.SendKey(ctx, topic, []byte("o-4"), []byte("this is not JSON")).Get(ctx)
		return err
	}))
}

// options is the application: the module over the configuration in dir,
// the topics, the listeners and the sender.
func options(dir string, out io.Writer, b *billing) []fx.Option {
	return []fx.Option{
		framework.Module(framework.WithConfigFile(dir + "/")),
		framework.Topic(
			framework.NewTopic{Name: "${app.topics.orders}", Partitions: 3},
			framework.NewTopic{Name: "${app.topics.orders}-dlt", Partitions: 3},
		),
		framework.ProvideTemplate[string, Order](),
		fx.Supply(b, fx.Annotate(out, fx.As(new(io.Writer)))),
		framework.Listener(func(b *billing) listener.Endpoint {
			return listener.ListenRecord("billing", b.onOrder,
				listener.Topics("${app.topics.orders}"), listener.IDIsGroup(false))
		}),
		framework.Listener(func(b *billing) listener.Endpoint {
			return listener.ListenRecord("dlt-audit", b.onDeadLetter,
				listener.Topics("${app.topics.orders}-dlt"), listener.GroupID("${spring.application.name}-dlt"),
				listener.ConsumerProperties(map[string]string{
					"value.deserializer": "org.apache.kafka.common.serialization.ByteArrayDeserializer",
				}))
		}),
		fx.Invoke(send),
	}
}

// run starts the application, waits for every order and the dead letter
// (or ctx), and stops it.
func run(ctx context.Context, dir string, out io.Writer) error {
	b := &billing{out: out, done: make(chan struct{})}
	var (
		props *framework.Properties
		reg   *listener.Registry
	)
	app := fx.New(append(options(dir, out, b), fx.Populate(&props, &reg))...)
	if err := app.Start(ctx); err != nil {
		return err
	}
	if c, ok := reg.Container("billing"); ok {
		fmt.Fprintf(out, "configuration from %s, active profiles %v, billing concurrency %d\n", dir, props.Profiles(), c.Concurrency())
	}
	var err error
	select {
	case <-b.done:
	case <-ctx.Done():
		err = fmt.Errorf("waiting for the orders: %w", ctx.Err())
	}
	stopCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if stopErr := app.Stop(stopCtx); err == nil {
		err = stopErr
	}
	return err
}

// configDir is where application.yml is: this example's directory, from
// the repository root or from the directory itself.
func configDir() string {
	if dir := filepath.Join("examples", "spring-migration"); fileExists(filepath.Join(dir, "application.yml")) {
		return dir
	}
	return "."
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := run(ctx, configDir(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "spring-migration:", err)
		os.Exit(1)
	}
}
