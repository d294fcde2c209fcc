package framework_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/fx"

	"github.com/kspring/kspring/framework"
	"github.com/kspring/kspring/listener"
	"github.com/kspring/kspring/template"
	"github.com/kspring/kspring/testkit"
)

// actuatorProps turns the actuator on, on a free port, with extra keys.
func actuatorProps(extra map[string]string) fx.Option {
	props := map[string]string{
		"management.server.port":                    "0",
		"management.endpoints.web.exposure.include": "health,prometheus",
	}
	for k, v := range extra {
		props[k] = v
	}
	return testkit.AppProperties(props)
}

// get fetches url and returns the status and body.
func get(t *testing.T, url string) (int, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testkit.WaitTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, body
}

// TestActuatorPrometheusScrape: the actuator's prometheus endpoint serves
// Spring Kafka's timers for the default template and a listener (success
// and failure, with their exception tag) and the listener's lag.
func TestActuatorPrometheusScrape(t *testing.T) {
	topic := testkit.UniqueName(t, "orders")
	group := testkit.UniqueName(t, "billing")
	var act *framework.Actuator
	var kt *template.Template[string, string]
	app := testkit.NewApp(t, actuatorProps(nil),
		framework.Topic(framework.NewTopic{Name: topic, Partitions: 1}),
		framework.Listener(func() listener.Endpoint {
			return listener.Listen("billing", func(_ context.Context, v string) error {
				if v == "bad" {
					return listener.NotRetryable(errors.New("refused"))
				}
				return nil
			}, listener.Topics(topic), listener.GroupID(group))
		}),
		fx.Populate(&act, &kt),
	)
	app.WaitForAssignment(t, "billing", 1)
	require.NotEmpty(t, act.Addr())
	url := "http://" + act.Addr() + "/actuator/prometheus"
	ctx := t.Context()
	for _, v := range []string{"a", "b", "bad"} {
		_, err := kt.Send(ctx, topic, v).Get(ctx)
		require.NoError(t, err)
	}
	testkit.Eventually(t, testkit.WaitTimeout, func() error {
		m, err := testkit.Scrape(ctx, url)
		if err != nil {
			return err
		}
		for _, want := range []struct {
			name   string
			labels []string
			value  float64
		}{
			{"spring_kafka_template_seconds", []string{"name", "kafkaTemplate", "result", "success", "exception", "none"}, 3},
			{"spring_kafka_listener_seconds", []string{"name", "billing-0", "result", "success", "exception", "none"}, 2},
			{"spring_kafka_listener_seconds", []string{"name", "billing-0", "result", "failure"}, 1},
			{"kafka_consumer_fetch_manager_records_lag", []string{"spring_id", "billing", "topic", topic, "partition", "0", "consumer_group", group}, 0},
		} {
			if v, ok := m.Value(want.name, want.labels...); !ok || v != want.value {
				return fmt.Errorf("%s%v = %v (present %v), want %v; series %v", want.name, want.labels, v, ok, want.value, m.Series(want.name))
			}
		}
		if v, ok := m.Value("spring_kafka_template_seconds_max", "name", "kafkaTemplate"); !ok || v <= 0 {
			return fmt.Errorf("template max %v", v)
		}
		if _, ok := m.Value("go_goroutines"); !ok {
			return errors.New("no runtime metrics")
		}
		return nil
	})
}

// health is /actuator/health decoded.
type health struct {
	Status     string            `json:"status"`
	Details    map[string]any    `json:"details"`
	Components map[string]health `json:"components"`
}

func getHealth(t *testing.T, act *framework.Actuator) (int, health) {
	t.Helper()
	code, body := get(t, "http://"+act.Addr()+"/actuator/health")
	var h health
	require.NoError(t, json.Unmarshal(body, &h), "%s", body)
	return code, h
}

