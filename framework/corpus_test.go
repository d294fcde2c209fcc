package framework_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/fx"
	"go.uber.org/fx/fxtest"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"

	"github.com/kspring/kspring/framework"
	"github.com/kspring/kspring/listener"
	"github.com/kspring/kspring/template"
	"github.com/kspring/kspring/testkit"
)

// The corpus under testdata/spring holds application.yml files of the
// shapes Spring services have. Each test loads one as the module would,
// with the test broker as KAFKA_BOOTSTRAP, and runs it end to end.

// springApp is a started application over a corpus directory.
type springApp struct {
	*fxtest.App
	broker   *testkit.Broker
	props    *framework.Properties
	registry *listener.Registry
	logs     *observer.ObservedLogs
}

// startSpringApp loads testdata/spring/<shape> with environ (plus
// KAFKA_BOOTSTRAP) and starts the module over it with opts.
func startSpringApp(t *testing.T, shape string, environ []string, opts ...fx.Option) *springApp {
	t.Helper()
	a := &springApp{broker: testkit.NewBroker(t)}
	environ = append(environ, "KAFKA_BOOTSTRAP="+a.broker.Bootstrap())
	p, err := framework.LoadProperties(filepath.Join("testdata", "spring", shape), environ)
	require.NoError(t, err)
	a.props = p
	core, logs := observer.New(zapcore.InfoLevel)
	a.logs = logs
	logger := zap.New(zapcore.NewTee(zaptest.NewLogger(t, zaptest.Level(zapcore.WarnLevel)).Core(), core))
	a.App = fxtest.New(t, append([]fx.Option{
		framework.Module(framework.WithProperties(p), framework.WithLogger(logger)),
		fx.Populate(&a.registry),
	}, opts...)...)
	a.RequireStart()
	t.Cleanup(func() { a.RequireStop() })
	return a
}

func (a *springApp) container(t *testing.T, id string) *listener.Container {
	t.Helper()
	c, ok := a.registry.Container(id)
	require.True(t, ok, "listener %q", id)
	return c
}

func TestCorpusPlain(t *testing.T) {
	topic := testkit.UniqueName(t, "orders")
	got := make(chan string, 10)
	var kafka *template.Template[string, string]
	a := startSpringApp(t, "plain", []string{"ORDERS_TOPIC=" + topic},
		framework.Topic(framework.NewTopic{Name: "${app.topics.orders}", Partitions: 2}),
		framework.Listener(func() listener.Endpoint {
			return listener.Listen("orders", func(_ context.Context, v string) error { got <- v; return nil },
				listener.Topics("${app.topics.orders}"), listener.IDIsGroup(false))
		}),
		fx.Populate(&kafka),
	)
	c := a.container(t, "orders")
	require.Equal(t, "order-service-group", c.GroupID(), "${ORDER_GROUP:${spring.application.name}-group}")
	require.Equal(t, 2, c.Concurrency())
	require.Equal(t, listener.AckRecord, c.AckMode())
	require.Equal(t, []string{topic}, c.Topics())

	_, err := kafka.SendDefault(t.Context(), "order-1").Get(t.Context())
	require.NoError(t, err, "default-topic: ${app.topics.orders}")
	require.Equal(t, "order-1", testkit.Receive(t, got, 20*time.Second))
}

func TestCorpusProfiles(t *testing.T) {
	topic := testkit.UniqueName(t, "invoices")
	got := make(chan string, 10)
	a := startSpringApp(t, "profiles", []string{"SPRING_PROFILES_ACTIVE=test,fast", "INVOICES_TOPIC=" + topic},
		framework.Topic(framework.NewTopic{Name: topic, Partitions: 1}),
		framework.Listener(func() listener.Endpoint {
			return listener.Listen("invoices", func(_ context.Context, v string) error { got <- v; return nil },
				listener.Topics("${app.topic}"), listener.IDIsGroup(false))
		}),
	)
	require.Equal(t, []string{"test", "fast"}, a.props.Profiles())
	cfg, err := framework.LoadConfig(a.props)
	require.NoError(t, err)
	require.Equal(t, "billing-test", cfg.ClientID, "application-test.yml")
	require.Equal(t, time.Second, cfg.Consumer.HeartbeatInterval.D(), "application-fast.properties")
	require.Equal(t, "earliest", cfg.Consumer.AutoOffsetReset, "the document on-profile: test | staging")

	c := a.container(t, "invoices")
	require.Equal(t, []string{topic}, c.Topics(), "app.topic from the test document")
	require.Equal(t, "billing-main", c.GroupID())
	require.Equal(t, listener.AckRecord, c.AckMode(), "application-test.yml over application.yml")
	require.Equal(t, 1, c.Concurrency(), "fast, the later profile, over test")

	// Produced before the group's first assignment: earliest, from the profile.
	testkit.Produce(t, a.broker.Bootstrap(), topic, testkit.Value("invoice-1"))
	require.Equal(t, "invoice-1", testkit.Receive(t, got, 20*time.Second))
}

