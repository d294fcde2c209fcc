package framework

import (
	"context"
	"fmt"

	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/kspring/kspring/listener"
	"github.com/kspring/kspring/template"
)

const listenersGroup = `group:"kspring.listeners"`

// Listener registers listener endpoints. constructor is a function whose
// parameters fx injects and which returns a listener.Endpoint (and
// optionally an error), e.g.
//
//	framework.Listener(func(s *Billing) listener.Endpoint {
//		return listener.Listen("billing", s.OnOrder, listener.Topics("orders"))
//	})
//
// Use it as an fx option next to [Module], once per endpoint.
func Listener(constructor any) fx.Option {
	return fx.Provide(fx.Annotate(constructor, fx.ResultTags(listenersGroup)))
}

// endpointsChecked marks that every endpoint registered cleanly. The
// embedded broker depends on it, so bad listener configuration fails the
// application before anything is started that would need stopping (fx runs
// no stop hooks when construction fails).
type endpointsChecked struct{}

type checkParams struct {
	fx.In
	Config    Config
	Props     *Properties
	Endpoints []listener.Endpoint `group:"kspring.listeners"`
}

// checkEndpoints registers every endpoint with a registry that never starts:
// ids, topics and placeholders are checked without a connection.
func checkEndpoints(p checkParams) (*endpointsChecked, error) {
	r, err := listener.NewRegistry([]string{"unused:9092"}, p.Config.listenerConfig(),
		listener.WithLogger(zap.NewNop()), listener.WithPropertyResolver(p.Props.Get))
	if err != nil {
		return nil, fmt.Errorf("kspring: listener configuration: %w", err)
	}
	for _, ep := range p.Endpoints {
		if err := r.Register(ep); err != nil {
			return nil, fmt.Errorf("kspring: %w", err)
		}
	}
	return &endpointsChecked{}, nil
}

// listenerConfig maps spring.kafka.consumer/listener over the shared settings.
func (c Config) listenerConfig() listener.Config {
	cfg := listener.Config{Consumer: c.Consumer, Listener: c.Listener}
	if cfg.Consumer.ClientID == "" {
		cfg.Consumer.ClientID = c.ClientID
	}
	cfg.Consumer.Properties = mergeProps(c.Properties, cfg.Consumer.Properties)
	return cfg
}

type registryParams struct {
	fx.In
	Lifecycle fx.Lifecycle
	Config    Config
	Props     *Properties
	Bootstrap *Bootstrap
	Logger    *zap.Logger
	Topics    *TopicsReady
	Publisher *template.Template[[]byte, []byte]
	Endpoints []listener.Endpoint `group:"kspring.listeners"`
}

// newRegistry registers every endpoint (failing the application on bad
// configuration, naming the listener) and starts the containers after the
// declared topics exist. On stop it stops them first: records in hand are
// finished and committed before the templates close.
func newRegistry(p registryParams) (*listener.Registry, error) {
	r, err := listener.NewRegistry(p.Bootstrap.Servers, p.Config.listenerConfig(),
		listener.WithLogger(p.Logger.Named("listener")),
		listener.WithPropertyResolver(p.Props.Get),
		listener.WithReplyTemplate(p.Publisher),
		listener.WithDeadLetterPublisher(p.Publisher),
	)
	if err != nil {
		return nil, fmt.Errorf("kspring: listener registry: %w", err)
	}
	for _, ep := range p.Endpoints {
		if err := r.Register(ep); err != nil {
			return nil, fmt.Errorf("kspring: %w", err)
		}
	}
	p.Lifecycle.Append(fx.Hook{
		OnStart: func(ctx context.Context) error { return r.Start(ctx) },
		OnStop:  func(ctx context.Context) error { return r.Stop(ctx) },
	})
	return r, nil
}
