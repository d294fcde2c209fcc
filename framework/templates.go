package framework

import (
	"context"
	"fmt"

	"github.com/IBM/sarama"
	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/kspring/kspring/listener"
	"github.com/kspring/kspring/serde"
	"github.com/kspring/kspring/template"
)

type templateParams struct {
	fx.In
	Lifecycle fx.Lifecycle
	Config    Config
	Client    sarama.Client
	Logger    *zap.Logger
	Obs       *observability
}

// newTemplate builds a template over the shared client with the configured
// default topic; it is flushed and closed on stop, after the listeners.
func newTemplate[K, V any](p templateParams, opts ...template.Option) (*template.Template[K, V], error) {
	base := []template.Option{
		template.WithConfig(p.Config.Producer),
		template.WithLogger(p.Logger.Named("template")),
	}
	if t := p.Config.Template.DefaultTopic; t != "" {
		base = append(base, template.WithDefaultTopic(t))
	}
	base = append(base, p.Obs.templateOptions(templateName[K, V]())...)
	t, err := template.New[K, V](p.Client, append(base, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("kspring: template: %w", err)
	}
	p.Lifecycle.Append(fx.StopHook(func(ctx context.Context) error {
		return t.Close(ctx)
	}))
	return t, nil
}

// newStringTemplate is the default template, as Spring Boot's default
// KafkaTemplate uses String serializers.
func newStringTemplate(p templateParams) (*template.Template[string, string], error) {
	return newTemplate[string, string](p,
		template.WithKeySerializer[string](serde.String{}),
		template.WithValueSerializer[string](serde.String{}))
}

// newBytesTemplate sends raw bytes; the listener registry publishes replies
// and dead letters through it.
func newBytesTemplate(p templateParams) (*template.Template[[]byte, []byte], error) {
	return newTemplate[[]byte, []byte](p,
		template.WithKeySerializer[[]byte](serde.Bytes{}),
		template.WithValueSerializer[[]byte](serde.Bytes{}))
}

// ProvideTemplate provides a *template.Template[K, V] built from the
// configuration and the shared client, with opts (serializers, listeners,
// interceptors) applied after the configured ones. Use it as an fx option
// next to [Module], once per K, V pair.
func ProvideTemplate[K, V any](opts ...template.Option) fx.Option {
	return fx.Provide(func(p templateParams) (*template.Template[K, V], error) {
		return newTemplate[K, V](p, opts...)
	})
}

// ProvideReplyingTemplate provides a *listener.ReplyingTemplate[K, V, R]:
// Spring's ReplyingKafkaTemplate. It sends with the *template.Template[K, V]
// that must also be provided (see [ProvideTemplate]) and reads replies from
// replyTopic, which should be declared with [Topic]. It starts after the
// declared topics exist and closes before the templates.
func ProvideReplyingTemplate[K, V, R any](replyTopic string, opts ...listener.ReplyingOption) fx.Option {
	return fx.Provide(func(lc fx.Lifecycle, t *template.Template[K, V], b *Bootstrap, _ *TopicsReady) (*listener.ReplyingTemplate[K, V, R], error) {
		rt, err := listener.NewReplyingTemplate[K, V, R](t, b.Servers, replyTopic, opts...)
		if err != nil {
			return nil, fmt.Errorf("kspring: replying template: %w", err)
		}
		lc.Append(fx.Hook{OnStart: rt.Start, OnStop: rt.Close})
		return rt, nil
	})
}
