// Package target starts the brokers the benchmarks drive: kspring's broker,
// persisting to a directory; a kspring cluster of several brokers
// (broker.NewCluster, all in one process) for replication; and franz-go's
// in-memory kfake cluster as the peer. Each comes up with one topic of a
// given partition count (and, for the cluster, replication factor) already
// created, listening on 127.0.0.1 with ephemeral ports, either in the
// calling process or in a child process of its own ([Spawn]).
//
// Start from [Start] with a [Spec]; it returns a [*Target]. A binary that
// spawns targets calls [IsChild] and [RunChild] first thing in main or
// TestMain. A Target is safe for concurrent use by clients; Close must be
// called once, after every client using it has been closed. A cluster's
// brokers are killed and restarted through [Target.Kill] and
// [Target.Restart], wherever the cluster runs.
package target

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kspring/kspring/broker"
)

// Names of the targets, used as sub-benchmark names (target=<name>).
const (
	NameKspring        = "kspring"
	NameKfake          = "kfake"
	NameKspringCluster = "kspring-cluster"
)

// Target is a running broker with one topic created.
type Target struct {
	// Name is NameKspring, NameKfake or NameKspringCluster.
	Name string
	// Addr is the bootstrap address (host:port), for a cluster every
	// broker's, comma-separated ([Seeds] splits it).
	Addr string

	close func(context.Context) error
	// cpu, set for a target in a child process, returns the child's CPU
	// time so far.
	cpu func(context.Context) (time.Duration, error)
	// control, set for a cluster, carries out a control line (see
	// clusterControl) and returns its answer.
	control func(context.Context, string) (string, error)
}

// Seeds splits a Target's Addr into kgo's seed brokers.
func Seeds(addr string) []string { return strings.Split(addr, ",") }

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

// ErrNotCluster is returned by the control methods of a target that is not
// a cluster.
var ErrNotCluster = errors.New("not a cluster")

func (t *Target) ctl(ctx context.Context, line string) (string, error) {
	if t.control == nil {
		return "", fmt.Errorf("target %s: %s: %w", t.Name, line, ErrNotCluster)
	}
	v, err := t.control(ctx, line)
	if err != nil {
		return "", fmt.Errorf("target %s: %s: %w", t.Name, line, err)
	}
	return v, nil
}

// Kill stops a cluster's broker id as a crash would: no controlled
// shutdown, its connections cut (broker.Cluster.Kill).
func (t *Target) Kill(ctx context.Context, id int32) error {
	_, err := t.ctl(ctx, fmt.Sprintf("kill %d", id))
	return err
}

// Restart starts a cluster's killed broker again on its data and ports.
func (t *Target) Restart(ctx context.Context, id int32) error {
	_, err := t.ctl(ctx, fmt.Sprintf("restart %d", id))
	return err
}

// Leader returns the leader of a partition as the cluster's most
// up-to-date broker knows it, or -1 when it has none.
func (t *Target) Leader(ctx context.Context, topic string, partition int32) (int32, error) {
	return t.ctlID(ctx, fmt.Sprintf("leader %s %d", topic, partition))
}

// Controller returns the active controller's node id, or -1 when there is
// none.
func (t *Target) Controller(ctx context.Context) (int32, error) {
	return t.ctlID(ctx, "controller")
}

func (t *Target) ctlID(ctx context.Context, line string) (int32, error) {
	v, err := t.ctl(ctx, line)
	if err != nil {
		return -1, err
	}
	id, err := strconv.ParseInt(v, 10, 32)
	if err != nil {
		return -1, fmt.Errorf("target %s: %s: answer %q: %w", t.Name, line, v, err)
	}
	return int32(id), nil
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
	// Name is NameKspring, NameKfake or NameKspringCluster.
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
	// Brokers is the size of a kspring cluster (default 3), and
	// ReplicationFactor (default 1) and TopicConfigs (such as
	// "min.insync.replicas") are Topic's there. Only NameKspringCluster
	// reads them.
	Brokers           int
	ReplicationFactor int16
	TopicConfigs      map[string]string
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
	case NameKspringCluster:
		return KspringCluster(ctx, spec)
	default:
		return nil, fmt.Errorf("target %q: unknown (want %s, %s or %s)", spec.Name, NameKspring, NameKfake, NameKspringCluster)
	}
}

// createTopic creates topic over the wire, as any client would.
func createTopic(ctx context.Context, addr, topic string, partitions int32) error {
	return createTopicRF(ctx, addr, topic, partitions, 1, nil)
}

func createTopicRF(ctx context.Context, addr, topic string, partitions int32, rf int16, configs map[string]string) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers(Seeds(addr)...))
	if err != nil {
		return fmt.Errorf("create topic %q: client: %w", topic, err)
	}
	defer cl.Close()
	var cfg map[string]*string
	for k, v := range configs {
		if cfg == nil {
			cfg = map[string]*string{}
		}
		cfg[k] = &v
	}
	resp, err := kadm.NewClient(cl).CreateTopic(ctx, partitions, rf, cfg, topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		return fmt.Errorf("create topic %q: %w", topic, err)
	}
	return nil
}
