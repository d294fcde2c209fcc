package framework

import (
	"context"
	"fmt"
	"os"
	"time"

	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/kspring/kspring/broker"
)

// Bootstrap is where the application's Kafka is: the configured bootstrap
// servers, or the bundled broker started in-process when none are.
type Bootstrap struct {
	Servers []string
	// Embedded is the in-process broker, nil with an external cluster.
	Embedded *broker.Broker
	// DataDir is where the embedded broker keeps its data.
	DataDir string
}

type bootstrapParams struct {
	fx.In
	Lifecycle fx.Lifecycle
	Config    Config
	Logger    *zap.Logger
}

// newBootstrap returns the configured servers, or starts the bundled broker.
// The broker is started here rather than in a start hook because everything
// that connects to Kafka needs its address; it is closed after everything
// else has stopped. (If a later constructor fails, fx.New returns an error
// and runs no stop hooks; the application is then expected to exit.)
func newBootstrap(p bootstrapParams) (*Bootstrap, error) {
	if len(p.Config.BootstrapServers) > 0 {
		return &Bootstrap{Servers: p.Config.BootstrapServers}, nil
	}
	e := p.Config.Embedded
	dir, temp := e.LogDir, false
	if dir == "" {
		d, err := os.MkdirTemp("", "kspring-embedded-")
		if err != nil {
			return nil, fmt.Errorf("kspring: embedded broker: %w", err)
		}
		dir, temp = d, true
	}
	cfg := broker.DefaultConfig()
	cfg.LogDirs = []string{dir}
	cfg.Listeners = []string{"PLAINTEXT://127.0.0.1:0"}
	if e.Listener != "" {
		cfg.Listeners = []string{e.Listener}
	}
	// An application's own broker: rebalance at once, as in tests.
	cfg.GroupInitialRebalanceDelayMs = time.Millisecond
	cfg.OffsetsTopicNumPartitions = 10
	for k, v := range e.Properties {
		if err := cfg.Set(k, v); err != nil {
			return nil, fmt.Errorf("kspring: spring.kafka.embedded.properties: %w", err)
		}
	}
	logger := p.Logger.Named("broker")
	b, err := broker.New(cfg, broker.WithLogger(logger.WithOptions(zap.IncreaseLevel(zap.WarnLevel))))
	if err != nil {
		return nil, fmt.Errorf("kspring: embedded broker: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := b.Start(ctx); err != nil {
		_ = b.Close(context.Background())
		return nil, fmt.Errorf("kspring: embedded broker: %w", err)
	}
	logger.Info("no spring.kafka.bootstrap-servers configured: started the embedded kspring broker",
		zap.String("bootstrap", b.Addr()), zap.String("data", dir))
	p.Lifecycle.Append(fx.StopHook(func(ctx context.Context) error {
		err := b.Close(ctx)
		if temp {
			if rmErr := os.RemoveAll(dir); rmErr != nil && err == nil {
				err = rmErr
			}
		}
		return err
	}))
	return &Bootstrap{Servers: []string{b.Addr()}, Embedded: b, DataDir: dir}, nil
}
