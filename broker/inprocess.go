package broker

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Cluster is a cluster of brokers in one process, on loopback, for tests
// and examples: node ids 1..n, each with its own log directory, client
// listener and controller listener, all voters of the metadata quorum.
// Brokers can be stopped, killed (no clean shutdown) and restarted on the
// same data and ports, and the [Network] between them can be cut. Methods
// are safe for concurrent use.
type Cluster struct {
	base   Config
	dir    string
	opts   []Option
	net    *Network
	client map[int32]string // client listener address of each broker
	ctrl   map[int32]string // controller listener address

	mu      sync.Mutex
	brokers map[int32]*Broker // nil while down
}

// NewCluster starts n brokers. base is every broker's configuration but for
// node.id, log.dirs and controller.quorum.voters, which the cluster sets,
// and listeners: each broker gets a client listener (named after
// inter.broker.listener.name, default PLAINTEXT) and a CONTROLLER one on
// ports the cluster picks, plus the listeners of base.Listeners of other
// names but PLAINTEXT (port 0: a free one); dir holds the brokers' data (dir/broker-<id>). It returns
// once every broker has joined the cluster, or ctx ends.
func NewCluster(ctx context.Context, n int, base Config, dir string, opts ...Option) (*Cluster, error) {
	if n < 1 {
		return nil, fmt.Errorf("broker: cluster of %d brokers", n)
	}
	c := &Cluster{base: base, dir: dir, opts: opts, net: newNetwork(),
		client: map[int32]string{}, ctrl: map[int32]string{}, brokers: map[int32]*Broker{}}
	lns := map[int32][2]net.Listener{}
	closeAll := func() {
		for _, l := range lns {
			for _, ln := range l {
				if ln != nil {
					ln.Close()
				}
			}
		}
	}
	var voters []string
	for id := int32(1); id <= int32(n); id++ {
		var pair [2]net.Listener
		for i := range pair {
			if i == 1 && n == 1 {
				break // a lone voter needs no controller listener
			}
			var lc net.ListenConfig
			ln, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
			if err != nil {
				closeAll()
				return nil, fmt.Errorf("broker: cluster: %w", err)
			}
			pair[i] = ln
		}
		lns[id] = pair
		c.client[id] = pair[0].Addr().String()
		c.net.add(c.client[id], id)
		if pair[1] != nil {
			c.ctrl[id] = pair[1].Addr().String()
			c.net.add(c.ctrl[id], id)
			voters = append(voters, fmt.Sprintf("%d@%s", id, c.ctrl[id]))
		}
	}
	c.base.ControllerQuorumVoters = voters
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for id := int32(1); id <= int32(n); id++ {
		wg.Go(func() { errs <- c.start(ctx, id, lns[id][0], lns[id][1]) })
	}
	wg.Wait()
	close(errs)
	var all []error
	for err := range errs {
		if err != nil {
			all = append(all, err)
		}
	}
	if len(all) > 0 {
		_ = c.Close(context.Background())
		return nil, errors.Join(all...)
	}
	return c, nil
}

// config returns broker id's configuration.
func (c *Cluster) config(id int32) Config {
	cfg := c.base
	cfg.NodeID = id
	cfg.LogDirs = []string{filepath.Join(c.dir, "broker-"+strconv.Itoa(int(id)))}
	// The client listener is the inter-broker one: named by
	// inter.broker.listener.name (and secured as
	// listener.security.protocol.map says), else PLAINTEXT.
	name := cmp.Or(c.base.Security.InterBrokerListenerName, "PLAINTEXT")
	cfg.Listeners = []string{name + "://" + c.client[id]}
	// Further client listeners of base (e.g. SSL://127.0.0.1:0) are bound
	// by each broker; the cluster's links stay on the first. A PLAINTEXT
	// one is taken for DefaultConfig's and left out.
	for _, l := range c.base.Listeners {
		n, _, _ := strings.Cut(l, "://")
		if !slices.ContainsFunc([]string{name, "CONTROLLER", "PLAINTEXT"}, func(s string) bool { return strings.EqualFold(s, n) }) {
			cfg.Listeners = append(cfg.Listeners, l)
		}
	}
	if a, ok := c.ctrl[id]; ok {
		cfg.Listeners = append(cfg.Listeners, "CONTROLLER://"+a)
		cfg.ControllerListenerNames = []string{"CONTROLLER"}
	}
	cfg.AdvertisedListeners = nil
	return cfg
}

