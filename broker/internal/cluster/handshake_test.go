package cluster

import (
	"context"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// quorum is three Nodes on loopback listeners; redirect sends its dials of
// one address to another, as when a dead voter's port is taken by someone
// else.
type quorum struct {
	nodes map[int32]*Node
	addrs map[int32]string
	logs  *observer.ObservedLogs

	mu       sync.Mutex
	redirect map[string]string
}

func startQuorum(t *testing.T) *quorum {
	t.Helper()
	core, logs := observer.New(zap.InfoLevel)
	q := &quorum{nodes: map[int32]*Node{}, addrs: map[int32]string{}, logs: logs, redirect: map[string]string{}}
	lns := map[int32]net.Listener{}
	for id := int32(1); id <= 3; id++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		lns[id], q.addrs[id] = ln, ln.Addr().String()
	}
	dir := t.TempDir()
	for id := int32(1); id <= 3; id++ {
		n, err := OpenNode(NodeConfig{
			NodeID: id, Voters: q.addrs, Listener: lns[id], Dial: q.dial,
			Dir:             filepath.Join(dir, strconv.Itoa(int(id))),
			ElectionTimeout: 200 * time.Millisecond, HeartbeatTimeout: 200 * time.Millisecond,
			Logger: zap.New(core).With(zap.Int32("node", id)),
		})
		require.NoError(t, err)
		q.nodes[id] = n
		t.Cleanup(func() { q.close(id) })
	}
	return q
}

// idOf returns the node id at addr, -1 if none of q.
func (q *quorum) idOf(addr string) int32 {
	for id, a := range q.addrs {
		if a == addr {
			return id
		}
	}
	return -1
}

func (q *quorum) dial(ctx context.Context, addr string) (net.Conn, error) {
	q.mu.Lock()
	if to, ok := q.redirect[addr]; ok {
		addr = to
	}
	q.mu.Unlock()
	var d net.Dialer
	return d.DialContext(ctx, "tcp", addr)
}

// close closes node id, once.
func (q *quorum) close(id int32) {
	q.mu.Lock()
	n := q.nodes[id]
	delete(q.nodes, id)
	q.mu.Unlock()
	if n != nil {
		_ = n.Close()
	}
}

// init sets the cluster id through the quorum's leader and waits until
// every node has applied it.
func (q *quorum) init(t *testing.T, id string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	wait := func(what string, done func() bool) {
		t.Helper()
		for !done() {
			select {
			case <-ctx.Done():
				t.Fatalf("cluster id %q: %s: %v", id, what, ctx.Err())
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
	wait("no controller set it", func() bool {
		for _, n := range q.nodes {
			if n.IsController() {
				if got, err := n.Init(ctx, id); err == nil {
					require.Equal(t, id, got)
					return true
				}
			}
		}
		return false
	})
	wait("not on every node", func() bool {
		for _, n := range q.nodes {
			if n.ClusterID() != id {
				return false
			}
		}
		return true
	})
}

// TestQuorumRefusesAnotherQuorumsNode: a voter of quorum X dies and a node
// of quorum Y (same node ids, as every kspring cluster has) is now at its
// address. X's survivors keep calling that address; the Y node must refuse
// them, not take X's leader and metadata log for its own (before the
// quorum handshake, raft took any leader with a higher term: Y's brokers
// saw X's cluster id and lost their own metadata).
func TestQuorumRefusesAnotherQuorumsNode(t *testing.T) {
	x, y := startQuorum(t), startQuorum(t)
	x.init(t, "cluster-x")
	y.init(t, "cluster-y")

	// X's voter 3 dies; its address now leads to Y's voter 3.
	x.close(3)
	x.mu.Lock()
	x.redirect[x.addrs[3]] = y.addrs[3]
	x.mu.Unlock()

	// X's leader calls voter 3 every heartbeat: wait until Y's voter 3 has
	// refused it three times, watching that it keeps Y's metadata meanwhile.
	stranger := y.nodes[3]
	deadline := time.Now().Add(20 * time.Second)
	for {
		refused := y.logs.FilterMessageSnippet("refused a connection from a node of another metadata quorum").Len()
		id := stranger.ClusterID()
		require.Equal(t, "cluster-y", id, "Y's voter 3 took another quorum's metadata after %d refusals", refused)
		if leader, _ := stranger.raft.LeaderWithID(); leader != "" {
			require.Contains(t, y.addrs, y.idOf(string(leader)), "Y's voter 3 follows %s, a node of X, after %d refusals", leader, refused)
		}
		if refused >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Y's voter 3 refused %d connections of X's nodes, want 3 (cluster id %q, controller %v)",
				refused, id, fmt.Sprint(stranger.Controller()))
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Both quorums still work on their own: each commits a write through
	// its own controller and every node of each keeps its cluster id.
	x.init(t, "cluster-x")
	y.init(t, "cluster-y")
	for _, n := range y.nodes {
		require.Equal(t, "cluster-y", n.ClusterID())
	}
	for _, n := range x.nodes {
		require.Equal(t, "cluster-x", n.ClusterID())
	}
}

// FuzzQuorumHello: a connection is let through to raft exactly when it
// opens with this quorum's hello, whatever else it sends.
func FuzzQuorumHello(f *testing.F) {
	voters := map[int32]string{1: "127.0.0.1:9093", 2: "127.0.0.1:9094", 3: "127.0.0.1:9095"}
	s := &streamLayer{quorum: quorumIDOf(voters), self: 1, logger: zap.NewNop()}
	other := quorumIDOf(map[int32]string{1: "127.0.0.1:9093", 2: "127.0.0.1:9094", 3: "127.0.0.1:9096"})
	f.Add(append(s.quorum.hello(2), "raft bytes"...))
	f.Add(append(other.hello(2), "raft bytes"...))
	f.Add([]byte("KSQ1"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, in []byte) {
		client, server := net.Pipe()
		defer client.Close()
		go func() {
			_, _ = client.Write(in)
			client.Close()
		}()
		c := &helloConn{Conn: server, s: s}
		defer c.Close()
		buf := make([]byte, len(in)+1)
		n, err := io.ReadAtLeast(c, buf, 1)
		valid := len(in) > helloLen && string(in[:helloLen-4]) == string(s.quorum.hello(0)[:helloLen-4])
		if valid {
			require.NoError(t, err)
			require.Equal(t, in[helloLen:helloLen+n], buf[:n], "the bytes after the hello reach raft")
		} else {
			require.Error(t, err, "a connection without this quorum's hello reaches raft")
		}
	})
}
