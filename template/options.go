package template

import (
	"fmt"
	"reflect"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"

	"github.com/kspring/kspring/serde"
)

// Option configures a Template: code a user passes, such as serializers and
// hooks. Options that carry a type (serializers, listeners, interceptors) are
// checked against the template's K and V by New and Dial, which fail with
// ErrConfig on a mismatch.
type Option func(*options)

type options struct {
	keySer, valueSer any
	defaultTopic     string
	listeners        []any
	interceptors     []any
	logger           *zap.Logger
	observer         Observer
	name             string
	tracerProvider   trace.TracerProvider
	propagator       propagation.TextMapPropagator
	partitioner      Partitioner
	config           *Config
	allowNonTxn      *bool
}

// WithKeySerializer sets the key serializer. Default: serde.For[K]().
func WithKeySerializer[K any](s serde.Serializer[K]) Option {
	return func(o *options) { o.keySer = s }
}

// WithValueSerializer sets the value serializer. Default: serde.For[V]().
func WithValueSerializer[V any](s serde.Serializer[V]) Option {
	return func(o *options) { o.valueSer = s }
}

// WithDefaultTopic sets the topic of SendDefault, SendDefaultKey and of
// SendRecord with an empty Topic.
func WithDefaultTopic(topic string) Option {
	return func(o *options) { o.defaultTopic = topic }
}

// WithProducerListener adds a listener of every send's outcome. Listeners are
// called in the order added. Adding any replaces the default
// LoggingProducerListener; add that too to keep error logging.
func WithProducerListener[K, V any](l ProducerListener[K, V]) Option {
	return func(o *options) { o.listeners = append(o.listeners, l) }
}

// WithInterceptors adds producer interceptors, called in the order added.
func WithInterceptors[K, V any](is ...Interceptor[K, V]) Option {
	return func(o *options) {
		for _, i := range is {
			o.interceptors = append(o.interceptors, i)
		}
	}
}

// WithLogger sets the logger for the default listener and for recovered
// panics. Default: zap.L().
func WithLogger(l *zap.Logger) Option {
	return func(o *options) { o.logger = l }
}

// WithPartitioner overrides where records without an explicit partition go.
// Default: the Java-compatible placement described at NewPartitioner.
func WithPartitioner(p Partitioner) Option {
	return func(o *options) { o.partitioner = p }
}

// WithConfig gives New the template's own settings from c: buffer-memory,
// max-block-ms and delivery-timeout-ms. The producer settings in c reach
// sarama only through c.Sarama() when the client is built; Dial does both.
func WithConfig(c Config) Option {
	return func(o *options) { o.config = &c }
}

// WithAllowNonTransactional is Spring's KafkaTemplate.setAllowNonTransactional.
// kspring has no non-transactional sends on a transactional template (every
// send outside a transaction runs in one of its own), so true on a
// transactional template fails New with ErrConfig; false is the default.
func WithAllowNonTransactional(allow bool) Option {
	return func(o *options) { o.allowNonTxn = &allow }
}

// typed checks that v, set by an Option, has type T.
func typed[T any](what string, v any) (T, error) {
	t, ok := v.(T)
	if !ok {
		return t, fmt.Errorf("%w: %s %T is not a %v", ErrConfig, what, v, reflect.TypeFor[T]())
	}
	return t, nil
}
