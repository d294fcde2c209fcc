package framework

import (
	"fmt"
	"reflect"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/fx"

	"github.com/kspring/kspring/listener"
	"github.com/kspring/kspring/observe"
	"github.com/kspring/kspring/template"
)

// Observability, as Spring Boot auto-configures Micrometer and tracing for
// Spring Kafka:
//
//   - Metrics: the module provides a *prometheus.Registry (the meter
//     registry, with Go's runtime and process collectors; register your own
//     collectors in it). When the prometheus endpoint is exposed
//     (management.endpoints.web.exposure.include), every template and the
//     listener containers record Spring Kafka's timers spring.kafka.template
//     and spring.kafka.listener there, and the containers' lag as
//     kafka_consumer_fetch_manager_records_lag (see package observe).
//   - Tracing: when the fx graph holds a trace.TracerProvider, templates
//     trace sends and write W3C traceparent headers, and listeners continue
//     the trace, as Spring Kafka with observationEnabled. Off with
//     management.tracing.enabled=false, or per side with
//     spring.kafka.template.observation-enabled=false and
//     spring.kafka.listener.observation-enabled=false.

// observability is what templates and the registry get from the module.
type observability struct {
	meters         *prometheus.Registry
	metrics        *observe.Metrics     // nil: metrics off
	templateTraces trace.TracerProvider // nil: tracing off
	listenerTraces trace.TracerProvider
}

type observabilityParams struct {
	fx.In
	Management     ManagementConfig
	Props          *Properties
	Meters         *prometheus.Registry
	TracerProvider trace.TracerProvider `optional:"true"`
}

// newMeterRegistry is the application's meter registry.
func newMeterRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

func newObservability(p observabilityParams) (*observability, error) {
	o := &observability{meters: p.Meters}
	if p.Management.exposed("prometheus") {
		m, err := observe.NewMetrics(p.Meters)
		if err != nil {
			return nil, fmt.Errorf("kspring: metrics: %w", err)
		}
		o.metrics = m
	}
	if p.TracerProvider == nil || (p.Management.Tracing.Enabled != nil && !*p.Management.Tracing.Enabled) {
		return o, nil
	}
	for _, side := range []struct {
		key string
		tp  *trace.TracerProvider
	}{
		{"spring.kafka.template.observation-enabled", &o.templateTraces},
		{"spring.kafka.listener.observation-enabled", &o.listenerTraces},
	} {
		on := true
		if v, ok, err := p.Props.Lookup(side.key); err != nil {
			return nil, fmt.Errorf("kspring: config: %w", err)
		} else if ok {
			if on, err = strconv.ParseBool(v); err != nil {
				return nil, fmt.Errorf("kspring: config: %s: %q is not a boolean", side.key, v)
			}
		}
		if on {
			*side.tp = p.TracerProvider
		}
	}
	return o, nil
}

// templateOptions are the observation options of a template named name.
func (o *observability) templateOptions(name string) []template.Option {
	opts := []template.Option{template.WithName(name)}
	if o.metrics != nil {
		opts = append(opts, template.WithObserver(o.metrics))
	}
	if o.templateTraces != nil {
		opts = append(opts, template.WithTracerProvider(o.templateTraces))
	}
	return opts
}

// registryOption is the listener registry's observation options, as one.
func (o *observability) registryOption() listener.RegistryOption {
	var opts []listener.RegistryOption
	if o.metrics != nil {
		opts = append(opts, listener.WithObserver(o.metrics))
	}
	if o.listenerTraces != nil {
		opts = append(opts, listener.WithTracerProvider(o.listenerTraces))
	}
	return func(r *listener.Registry) {
		for _, opt := range opts {
			opt(r)
		}
	}
}

// registryCreated exports the registry's lag once it exists.
func (o *observability) registryCreated(r *listener.Registry) error {
	if o.metrics == nil {
		return nil
	}
	if err := o.meters.Register(observe.NewLagCollector(r.Lag)); err != nil {
		return fmt.Errorf("kspring: metrics: %w", err)
	}
	return nil
}

// templateName names a module template in its metrics and spans: Spring
// Boot's bean name, kafkaTemplate, for the default Template[string,
// string], and kafkaTemplate<K,V> for the others. template.WithName in a
// template's own options overrides it.
func templateName[K, V any]() string {
	k, v := reflect.TypeFor[K]().String(), reflect.TypeFor[V]().String()
	if k == "string" && v == "string" {
		return "kafkaTemplate"
	}
	return "kafkaTemplate<" + k + "," + v + ">"
}
