package target

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/kspring/kspring/broker"
)

// KspringCluster starts spec.Brokers kspring brokers (default 3) in this
// process with broker.NewCluster, each with its log under spec.Dir and
// spec.Properties set over Kafka's defaults, and creates spec.Topic with
// spec.Partitions partitions of spec.ReplicationFactor replicas (default 1)
// and spec.TopicConfigs. It returns once every partition has a leader and
// every broker knows the topic.
func KspringCluster(ctx context.Context, spec Spec) (*Target, error) {
	n := spec.Brokers
	if n == 0 {
		n = 3
	}
	rf := spec.ReplicationFactor
	if rf == 0 {
		rf = 1
	}
	cfg := broker.DefaultConfig()
	for k, v := range spec.Properties {
		if err := cfg.Set(k, v); err != nil {
			return nil, fmt.Errorf("target %s: %w", NameKspringCluster, err)
		}
	}
	c, err := broker.NewCluster(ctx, n, cfg, spec.Dir)
	if err != nil {
		return nil, fmt.Errorf("target %s: %w", NameKspringCluster, err)
	}
	fail := func(err error) (*Target, error) {
		cctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		return nil, errors.Join(fmt.Errorf("target %s: %w", NameKspringCluster, err), c.Close(cctx))
	}
	if err := createTopicRF(ctx, c.Bootstrap(), spec.Topic, spec.Partitions, rf, spec.TopicConfigs); err != nil {
		return fail(err)
	}
	for p := range spec.Partitions {
		for {
			if _, ok := c.Leader(spec.Topic, p); ok {
				break
			}
			select {
			case <-time.After(10 * time.Millisecond):
			case <-ctx.Done():
				return fail(fmt.Errorf("partition %s-%d has no leader: %w", spec.Topic, p, ctx.Err()))
			}
		}
	}
	if err := c.SyncMetadata(ctx); err != nil {
		return fail(err)
	}
	return &Target{Name: NameKspringCluster, Addr: c.Bootstrap(), close: c.Close, control: clusterControl(c)}, nil
}

// clusterControl returns the function that carries out a control line on
// c; a cluster in a child process receives the same lines on stdin. The
// lines: "kill <id>", "restart <id>", "leader <topic> <partition>" and
// "controller"; the answer is empty or a node id (-1: none).
func clusterControl(c *broker.Cluster) func(context.Context, string) (string, error) {
	return func(ctx context.Context, line string) (string, error) {
		f := strings.Fields(line)
		if len(f) == 0 {
			return "", errors.New("empty control line")
		}
		id := func(i int) (int32, error) {
			if len(f) <= i {
				return 0, fmt.Errorf("%q: missing argument", line)
			}
			v, err := strconv.ParseInt(f[i], 10, 32)
			return int32(v), err
		}
		switch f[0] {
		case "kill":
			b, err := id(1)
			if err == nil {
				err = c.Kill(b)
			}
			return "", err
		case "restart":
			b, err := id(1)
			if err == nil {
				err = c.Restart(ctx, b)
			}
			return "", err
		case "leader":
			p, err := id(2)
			if err != nil {
				return "", err
			}
			l, _ := c.Leader(f[1], p) // -1 when it has none
			return strconv.Itoa(int(l)), nil
		case "controller":
			l, ok := c.Controller()
			if !ok {
				l = -1
			}
			return strconv.Itoa(int(l)), nil
		}
		return "", fmt.Errorf("unknown control line %q", line)
	}
}