// TestActuatorHealth: /actuator/health reports the cluster and each
// container in Actuator's shape; a paused container shows PAUSED, a
// stopped one STOPPED, and a stopped broker turns it DOWN with 503, and
// then the container FAILED.
func TestActuatorHealth(t *testing.T) {
	b := testkit.NewBroker(t)
	topic := testkit.UniqueName(t, "events")
	var act *framework.Actuator
	app := b.StartApp(t, actuatorProps(map[string]string{"management.endpoint.health.show-details": "always"}),
		framework.Topic(framework.NewTopic{Name: topic, Partitions: 1}),
		framework.Listener(func() listener.Endpoint {
			return listener.Listen("audit", func(context.Context, string) error { return nil },
				listener.Topics(topic), listener.GroupID(testkit.UniqueName(t, "audit")))
		}),
		framework.Listener(func() listener.Endpoint {
			return listener.Listen("later", func(context.Context, string) error { return nil },
				listener.Topics(topic), listener.GroupID(testkit.UniqueName(t, "later")), listener.AutoStartup(false))
		}),
		fx.Populate(&act),
	)
	app.WaitForAssignment(t, "audit", 1)

	code, h := getHealth(t, act)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "UP", h.Status)
	require.Equal(t, "UP", h.Components["kafka"].Status)
	require.Equal(t, []any{b.Addr()}, h.Components["kafka"].Details["brokers"])
	listeners := h.Components["kafkaListeners"]
	require.Equal(t, "UP", listeners.Status)
	require.Equal(t, "RUNNING", listeners.Components["audit"].Details["state"])
	require.Equal(t, "STOPPED", listeners.Components["later"].Details["state"])

	app.Container(t, "audit").Pause()
	_, h = getHealth(t, act)
	require.Equal(t, "PAUSED", h.Components["kafkaListeners"].Components["audit"].Details["state"])
	require.Equal(t, "UP", h.Status, "a paused container is healthy")
	app.Container(t, "audit").Resume()

	if testkit.External() {
		return // the rest stops the broker, which only the embedded one allows
	}
	require.NoError(t, b.Server().Close(t.Context()))
	code, h = getHealth(t, act)
	require.Equal(t, http.StatusServiceUnavailable, code)
	require.Equal(t, "DOWN", h.Status)
	require.Equal(t, "DOWN", h.Components["kafka"].Status)
	require.Contains(t, h.Components["kafka"].Details["error"], "unreachable")

	// The running container's consumer loses its group: FAILED, and DOWN.
	testkit.Eventually(t, testkit.WaitTimeout, func() error {
		_, h := getHealth(t, act)
		audit := h.Components["kafkaListeners"].Components["audit"]
		if audit.Details["state"] != "FAILED" || audit.Status != "DOWN" || h.Components["kafkaListeners"].Status != "DOWN" {
			return fmt.Errorf("audit %+v", audit)
		}
		return nil
	})
}

// TestActuatorDefaults: with only the port set, health is exposed and
// shows its status alone (Spring's defaults), and prometheus is not
// exposed; without the port there is no server.
func TestActuatorDefaults(t *testing.T) {
	var act *framework.Actuator
	testkit.NewApp(t, testkit.AppProperties(map[string]string{"management.server.port": "0"}), fx.Populate(&act))
	code, body := get(t, "http://"+act.Addr()+"/actuator/health")
	require.Equal(t, http.StatusOK, code)
	require.JSONEq(t, `{"status":"UP"}`, string(body))
	code, _ = get(t, "http://"+act.Addr()+"/actuator/prometheus")
	require.Equal(t, http.StatusNotFound, code)
	code, body = get(t, "http://"+act.Addr()+"/actuator")
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, string(body), `"health"`)

	var off *framework.Actuator
	testkit.NewApp(t, fx.Populate(&off))
	require.Empty(t, off.Addr())

	var comp *framework.Actuator
	testkit.NewApp(t, testkit.AppProperties(map[string]string{
		"management.server.port": "0", "management.endpoint.health.show-components": "always",
		"management.endpoints.web.base-path": "/manage",
	}), fx.Populate(&comp))
	code, body = get(t, "http://"+comp.Addr()+"/manage/health")
	require.Equal(t, http.StatusOK, code)
	require.JSONEq(t, `{"status":"UP","components":{"kafka":{"status":"UP"},"kafkaListeners":{"status":"UP"}}}`, string(body))
}

