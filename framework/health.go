package framework

import (
	"context"
	"errors"
	"fmt"

	"github.com/IBM/sarama"
	"go.uber.org/fx"

	"github.com/kspring/kspring/listener"
)

// Health reports whether the application's Kafka side is healthy, for a
// readiness or liveness endpoint: Spring Boot's KafkaHealthIndicator and
// the listener containers' state.
type Health struct {
	client   sarama.Client
	registry *listener.Registry
}

type healthParams struct {
	fx.In
	Client   sarama.Client
	Registry *listener.Registry
}

func newHealth(p healthParams) *Health { return &Health{client: p.Client, registry: p.Registry} }

// Check returns nil when the cluster answers a metadata request and every
// started listener container is running; otherwise an error saying what is
// wrong. It is safe for concurrent use; ctx bounds the check.
func (h *Health) Check(ctx context.Context) error {
	done := make(chan error, 1)
	go func() { done <- h.client.RefreshMetadata() }()
	var errs []error
	select {
	case err := <-done:
		if err != nil {
			errs = append(errs, fmt.Errorf("kafka cluster unreachable: %w", err))
		}
	case <-ctx.Done():
		errs = append(errs, fmt.Errorf("kafka cluster: %w", ctx.Err()))
	}
	if err := h.registry.Health(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