// start starts broker id on the given listeners (nil: bind its addresses
// again, after a restart).
func (c *Cluster) start(ctx context.Context, id int32, client, ctrl net.Listener) error {
	opts := append(slices.Clone(c.opts), WithDialer(c.net.dialer(id)), func(o *options) {
		o.client, o.ctrl = client, ctrl
	})
	b, err := New(c.config(id), opts...)
	if err != nil {
		if client != nil {
			client.Close()
		}
		if ctrl != nil {
			ctrl.Close()
		}
		return fmt.Errorf("broker %d: %w", id, err)
	}
	if err := b.Start(ctx); err != nil {
		_ = b.Close(context.Background())
		return fmt.Errorf("broker %d: %w", id, err)
	}
	c.mu.Lock()
	c.brokers[id] = b
	c.mu.Unlock()
	return nil
}

// IDs returns the brokers' node ids.
func (c *Cluster) IDs() []int32 {
	ids := make([]int32, 0, len(c.client))
	for id := range c.client {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// Addr returns broker id's client address, up or down.
func (c *Cluster) Addr(id int32) string { return c.client[id] }

// Bootstrap returns every broker's client address, comma-separated.
func (c *Cluster) Bootstrap() string {
	var out []string
	for _, id := range c.IDs() {
		out = append(out, c.client[id])
	}
	return strings.Join(out, ",")
}

// Network returns the network between the brokers.
func (c *Cluster) Network() *Network { return c.net }

// Broker returns broker id, or nil while it is down.
func (c *Cluster) Broker(id int32) *Broker {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.brokers[id]
}

func (c *Cluster) take(id int32) (*Broker, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.client[id]; !ok {
		return nil, fmt.Errorf("broker: cluster has no broker %d", id)
	}
	b := c.brokers[id]
	delete(c.brokers, id)
	return b, nil
}

// Stop closes broker id cleanly (a controlled shutdown first).
func (c *Cluster) Stop(ctx context.Context, id int32) error {
	b, err := c.take(id)
	if err != nil || b == nil {
		return err
	}
	return b.Close(ctx)
}

// Kill stops broker id as a crash would (see [Broker.Kill]).
func (c *Cluster) Kill(id int32) error {
	b, err := c.take(id)
	if err != nil || b == nil {
		return err
	}
	b.Kill()
	return nil
}

// Restart starts a stopped or killed broker again on its data and ports.
func (c *Cluster) Restart(ctx context.Context, id int32) error {
	c.mu.Lock()
	_, known := c.client[id]
	up := c.brokers[id] != nil
	c.mu.Unlock()
	switch {
	case !known:
		return fmt.Errorf("broker: cluster has no broker %d", id)
	case up:
		return fmt.Errorf("broker: broker %d is running", id)
	}
	return c.start(ctx, id, nil, nil)
}

// Close stops every running broker cleanly.
func (c *Cluster) Close(ctx context.Context) error {
	var errs []error
	for _, id := range c.IDs() {
		if err := c.Stop(ctx, id); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// freshest returns the running broker whose metadata is the most
// advanced: a broker cut off from the quorum keeps an old view.
func (c *Cluster) freshest() *Broker {
	var best *Broker
	for _, id := range c.IDs() {
		if b := c.Broker(id); b != nil && (best == nil || b.meta.State().Offset > best.meta.State().Offset) {
			best = b
		}
	}
	return best
}

// Leader returns the leader of a partition as the most up-to-date running
// broker's metadata has it, and whether one is known.
func (c *Cluster) Leader(topic string, partition int32) (int32, bool) {
	b := c.freshest()
	if b == nil {
		return -1, false
	}
	if t, ok := b.meta.State().Topics[topic]; ok {
		if p, ok := t.PartitionState(partition); ok && p.Leader >= 0 {
			return p.Leader, true
		}
	}
	return -1, false
}

// Controller returns the active controller's id, as the most up-to-date
// running broker sees it.
func (c *Cluster) Controller() (int32, bool) {
	b := c.freshest()
	if b == nil {
		return -1, false
	}
	return b.meta.Controller()
}

// SyncMetadata waits until every running broker has applied the metadata
// the most advanced of them has: after it, every broker knows of every
// topic created before the call.
func (c *Cluster) SyncMetadata(ctx context.Context) error {
	var running []*Broker
	var target uint64
	for _, id := range c.IDs() {
		if b := c.Broker(id); b != nil {
			running = append(running, b)
			target = max(target, b.meta.State().Offset)
		}
	}
	for _, b := range running {
		for {
			ch := b.meta.Changed()
			if b.meta.State().Offset >= target {
				break
			}
			select {
			case <-ch:
			case <-ctx.Done():
				return fmt.Errorf("broker %d: waiting for metadata offset %d: %w", b.cfg.NodeID, target, ctx.Err())
			}
		}
	}
	return nil
}
