package listener

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/IBM/sarama"
	"go.uber.org/zap"
)

// Registry holds the containers of an application, as Spring's
// KafkaListenerEndpointRegistry: Register turns endpoints into containers,
// Start and Stop run them, and containers can be looked up by id to start,
// stop, pause, resume or seek at run time. Endpoints may be registered and
// unregistered after Start.
//
// A Registry is safe for concurrent use.
type Registry struct {
	brokers   []string
	cfg       Config
	container containerSettings
	base      *sarama.Config
	log       *zap.Logger
	resolve   PropertyResolver
	replies   Sender
	txm       TransactionManager
	dlt       Sender
	handler   ErrorHandler
	obs       observation

	mu         sync.Mutex
	containers map[string]*Container
	order      []string
	started    bool
}

// RegistryOption configures a Registry: code a user passes.
type RegistryOption func(*Registry)

// WithLogger sets the logger of the registry and its containers. Default zap.L().
func WithLogger(l *zap.Logger) RegistryOption {
	return func(r *Registry) { r.log = l }
}

// WithSaramaConfig sets the sarama config consumers start from (TLS, SASL,
// version, ...). Settings given in Config or endpoint properties override
// it; auto-commit is always turned off and Consumer.Return.Errors on. The
// config is copied, not changed.
func WithSaramaConfig(c *sarama.Config) RegistryOption {
	return func(r *Registry) { r.base = c }
}

// WithPropertyResolver sets how ${property} placeholders in endpoint options
// are resolved. Without one, only placeholders with a default resolve.
func WithPropertyResolver(fn PropertyResolver) RegistryOption {
	return func(r *Registry) { r.resolve = fn }
}

// WithTransactionManager runs every container's records in transactions of
// tm (Spring's container factory with a KafkaTransactionManager); see
// TransactionManager. An endpoint may override it with Transactions or
// NoTransactions.
func WithTransactionManager(tm TransactionManager) RegistryOption {
	return func(r *Registry) { r.txm = tm }
}

// WithReplyTemplate sets the sender of ListenReply results.
func WithReplyTemplate(s Sender) RegistryOption {
	return func(r *Registry) { r.replies = s }
}

// WithDeadLetterPublisher sets the sender of dead letters and retry-topic
// records. With it, the default error handler dead-letters records to
// "<topic>-dlt" once their deliveries are exhausted, instead of logging and
// skipping them.
func WithDeadLetterPublisher(s Sender) RegistryOption {
	return func(r *Registry) { r.dlt = s }
}

// WithDefaultErrorHandler sets the error handler of endpoints that set
// none. Default: a DefaultErrorHandler (ten deliveries, then a
// DeadLetterRecoverer if WithDeadLetterPublisher is set, else
// LoggingRecoverer).
func WithDefaultErrorHandler(h ErrorHandler) RegistryOption {
	return func(r *Registry) { r.handler = h }
}

// NewRegistry returns a registry for the cluster at brokers. It checks cfg
// but does not connect: containers connect when they start.
func NewRegistry(brokers []string, cfg Config, opts ...RegistryOption) (*Registry, error) {
	r := &Registry{brokers: slices.Clone(brokers), cfg: cfg, containers: map[string]*Container{}}
	for _, o := range opts {
		o(r)
	}
	if r.log == nil {
		r.log = zap.L()
	}
	r.obs.init()
	if len(r.brokers) == 0 {
		return nil, fmt.Errorf("%w: no bootstrap servers", ErrConfig)
	}
	var err error
	if r.container, err = cfg.Listener.resolve(); err != nil {
		return nil, err
	}
	if _, err := resolveConsumer(cfg.Consumer.props()); err != nil {
		return nil, err
	}
	if r.handler == nil {
		eopts := []ErrorHandlerOption{ErrorHandlerLogger(r.log)}
		if r.dlt != nil {
			eopts = append(eopts, WithRecoverer(NewDeadLetterRecoverer(r.dlt)))
		}
		r.handler = NewDefaultErrorHandler(eopts...)
	}
	return r, nil
}

// Register checks ep and adds its container. It fails with an error naming
// the listener when the endpoint has no topics, its id is taken, a
// placeholder does not resolve, or an option does not fit the handler. If
// the registry has started and the endpoint's auto-startup is on, the
// container starts before Register returns.
func (r *Registry) Register(ep Endpoint) error {
	c, err := newContainer(r, ep)
	if err != nil {
		return err
	}
	r.mu.Lock()
	if _, dup := r.containers[c.id]; dup {
		r.mu.Unlock()
		return fmt.Errorf("listener %q: %w", c.id, ErrDuplicateID)
	}
	r.containers[c.id] = c
	r.order = append(r.order, c.id)
	start := r.started && c.autoStartup
	r.mu.Unlock()
	if start {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := c.Start(ctx); err != nil {
			return err
		}
	}
	return nil
}

// Unregister stops the container of id (gracefully, bounded by ctx) and
// removes it.
func (r *Registry) Unregister(ctx context.Context, id string) error {
	r.mu.Lock()
	c, ok := r.containers[id]
	if ok {
		delete(r.containers, id)
		r.order = slices.DeleteFunc(r.order, func(s string) bool { return s == id })
	}
	r.mu.Unlock()
	if !ok {
		return fmt.Errorf("listener %q: %w", id, ErrUnknownListener)
	}
	return c.Stop(ctx)
}

// Start starts every container whose auto-startup is on, in registration
// order. If one fails to start, the ones started are stopped and the error
// returned. Containers registered later start as they register.
func (r *Registry) Start(ctx context.Context) error {
	r.mu.Lock()
	r.started = true
	cs := r.containersLocked()
	r.mu.Unlock()
	var started []*Container
	for _, c := range cs {
		if !c.autoStartup {
			continue
		}
		if err := c.Start(ctx); err != nil {
			stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer cancel()
			for _, s := range started {
				_ = s.Stop(stopCtx)
			}
			r.mu.Lock()
			r.started = false
			r.mu.Unlock()
			return err
		}
		started = append(started, c)
	}
	return nil
}

// Stop stops every running container at once and waits for them: each
// finishes the record (or batch) in hand, commits what was processed and
// leaves its group. If ctx ends first, handlers' contexts are cancelled and
// Stop returns ctx's error.
func (r *Registry) Stop(ctx context.Context) error {
	r.mu.Lock()
	r.started = false
	cs := r.containersLocked()
	r.mu.Unlock()
	errs := make([]error, len(cs))
	var wg sync.WaitGroup
	for i, c := range cs {
		wg.Go(func() { errs[i] = c.Stop(ctx) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Container returns the container of the endpoint id.
func (r *Registry) Container(id string) (*Container, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c, ok := r.containers[id]
	return c, ok
}

// Containers returns the containers in registration order.
func (r *Registry) Containers() []*Container {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.containersLocked()
}

func (r *Registry) containersLocked() []*Container {
	out := make([]*Container, 0, len(r.order))
	for _, id := range r.order {
		out = append(out, r.containers[id])
	}
	return out
}

// Health returns nil when every container that was started is running and
// each of its consumers is in its group (or, for explicit partitions,
// consuming); otherwise an error naming the containers and why.
func (r *Registry) Health() error {
	var errs []error
	for _, c := range r.Containers() {
		if err := c.Health(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