// TestActuatorConfigErrors: a bad management key stops the start naming
// it; so does a port already taken. (Without management.server.port the
// health settings are not read: see TestCorpusPlain.)
func TestActuatorConfigErrors(t *testing.T) {
	b := testkit.NewBroker(t)
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { taken.Close() })
	_, port, _ := net.SplitHostPort(taken.Addr().String())
	for _, tc := range []struct {
		key, value, want string
	}{
		{"management.endpoint.health.show-details", "sometimes", "management.endpoint.health.show-details"},
		{"management.server.port", "70000", "management.server.port"},
		{"management.endpoints.web.base-path", "actuator", "base-path"},
		{"management.server.port", port, "management.server.port"},
		{"spring.kafka.listener.observation-enabled", "maybe", "spring.kafka.listener.observation-enabled"},
	} {
		t.Run(tc.key+"="+tc.value, func(t *testing.T) {
			props := framework.NewProperties(map[string]string{
				"spring.kafka.bootstrap-servers": b.Bootstrap(), "management.server.port": "0", tc.key: tc.value,
			})
			app := fx.New(framework.Module(framework.WithProperties(props)), fx.NopLogger,
				fx.Provide(func() trace.TracerProvider { return sdktrace.NewTracerProvider() }))
			err := app.Err()
			if err == nil {
				ctx, cancel := context.WithTimeout(context.Background(), testkit.WaitTimeout)
				defer cancel()
				err = app.Start(ctx)
				_ = app.Stop(ctx)
			}
			require.ErrorContains(t, err, tc.want)
		})
	}
}

// TestTracingThroughFx: with a TracerProvider in the fx graph, the
// module's template and listeners trace a record across the broker in one
// trace; management.tracing.enabled=false turns that off.
func TestTracingThroughFx(t *testing.T) {
	for _, enabled := range []bool{true, false} {
		t.Run("enabled="+strconv.FormatBool(enabled), func(t *testing.T) {
			exp := tracetest.NewInMemoryExporter()
			tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
			t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
			topic := testkit.UniqueName(t, "traced")
			got := make(chan trace.SpanContext, 1)
			var kt *template.Template[string, string]
			app := testkit.NewApp(t,
				testkit.AppProperties(map[string]string{"management.tracing.enabled": strconv.FormatBool(enabled)}),
				fx.Provide(func() trace.TracerProvider { return tp }),
				framework.Topic(framework.NewTopic{Name: topic, Partitions: 1}),
				framework.Listener(func() listener.Endpoint {
					return listener.Listen("traced", func(ctx context.Context, _ string) error {
						got <- trace.SpanContextFromContext(ctx)
						return nil
					}, listener.Topics(topic), listener.GroupID(testkit.UniqueName(t, "traced")))
				}),
				fx.Populate(&kt),
			)
			app.WaitForAssignment(t, "traced", 1)
			_, err := kt.Send(t.Context(), topic, "v").Get(t.Context())
			require.NoError(t, err)
			var sc trace.SpanContext
			select {
			case sc = <-got:
			case <-time.After(testkit.WaitTimeout):
				t.Fatal("the listener did not get the record")
			}
			if !enabled {
				require.False(t, sc.IsValid())
				require.Empty(t, exp.GetSpans())
				return
			}
			require.True(t, sc.IsValid())
			var pub trace.SpanContext
			for _, s := range exp.GetSpans() {
				if s.Name == "publish "+topic {
					pub = s.SpanContext
				}
			}
			require.True(t, pub.IsValid(), "a publish span")
			require.Equal(t, pub.TraceID(), sc.TraceID())
		})
	}
}