func TestCorpusPassthrough(t *testing.T) {
	topic := testkit.UniqueName(t, "ledger")
	got := make(chan string, 10)
	var kafka *template.Template[string, string]
	a := startSpringApp(t, "passthrough", []string{"LEDGER_TOPIC=" + topic},
		framework.Topic(framework.NewTopic{Name: topic, Partitions: 2}),
		framework.Listener(func() listener.Endpoint {
			return listener.Listen("ledger", func(_ context.Context, v string) error { got <- v; return nil },
				listener.Topics("${app.topic}"), listener.GroupID("${app.group}"))
		}),
		fx.Populate(&kafka),
	)
	// The idempotent producer and the read_committed consumer work end to end.
	for _, v := range []string{"debit", "credit"} {
		_, err := kafka.SendKey(t.Context(), topic, "acct-1", v).Get(t.Context())
		require.NoError(t, err)
	}
	require.Equal(t, "debit", testkit.Receive(t, got, 20*time.Second))
	require.Equal(t, "credit", testkit.Receive(t, got, 20*time.Second))

	// What sarama cannot honour is named, once.
	var ignored []string
	for _, e := range a.logs.FilterMessageSnippet("Kafka property ignored").All() {
		ignored = append(ignored, e.ContextMap()["property"].(string))
	}
	require.Equal(t, []string{
		"spring.kafka.properties.client.dns.lookup",
		"spring.kafka.producer.properties.partitioner.class",
	}, ignored)
}

// Order is the shop's order, com.example.shop.Order on the Java side.
type Order struct {
	ID     string  `json:"id"`
	Amount float64 `json:"amount"`
}

func TestCorpusJSONWithTypeMapping(t *testing.T) {
	topic := testkit.UniqueName(t, "shop-orders")
	got := make(chan *listener.Record[Order], 10)
	var kafka *template.Template[string, Order]
	a := startSpringApp(t, "json", []string{"ORDERS_TOPIC=" + topic},
		framework.Topic(framework.NewTopic{Name: topic, Partitions: 1}, framework.NewTopic{Name: topic + "-dlt", Partitions: 1}),
		framework.ProvideTemplate[string, Order](), // serializers from the file
		framework.Listener(func() listener.Endpoint {
			return listener.ListenRecord("shipping", func(_ context.Context, r *listener.Record[Order]) error { got <- r; return nil },
				listener.Topics("${app.topic}"), listener.IDIsGroup(false))
		}),
		fx.Populate(&kafka),
	)
	_, err := kafka.SendKey(t.Context(), topic, "o-1", Order{ID: "o-1", Amount: 12.5}).Get(t.Context())
	require.NoError(t, err)
	r := testkit.Receive(t, got, 20*time.Second)
	require.Equal(t, Order{ID: "o-1", Amount: 12.5}, r.Value)
	typeID, _ := r.Headers.Get("__TypeId__")
	require.Equal(t, "order", string(typeID), "the producer's spring.json.type.mapping token")

	// A Java producer's header naming a class of a trusted package is read;
	// one naming a class outside them is refused and dead-lettered at once.
	body, _ := json.Marshal(Order{ID: "o-2"})
	testkit.Produce(t, a.broker.Bootstrap(), topic,
		testkit.Record{Value: body}.WithHeader("__TypeId__", "com.evil.Gadget"),
		testkit.Record{Value: body}.WithHeader("__TypeId__", "com.example.shop.Order"))
	require.Equal(t, "o-2", testkit.Receive(t, got, 20*time.Second).Value.ID)
	dead := testkit.ConsumeN(t, a.broker.Bootstrap(), topic+"-dlt", 1, 20*time.Second)[0]
	reason, _ := dead.Header("kafka_dlt-exception-message")
	require.Contains(t, reason, "not in the trusted packages")
	require.Empty(t, got, "the refused record never reached the handler")
}

// Payment is what the payments topic carries.
type Payment struct {
	ID    string `json:"id"`
	Cents int64  `json:"cents"`
}

func TestCorpusErrorHandlingDeserializer(t *testing.T) {
	topic := testkit.UniqueName(t, "payments")
	got := make(chan Payment, 10)
	a := startSpringApp(t, "errorhandling", []string{"PAYMENTS_TOPIC=" + topic},
		framework.Topic(framework.NewTopic{Name: topic, Partitions: 1}, framework.NewTopic{Name: topic + "-dlt", Partitions: 1}),
		framework.Listener(func() listener.Endpoint {
			return listener.Listen("payments", func(_ context.Context, p Payment) error { got <- p; return nil },
				listener.Topics("${app.topic}"), listener.IDIsGroup(false))
		}),
	)
	testkit.Produce(t, a.broker.Bootstrap(), topic,
		testkit.KeyValue("p-1", "not json"),
		testkit.KeyValue("p-2", `{"id":"p-2","cents":995}`))
	require.Equal(t, Payment{ID: "p-2", Cents: 995}, testkit.Receive(t, got, 20*time.Second))
	dead := testkit.ConsumeN(t, a.broker.Bootstrap(), topic+"-dlt", 1, 20*time.Second)[0]
	require.Equal(t, "not json", string(dead.Value))
	origin, _ := dead.Header("kafka_dlt-original-topic")
	require.Equal(t, topic, origin)
}

// TestUnresolvedPlaceholderStopsTheStart: the module does not start with a
// placeholder it cannot fill, and says which key of which file holds it.
func TestUnresolvedPlaceholderStopsTheStart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "application.yml")
	require.NoError(t, os.WriteFile(path, []byte("spring.kafka.bootstrap-servers: ${KAFKA_BOOTSTRAP_UNSET_IN_TESTS}\n"), 0o644))
	app := fx.New(framework.Module(framework.WithConfigFile(path), framework.WithLogger(zaptest.NewLogger(t))),
		fx.Invoke(func(*template.Template[string, string]) {}), fx.NopLogger)
	require.ErrorContains(t, app.Err(), "spring.kafka.bootstrap-servers (in "+path+"): unresolved placeholder ${KAFKA_BOOTSTRAP_UNSET_IN_TESTS}")
}
