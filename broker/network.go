package broker

import (
	"context"
	"fmt"
	"net"
	"sync"
)

// Network connects the brokers of an in-process [Cluster] and can cut the
// links between them, for tests of network partitions. Every connection a
// broker opens to another (the metadata quorum, replica fetches, requests
// to the controller) goes through it; clients' connections do not. Safe
// for concurrent use.
type Network struct {
	mu      sync.Mutex
	owner   map[string]int32 // broker address (client or controller listener) to id
	blocked map[[2]int32]bool
	conns   map[[2]int32]map[net.Conn]struct{}
	reroute map[string]string // address to the one dialled instead
}

func newNetwork() *Network {
	return &Network{owner: map[string]int32{}, blocked: map[[2]int32]bool{},
		conns: map[[2]int32]map[net.Conn]struct{}{}, reroute: map[string]string{}}
}

// Redirect makes the connections brokers open to addr from now on reach to
// instead, as when a broker is dead and its port has been taken by a
// broker of another cluster; to "" undoes it. Connections already open
// are left alone (kill the broker at addr to close them), and redirected
// ones are outside the cluster: Partition does not cut them.
func (n *Network) Redirect(addr, to string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if to == "" {
		delete(n.reroute, addr)
		return
	}
	n.reroute[addr] = to
}

func link(a, b int32) [2]int32 {
	if a > b {
		a, b = b, a
	}
	return [2]int32{a, b}
}

// add records that addr belongs to broker id.
func (n *Network) add(addr string, id int32) {
	n.mu.Lock()
	n.owner[addr] = id
	n.mu.Unlock()
}

// Partition cuts the link between brokers a and b both ways: open
// connections between them are closed and new ones are refused.
func (n *Network) Partition(a, b int32) {
	n.mu.Lock()
	l := link(a, b)
	n.blocked[l] = true
	conns := n.conns[l]
	delete(n.conns, l)
	n.mu.Unlock()
	for c := range conns {
		c.Close()
	}
}

// Isolate cuts every link of broker id to the brokers in others.
func (n *Network) Isolate(id int32, others ...int32) {
	for _, o := range others {
		if o != id {
			n.Partition(id, o)
		}
	}
}

// Heal restores every link.
func (n *Network) Heal() {
	n.mu.Lock()
	n.blocked = map[[2]int32]bool{}
	n.mu.Unlock()
}

// dialer returns the dialer of broker from.
func (n *Network) dialer(from int32) func(ctx context.Context, addr string) (net.Conn, error) {
	return func(ctx context.Context, addr string) (net.Conn, error) {
		n.mu.Lock()
		if r, ok := n.reroute[addr]; ok {
			n.mu.Unlock()
			var d net.Dialer
			return d.DialContext(ctx, "tcp", r)
		}
		to, known := n.owner[addr]
		l := link(from, to)
		blocked := known && n.blocked[l]
		n.mu.Unlock()
		if blocked {
			return nil, fmt.Errorf("dial %s: network partition between brokers %d and %d", addr, from, to)
		}
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil || !known {
			return c, err
		}
		tc := &trackedConn{Conn: c, n: n, l: l}
		n.mu.Lock()
		if n.blocked[l] { // cut while dialling
			n.mu.Unlock()
			c.Close()
			return nil, fmt.Errorf("dial %s: network partition between brokers %d and %d", addr, from, to)
		}
		if n.conns[l] == nil {
			n.conns[l] = map[net.Conn]struct{}{}
		}
		n.conns[l][tc] = struct{}{}
		n.mu.Unlock()
		return tc, nil
	}
}

// trackedConn leaves the Network's set when closed.
type trackedConn struct {
	net.Conn
	n    *Network
	l    [2]int32
	once sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.n.mu.Lock()
		delete(c.n.conns[c.l], c)
		c.n.mu.Unlock()
	})
	return c.Conn.Close()
}
