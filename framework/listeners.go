package framework

import (
	"context"
	"fmt"

	"github.com/IBM/sarama"
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

// listenerConfig maps spring.kafka.consumer/listener over the shared settings.
func (c Config) listenerConfig() listener.Config {
	cfg := listener.Config{Consumer: c.Consumer, Listener: c.Listener}
	if cfg.Consumer.ClientID == "" {
		cfg.Consumer.ClientID = c.ClientID
	}
	cfg.Consumer.Properties = mergeProps(c.Properties, cfg.Consumer.Properties)
	return cfg
}

// consumerBase returns the sarama config consumers start from when
// spring.kafka.consumer's security is not PLAINTEXT: Kafka's consumer
// defaults with TLS and SASL set. nil: the registry's own defaults.
func (c Config) consumerBase() (*sarama.Config, error) {
	s, err := parseSecurity(c.securityFor(consumerClient))
	if err != nil {
		return nil, fmt.Errorf("kspring: spring.kafka consumer: %w", err)
	}
	if s.protocol == "PLAINTEXT" || c.embedded() {
		return nil, nil
	}
	base, err := c.listenerConfig().Sarama()
	if err != nil {
		return nil, fmt.Errorf("kspring: spring.kafka.consumer: %w", err)
	}
	if err := c.applySecurity(base, consumerClient); err != nil {
		return nil, fmt.Errorf("kspring: %w", err)
	}
	return base, nil
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
	Obs       *observability
}

// newRegistry builds the registry; at start it registers every endpoint
// (failing the start on bad configuration, with the listener named, so fx
// rolls back what already started) and starts the containers, after the
// declared topics exist. On stop it stops them first: records in hand are
// finished and committed before the templates close.
func newRegistry(p registryParams) (*listener.Registry, error) {
	opts := []listener.RegistryOption{
		listener.WithLogger(p.Logger.Named("listener")),
		p.Obs.registryOption(),
		listener.WithPropertyResolver(p.Props.Get),
		listener.WithReplyTemplate(p.Publisher),
		listener.WithDeadLetterPublisher(p.Publisher),
	}
	base, err := p.Config.consumerBase()
	if err != nil {
		return nil, err
	}
	if base != nil {
		opts = append(opts, listener.WithSaramaConfig(base))
	}
	if p.Publisher.IsTransactional() {
		// Spring Boot puts a KafkaTransactionManager on the container
		// factory once spring.kafka.producer.transaction-id-prefix is set.
		// The template of bytes runs the transactions: dead letters and
		// replies go through it, and the application's transactional
		// templates join its transactions.
		opts = append(opts, listener.WithTransactionManager(p.Publisher))
	}
	r, err := listener.NewRegistry(p.Bootstrap.Servers, p.Config.listenerConfig(), opts...)
	if err != nil {
		return nil, fmt.Errorf("kspring: listener registry: %w", err)
	}
	if err := p.Obs.registryCreated(r); err != nil {
		return nil, err
	}
	p.Lifecycle.Append(fx.Hook{
		OnStart: func(ctx context.Context) error {
			for _, ep := range p.Endpoints {
				if err := r.Register(ep); err != nil {
					return fmt.Errorf("kspring: %w", err)
				}
			}
			return r.Start(ctx)
		},
		OnStop: func(ctx context.Context) error { return r.Stop(ctx) },
	})
	return r, nil
}
