package testkit

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/kspring/kspring/broker"
)

// testConfig is the broker configuration tests start from: Kafka's defaults
// with the waits a test would sit through removed. None changes what a
// client sees beyond timing and partition counts of internal topics.
func testConfig(dir string) broker.Config {
	cfg := broker.DefaultConfig()
	cfg.Listeners = []string{"PLAINTEXT://127.0.0.1:0"}
	cfg.LogDirs = []string{dir}
	cfg.GroupInitialRebalanceDelayMs = 0 // the first join completes at once
	cfg.OffsetsTopicNumPartitions = 1    // __consumer_offsets: 1 partition, not 50
	cfg.LogRetentionCheckIntervalMs = time.Second
	cfg.LogCleanerBackoffMs = time.Second // compacted topics are cleaned within seconds
	cfg.LogSegmentDeleteDelayMs = time.Millisecond
	return cfg
}

// node is one embedded broker that can be stopped, killed and started again
// on the same log directory and port.
type node struct {
	id     int32
	logger *zap.Logger

	mu   sync.Mutex
	cfg  broker.Config
	b    *broker.Broker // nil while down
	addr string         // host:port, fixed by the first start
}

func newNode(t testing.TB, id int32, o options) *node {
	t.Helper()
	cfg := testConfig(t.TempDir())
	cfg.NodeID = id
	for k, v := range o.props {
		if err := cfg.Set(k, v); err != nil {
			t.Fatalf("testkit: broker property %s=%s: %v", k, v, err)
		}
	}
	logger := zap.NewNop()
	if o.logs {
		logger = zaptest.NewLogger(t).With(zap.Int32("node.id", id))
	}
	n := &node{id: id, logger: logger, cfg: cfg}
	t.Cleanup(func() {
		if err := n.stop(); err != nil {
			t.Errorf("testkit: %v", err)
		}
	})
	return n
}

// start opens the logs and serves. After the first start the node keeps its
// port, so clients and the cluster's bootstrap list stay valid.
func (n *node) start() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.b != nil {
		return nil
	}
	b, err := broker.New(n.cfg, broker.WithLogger(n.logger))
	if err != nil {
		return fmt.Errorf("broker %d: %w", n.id, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), WaitTimeout)
	defer cancel()
	if err := b.Start(ctx); err != nil {
		_ = b.Close(ctx)
		return fmt.Errorf("broker %d: start on %v: %w", n.id, n.cfg.Listeners, err)
	}
	if n.addr == "" {
		n.addr = b.Addr()
		n.cfg.Listeners = []string{listenerWithAddr(n.cfg.Listeners[0], n.addr)}
	}
	n.b = b
	return nil
}

// stop closes the broker cleanly; a stopped node stays stopped.
func (n *node) stop() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.b == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), WaitTimeout)
	defer cancel()
	err := n.b.Close(ctx)
	n.b = nil
	if err != nil {
		return fmt.Errorf("broker %d: close: %w", n.id, err)
	}
	return nil
}

// kill stops the broker as a crash would: no clean-shutdown marker.
func (n *node) kill() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.b != nil {
		n.b.Kill()
		n.b = nil
	}
}

// server returns the running broker, or nil while the node is down.
func (n *node) server() *broker.Broker {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.b
}
