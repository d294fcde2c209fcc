package testkit

import (
	"maps"
	"testing"

	"go.uber.org/fx"
	"go.uber.org/fx/fxtest"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/kspring/kspring/framework"
	"github.com/kspring/kspring/listener"
)

// App is an fx application for one test: kspring's framework.Module wired
// to a test broker, started and stopped with the test. Create it with
// [NewApp] or [Broker.StartApp]. Methods that take a testing.TB must run on
// that test's goroutine.
type App struct {
	*fxtest.App
	broker    *Broker // nil for an app on a Cluster
	bootstrap string
	registry  *listener.Registry
}

// NewApp starts a test broker ([NewBroker]) and an fx test app
// (go.uber.org/fx/fxtest) with framework.Module wired to it, plus opts
// (listeners, topics, your constructors and invokes). It returns once the app
// has started: declared topics exist and listener containers run. The app
// stops when the test ends, before the broker closes; a failed start or stop
// fails the test.
//
// The app's configuration is the test broker as
// spring.kafka.bootstrap-servers and spring.kafka.consumer.auto-offset-reset
// = earliest (so a listener sees records produced before its first
// assignment), and for a secured broker ([WithTLS], [WithSASL]) the
// spring.kafka.security/ssl/properties keys that connect as [Admin];
// nothing is read from files or the environment. Add or
// override keys with [AppProperties]. Warnings and errors go to the test log.
func NewApp(t testing.TB, opts ...fx.Option) *App {
	t.Helper()
	return NewBroker(t).StartApp(t, opts...)
}

// StartApp is [NewApp] on b, for tests that set the broker up first.
func (b *Broker) StartApp(t testing.TB, opts ...fx.Option) *App {
	t.Helper()
	return startApp(t, b.Bootstrap(), b, b.sec, opts)
}

// StartApp is [NewApp] on the cluster: the app bootstraps from every
// broker and follows leaders as they move.
func (c *Cluster) StartApp(t testing.TB, opts ...fx.Option) *App {
	t.Helper()
	return startApp(t, c.Bootstrap(), nil, c.sec, opts)
}

func startApp(t testing.TB, bootstrap string, b *Broker, sec *secured, opts []fx.Option) *App {
	t.Helper()
	values := map[string]string{
		"spring.kafka.bootstrap-servers":          bootstrap,
		"spring.kafka.consumer.auto-offset-reset": "earliest",
	}
	maps.Copy(values, sec.springProperties())
	props := framework.NewProperties(values)
	logger := zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel))
	a := &App{broker: b, bootstrap: bootstrap}
	all := append([]fx.Option{
		framework.Module(framework.WithProperties(props), framework.WithLogger(logger)),
		fx.Populate(&a.registry),
	}, opts...)
	a.App = fxtest.New(t, all...)
	a.RequireStart()
	t.Cleanup(func() { a.RequireStop() })
	return a
}

// AppProperties sets configuration keys of a test app (Spring Boot's names,
// e.g. "spring.kafka.listener.ack-mode": "MANUAL"), over the test defaults
// of [NewApp]. Pass it once, among NewApp's options.
func AppProperties(values map[string]string) fx.Option {
	values = maps.Clone(values)
	return fx.Decorate(func(p *framework.Properties) *framework.Properties {
		merged := map[string]string{}
		for _, k := range p.Keys() {
			merged[k], _ = p.Get(k)
		}
		maps.Copy(merged, values)
		return framework.NewProperties(merged)
	})
}

// Broker returns the broker the app talks to; nil for an app started on a
// [Cluster].
func (a *App) Broker() *Broker { return a.broker }

// Bootstrap returns the app's spring.kafka.bootstrap-servers.
func (a *App) Bootstrap() string { return a.bootstrap }

// Registry returns the app's listener registry.
func (a *App) Registry() *listener.Registry { return a.registry }

// Container returns the listener container with the given id and fails the
// test, listing the ids there are, if there is none.
func (a *App) Container(t testing.TB, id string) *listener.Container {
	t.Helper()
	c, ok := a.registry.Container(id)
	if !ok {
		var ids []string
		for _, c := range a.registry.Containers() {
			ids = append(ids, c.ID())
		}
		t.Fatalf("testkit: the app has no listener container %q (it has %q)", id, ids)
	}
	return c
}

// WaitForAssignment waits until the listener container id has partitions
// partitions assigned; see the function [WaitForAssignment].
func (a *App) WaitForAssignment(t testing.TB, id string, partitions int) {
	t.Helper()
	WaitForAssignment(t, a.Container(t, id), partitions)
}
