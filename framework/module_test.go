package framework_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/fx"
	"go.uber.org/fx/fxtest"
	"go.uber.org/zap/zaptest"

	"github.com/kspring/kspring/framework"
	"github.com/kspring/kspring/listener"
	"github.com/kspring/kspring/template"
	"github.com/kspring/kspring/testkit"
)

// received collects what a listener saw.
type received struct {
	mu   sync.Mutex
	vals []string
}

func (r *received) add(_ context.Context, v string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.vals = append(r.vals, v)
	return nil
}

func (r *received) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.vals)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestEmbeddedDefaultRoundTrip(t *testing.T) {
	got := &received{}
	var kafka *template.Template[string, string]
	app := fxtest.New(t,
		framework.Module(framework.WithProperties(framework.NewProperties(nil)),
			framework.WithLogger(zaptest.NewLogger(t))),
		framework.Topic(framework.NewTopic{Name: "greetings", Partitions: 2}),
		fx.Supply(got),
		framework.Listener(func(r *received) listener.Endpoint {
			return listener.Listen("greeter", r.add, listener.Topics("greetings"), listener.GroupID("g"),
				listener.StartOffset("earliest"))
		}),
		fx.Populate(&kafka),
	)
	app.RequireStart()
	for _, v := range []string{"a", "b", "c"} {
		_, err := kafka.Send(t.Context(), "greetings", v).Get(t.Context())
		require.NoError(t, err)
	}
	waitFor(t, "3 records at the listener", func() bool { return got.count() == 3 })
	app.RequireStop()
}

func TestExternalBootstrapAndPlaceholders(t *testing.T) {
	b := testkit.NewBroker(t)
	props := framework.NewProperties(map[string]string{
		"spring.kafka.bootstrap-servers":          b.Addr(),
		"spring.kafka.template.default-topic":     "audit",
		"spring.kafka.consumer.auto-offset-reset": "earliest",
		"app.topic": "audit",
		"app.group": "auditors",
	})
	got := &received{}
	var (
		kafka  *template.Template[string, string]
		health *framework.Health
		reg    *listener.Registry
	)
	app := fxtest.New(t,
		framework.Module(framework.WithProperties(props), framework.WithLogger(zaptest.NewLogger(t))),
		framework.Topic(framework.NewTopic{Name: "audit", Partitions: 3}),
		fx.Supply(got),
		framework.Listener(func(r *received) listener.Endpoint {
			return listener.Listen("auditor", r.add, listener.Topics("${app.topic}"), listener.GroupID("${app.group}"))
		}),
		fx.Populate(&kafka, &health, &reg),
	)
	app.RequireStart()
	_, err := kafka.SendDefault(t.Context(), "x").Get(t.Context())
	require.NoError(t, err)
	waitFor(t, "the record at the listener", func() bool { return got.count() == 1 })
	require.NoError(t, health.Check(t.Context()))

	// The declared topic exists with its partitions, on the external broker.
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()))
	require.NoError(t, err)
	defer cl.Close()
	topics, err := kadm.NewClient(cl).ListTopics(t.Context(), "audit")
	require.NoError(t, err)
	require.Len(t, topics["audit"].Partitions, 3)

	// Stop drains and commits before the template closes: the group's
	// committed offset covers the record.
	app.RequireStop()
	offs, err := kadm.NewClient(cl).FetchOffsets(t.Context(), "auditors")
	require.NoError(t, err)
	var committed int64
	offs.Each(func(o kadm.OffsetResponse) { committed += o.At })
	require.Equal(t, int64(1), committed)
	require.Error(t, health.Check(t.Context()), "after stop the containers are not running")
}

func TestBadListenerConfigFailsAtStartNamingIt(t *testing.T) {
	for _, tc := range []struct {
		name string
		eps  []func() listener.Endpoint
		want string
	}{
		{"no topics", []func() listener.Endpoint{
			func() listener.Endpoint { return listener.Listen("lonely", noop) },
		}, "lonely"},
		{"unknown placeholder", []func() listener.Endpoint{
			func() listener.Endpoint { return listener.Listen("ph", noop, listener.Topics("${nope}")) },
		}, "${nope}"},
		{"duplicate id", []func() listener.Endpoint{
			func() listener.Endpoint { return listener.Listen("twin", noop, listener.Topics("a")) },
			func() listener.Endpoint { return listener.Listen("twin", noop, listener.Topics("b")) },
		}, "twin"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := []fx.Option{
				framework.Module(framework.WithProperties(framework.NewProperties(nil)),
					framework.WithLogger(zaptest.NewLogger(t))),
				fx.NopLogger,
			}
			for _, ep := range tc.eps {
				opts = append(opts, framework.Listener(ep))
			}
			app := fx.New(opts...)
			err := app.Err()
			if err == nil {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				err = app.Start(ctx)
				_ = app.Stop(ctx)
			}
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.want)
		})
	}
}

func noop(context.Context, string) error { return nil }
