// Package target starts the brokers the benchmarks drive: kspring's broker,
// persisting to a directory, and franz-go's in-memory kfake cluster as the
// peer. Both come up with one topic of a given partition count already
// created, listening on 127.0.0.1 with an ephemeral port, either in the
// calling process or in a child process of their own ([Spawn]).
//
// Start from [Start] with a [Spec]; it returns a [*Target]. A binary that
// spawns targets calls [IsChild] and [RunChild] first thing in main or
// TestMain. A Target is safe for concurrent use by clients; Close must be
// called once, after every client using it has been closed.
package target

import (
	"context"
	"errors"
	"fmt"
	"time"

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
	// cpu, set for a target in a child process, returns the child's CPU
	// time so far.
	cpu func(context.Context) (time.Duration, error)
}

// CPU returns the CPU time (user + system) the target has used so far, and
// false when it runs in this process, where its time cannot be told apart
// from the caller's.
func (t *Target) CPU(ctx context.Context) (time.Duration, bool, error) {
	if t.cpu == nil {
		return 0, false, nil
	}
	d, err := t.cpu(ctx)
	if err != nil {
		return 0, false, fmt.Errorf("target %s: cpu: %w", t.Name, err)
	}
	return d, true, nil
}

// Close stops the broker. ctx bounds kspring's clean shutdown (flushing logs).
func (t *Target) Close(ctx context.Context) error {
	if err := t.close(ctx); err != nil {
		return fmt.Errorf("target %s: close: %w", t.Name, err)
	}
	return nil
}

// Kspring starts kspring's broker with its log in dir (which the caller owns
// and removes) and creates topic with the given number of partitions.
// properties, Kafka-named broker properties such as
// "group.initial.rebalance.delay.ms", are set over the defaults.
func Kspring(ctx context.Context, dir, topic string, partitions int32, properties map[string]string) (*Target, error) {
	cfg := broker.DefaultConfig()
	cfg.Listeners = []string{"PLAINTEXT://127.0.0.1:0"}
	cfg.LogDirs = []string{dir}
	for k, v := range properties {
		if err := cfg.Set(k, v); err != nil {
			return nil, fmt.Errorf("target kspring: %w", err)
		}
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

// Spec says which target to start and how.
type Spec struct {
	// Name is NameKspring or NameKfake.
	Name string
	// Dir holds kspring's log; the caller owns and removes it. kfake
	// ignores it.
	Dir string
	// Topic is created with Partitions partitions.
	Topic      string
	Partitions int32
	// Properties are kspring broker properties set over the defaults (see
	// [Kspring]); kfake ignores them.
	Properties map[string]string
	// Process runs the target in a child process of its own, the way a
	// broker runs in production, rather than in the caller's (see [Spawn]).
	Process bool
}

// Start starts the target spec names, in this process or in a child.
func Start(ctx context.Context, spec Spec) (*Target, error) {
	if spec.Process {
		return Spawn(ctx, spec)
	}
	return startHere(ctx, spec)
}

func startHere(ctx context.Context, spec Spec) (*Target, error) {
	switch spec.Name {
	case NameKspring:
		return Kspring(ctx, spec.Dir, spec.Topic, spec.Partitions, spec.Properties)
	case NameKfake:
		return Kfake(spec.Topic, spec.Partitions)
	default:
		return nil, fmt.Errorf("target %q: unknown (want %s or %s)", spec.Name, NameKspring, NameKfake)
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
