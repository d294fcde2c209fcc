// Package target starts the brokers the benchmarks drive: kspring's broker,
// in-process and persisting to a directory, and franz-go's in-memory kfake
// cluster as the peer. Both come up with one topic of a given partition count
// already created, listening on 127.0.0.1 with an ephemeral port.
//
// Start from [Kspring] and [Kfake]; both return a [*Target]. A Target is safe
// for concurrent use by clients; Close must be called once, after every client
// using it has been closed.
package target

import (
	"context"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kspring/kspring/broker"
)

// Names of the targets, used as sub-benchmark names (target=<name>).
const (
	NameKspring = "kspring"
	NameKfake   = "kfake"
)

// Target is a running broker with one topic created.
type Target struct {
	// Name is NameKspring or NameKfake.
	Name string
	// Addr is the bootstrap address (host:port).
	Addr string

	close func(context.Context) error
}

// Close stops the broker. ctx bounds kspring's clean shutdown (flushing logs).
func (t *Target) Close(ctx context.Context) error {
	if err := t.close(ctx); err != nil {
		return fmt.Errorf("target %s: close: %w", t.Name, err)
	}
	return nil
}

// Kspring starts kspring's broker with its log in dir (which the caller owns
// and removes) and creates topic with the given number of partitions. tune,
// if not nil, adjusts the configuration before the broker is created.
func Kspring(ctx context.Context, dir, topic string, partitions int32, tune func(*broker.Config)) (*Target, error) {
	cfg := broker.DefaultConfig()
	cfg.Listeners = []string{"PLAINTEXT://127.0.0.1:0"}
	cfg.LogDirs = []string{dir}
	if tune != nil {
		tune(&cfg)
	}
	b, err := broker.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("target kspring: %w", err)
	}
	if err := b.Start(ctx); err != nil {
		return nil, errors.Join(fmt.Errorf("target kspring: start: %w", err), b.Close(ctx))
	}
	t := &Target{Name: NameKspring, Addr: b.Addr(), close: b.Close}
	if err := createTopic(ctx, t.Addr, topic, partitions); err != nil {
		return nil, errors.Join(fmt.Errorf("target kspring: %w", err), b.Close(ctx))
	}
	return t, nil
}

// Kfake starts a one-broker kfake cluster, in memory, seeded with topic.
func Kfake(topic string, partitions int32) (*Target, error) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(partitions, topic))
	if err != nil {
		return nil, fmt.Errorf("target kfake: %w", err)
	}
	return &Target{
		Name: NameKfake,
		Addr: c.ListenAddrs()[0],
		close: func(context.Context) error {
			c.Close()
			return nil
		},
	}, nil
}

// Start starts the target called name (NameKspring or NameKfake); dir is only
// used by kspring.
func Start(ctx context.Context, name, dir, topic string, partitions int32) (*Target, error) {
	switch name {
	case NameKspring:
		return Kspring(ctx, dir, topic, partitions, nil)
	case NameKfake:
		return Kfake(topic, partitions)
	default:
		return nil, fmt.Errorf("target %q: unknown (want %s or %s)", name, NameKspring, NameKfake)
	}
}

// createTopic creates topic over the wire, as any client would.
func createTopic(ctx context.Context, addr, topic string, partitions int32) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		return fmt.Errorf("create topic %q: client: %w", topic, err)
	}
	defer cl.Close()
	resp, err := kadm.NewClient(cl).CreateTopic(ctx, partitions, 1, nil, topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		return fmt.Errorf("create topic %q: %w", topic, err)
	}
	return nil
}
