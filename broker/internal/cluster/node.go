package cluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	"go.uber.org/zap"
)

// ErrNotController is returned by writes on a node that is not the quorum's
// leader (Kafka's NOT_CONTROLLER); the caller sends them to the controller.
var ErrNotController = errors.New("this node is not the active controller")

// Dialer opens connections to other nodes; tests use it to cut links.
type Dialer func(ctx context.Context, addr string) (net.Conn, error)

// NodeConfig configures a metadata quorum member.
type NodeConfig struct {
	// NodeID is this broker's node.id.
	NodeID int32
	// Voters are the quorum's members, node id to controller host:port
	// (controller.quorum.voters). Empty, or this node alone, makes a
	// one-voter quorum that needs no network.
	Voters map[int32]string
	// Listener accepts the quorum's connections on this node's voter
	// address; required with more than one voter. The node owns it.
	Listener net.Listener
	// Dial opens connections to other voters; nil uses net.Dialer.
	Dial Dialer
	// Dir holds the metadata log and snapshots.
	Dir string
	// ElectionTimeout and HeartbeatTimeout are raft's
	// (controller.quorum.election.timeout.ms, controller.quorum.fetch.timeout.ms).
	ElectionTimeout, HeartbeatTimeout time.Duration
	Logger                            *zap.Logger
}

// Node is this broker's member of the metadata quorum: a raft node over
// the metadata state machine. Reads ([Node.State]) are local and lock-free;
// writes ([Node.Propose]) succeed only on the leader, the active controller.
// Safe for concurrent use.
type Node struct {
	id     int32
	raft   *raft.Raft
	fsm    *fsm
	store  *raftboltdb.BoltStore
	trans  raft.Transport
	closer func() error
	logger *zap.Logger
}

// soloElectionTimeout is a one-voter quorum's election timeout: how long
// its candidate may take to win the only vote.
const soloElectionTimeout = 2 * time.Second

// OpenNode opens (or creates) the metadata log in cfg.Dir and joins the
// quorum. A fresh quorum is bootstrapped with cfg.Voters on every voter
// alike, as raft allows. It returns at once; see [Node.WaitReady].
func OpenNode(cfg NodeConfig) (*Node, error) {
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	self := strconv.Itoa(int(cfg.NodeID))
	multi := len(cfg.Voters) > 1
	if len(cfg.Voters) > 0 {
		if _, ok := cfg.Voters[cfg.NodeID]; !ok {
			return nil, fmt.Errorf("controller.quorum.voters does not name this node (node.id=%d)", cfg.NodeID)
		}
	}
	if multi && cfg.Listener == nil {
		return nil, errors.New("cluster: a quorum of several voters needs a controller listener")
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("metadata log: %w", err)
	}
	hlog := hclog.New(&hclog.LoggerOptions{Name: "raft", Level: hclog.Warn, Output: zapWriter{cfg.Logger.Named("raft")}})
	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(self)
	rc.Logger = hlog
	rc.SnapshotThreshold = 1024
	rc.TrailingLogs = 4096
	if multi {
		// Kafka's controller.quorum.fetch.timeout.ms (a follower that
		// has not heard from the leader for this long stands) is raft's
		// heartbeat timeout; its election timeout (how long a candidate
		// waits) may not be shorter, as raft requires.
		rc.HeartbeatTimeout = max(cfg.HeartbeatTimeout, 10*time.Millisecond)
		rc.ElectionTimeout = max(cfg.ElectionTimeout, rc.HeartbeatTimeout)
		rc.LeaderLeaseTimeout = min(rc.HeartbeatTimeout, rc.ElectionTimeout) / 2
		rc.CommitTimeout = 5 * time.Millisecond
	} else {
		// Nobody else votes: stand at once (see NewRaft below). The
		// election timeout bounds how long the lone candidate may take to
		// persist its term and vote (two fsyncs); a short one would
		// restart the election whenever the disk is slow, and every
		// restart costs two more.
		rc.HeartbeatTimeout, rc.ElectionTimeout, rc.LeaderLeaseTimeout = 10*time.Millisecond, soloElectionTimeout, 5*time.Millisecond
		rc.CommitTimeout = time.Millisecond
	}
	store, err := raftboltdb.New(raftboltdb.Options{Path: filepath.Join(cfg.Dir, "raft.db")})
	if err != nil {
		return nil, fmt.Errorf("metadata log %s: %w", cfg.Dir, err)
	}
	snaps, err := raft.NewFileSnapshotStoreWithLogger(cfg.Dir, 2, hlog)
	if err != nil {
		store.Close()
		return nil, fmt.Errorf("metadata snapshots %s: %w", cfg.Dir, err)
	}
	n := &Node{id: cfg.NodeID, fsm: newFSM(), store: store, logger: cfg.Logger}
	var conf raft.Configuration
	if multi {
		dial := cfg.Dial
		if dial == nil {
			var d net.Dialer
			dial = func(ctx context.Context, addr string) (net.Conn, error) { return d.DialContext(ctx, "tcp", addr) }
		}
		nt := raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
			Stream: &streamLayer{Listener: cfg.Listener, dial: dial, quorum: quorumIDOf(cfg.Voters), self: cfg.NodeID,
				logger: cfg.Logger}, MaxPool: 3,
			Timeout: 2 * time.Second, Logger: hlog,
		})
		n.trans, n.closer = noPipeline{nt}, nt.Close
		ids := make([]int32, 0, len(cfg.Voters))
		for id := range cfg.Voters {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		for _, id := range ids {
			conf.Servers = append(conf.Servers, raft.Server{
				ID: raft.ServerID(strconv.Itoa(int(id))), Address: raft.ServerAddress(cfg.Voters[id]),
			})
		}
	} else {
		addr, it := raft.NewInmemTransport(raft.ServerAddress("node-" + self))
		n.trans, n.closer = it, it.Close
		conf.Servers = []raft.Server{{ID: rc.LocalID, Address: addr}}
	}
	existing, err := raft.HasExistingState(store, store, snaps)
	if err != nil {
		n.closeStores()
		return nil, fmt.Errorf("metadata log %s: %w", cfg.Dir, err)
	}
	if !existing {
		if err := raft.BootstrapCluster(rc, store, store, snaps, n.trans, conf); err != nil {
			n.closeStores()
			return nil, fmt.Errorf("metadata log %s: bootstrap: %w", cfg.Dir, err)
		}
	}
	n.raft, err = raft.NewRaft(rc, n.fsm, store, store, snaps, n.trans)
	if err != nil {
		n.closeStores()
		return nil, fmt.Errorf("metadata quorum: %w", err)
	}
	if !multi {
		// A follower checks for its leader when its heartbeat timeout
		// shrinks: shrinking it now makes the lone voter stand at once,
		// rather than after the 5-10 ms of its shortest random timeout.
		reload := raft.ReloadableConfig{
			TrailingLogs: rc.TrailingLogs, SnapshotInterval: rc.SnapshotInterval, SnapshotThreshold: rc.SnapshotThreshold,
			HeartbeatTimeout: 5 * time.Millisecond, ElectionTimeout: soloElectionTimeout,
		}
		if err := n.raft.ReloadConfig(reload); err != nil {
			n.logger.Debug("quick election not armed", zap.Error(err))
		}
	}
	return n, nil
}

func (n *Node) closeStores() {
	if n.closer != nil {
		_ = n.closer()
	}
	_ = n.store.Close()
}

// ID returns this node's id.
func (n *Node) ID() int32 { return n.id }

// State returns the current metadata image. It never blocks.
func (n *Node) State() *State { return n.fsm.state.Load() }

// Changed returns a channel closed at the next metadata change.
func (n *Node) Changed() <-chan struct{} { return n.fsm.Changed() }

// IsController reports whether this node leads the quorum.
func (n *Node) IsController() bool { return n.raft.State() == raft.Leader }

// Controller returns the id of the quorum's leader, if one is known.
func (n *Node) Controller() (int32, bool) {
	_, id := n.raft.LeaderWithID()
	if id == "" {
		return -1, false
	}
	v, err := strconv.ParseInt(string(id), 10, 32)
	if err != nil {
		return -1, false
	}
	return int32(v), true
}

// LastContact is when this node last heard from a controller (or granted
// a vote) while it was not the controller itself; zero if never.
func (n *Node) LastContact() time.Time { return n.raft.LastContact() }

// Leadership delivers true when this node becomes the controller and false
// when it stops being it. There is one such channel; one reader.
func (n *Node) Leadership() <-chan bool { return n.raft.LeaderCh() }

// propose appends c to the metadata log and returns its result once it is
// committed and applied here. Only the controller can propose.
func (n *Node) propose(ctx context.Context, c command) (any, error) {
	if !n.IsController() {
		return nil, ErrNotController
	}
	timeout := 10 * time.Second
	if d, ok := ctx.Deadline(); ok {
		timeout = max(time.Until(d), time.Millisecond)
	}
	f := n.raft.Apply(c.encode(), timeout)
	if err := f.Error(); err != nil {
		if errors.Is(err, raft.ErrNotLeader) || errors.Is(err, raft.ErrLeadershipLost) || errors.Is(err, raft.ErrLeadershipTransferInProgress) {
			return nil, fmt.Errorf("%s: %w (%v)", c.Op, ErrNotController, err)
		}
		return nil, fmt.Errorf("metadata %s: %w", c.Op, err)
	}
	r, _ := f.Response().(result)
	return r.value, r.err
}

// WaitController waits until the quorum has a leader.
func (n *Node) WaitController(ctx context.Context) error {
	t := time.NewTicker(time.Millisecond)
	defer t.Stop()
	for {
		if _, ok := n.Controller(); ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for the controller quorum: %w", ctx.Err())
		case <-t.C:
		}
	}
}

// Barrier waits until everything committed before it is applied here; on
// the controller, that makes the state current. Only the controller may call it.
func (n *Node) Barrier(ctx context.Context) error {
	timeout := 10 * time.Second
	if d, ok := ctx.Deadline(); ok {
		timeout = max(time.Until(d), time.Millisecond)
	}
	return n.raft.Barrier(timeout).Error()
}

// Close leaves the quorum (without changing its membership) and closes the
// metadata log.
func (n *Node) Close() error {
	err := n.raft.Shutdown().Error()
	n.closeStores()
	return err
}

// noPipeline is raft's network transport without pipelined replication.
// A pipelined append waits for its peer's answer with no deadline, and
// once the pipeline's 128 slots are taken its sender no longer sees the
// leader step down (hashicorp/raft's pipelineSend blocks on the in-progress
// channel): a peer that stops answering could hold the replication
// goroutine, and with it raft's Shutdown, for ever. Seen under load: a
// broker's Close hung 13 minutes in Shutdown after a peer was killed. A
// plain append carries the transport's deadline both ways, and the
// metadata log's traffic is far too light to need a pipeline.
type noPipeline struct{ *raft.NetworkTransport }

// AppendEntriesPipeline refuses: raft falls back to plain appends.
func (noPipeline) AppendEntriesPipeline(raft.ServerID, raft.ServerAddress) (raft.AppendPipeline, error) {
	return nil, raft.ErrPipelineReplicationNotSupported
}

// streamLayer carries raft's connections over the controller listener. It
// keeps every connection it made or accepted, so that closing it ends them
// all (and the transport goroutines reading them), which raft's own
// transport leaves to the other side. Every connection opens with the
// quorum handshake (handshake.go).
type streamLayer struct {
	net.Listener
	dial   Dialer
	quorum quorumID // this node's quorum, sent and checked in hellos
	self   int32
	logger *zap.Logger

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
}

func (s *streamLayer) track(c net.Conn) (net.Conn, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		c.Close()
		return nil, net.ErrClosed
	}
	if s.conns == nil {
		s.conns = map[net.Conn]struct{}{}
	}
	tc := &trackedConn{Conn: c, s: s}
	s.conns[tc] = struct{}{}
	return tc, nil
}

// trackedConn leaves its streamLayer's set when closed.
type trackedConn struct {
	net.Conn
	s    *streamLayer
	once sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.s.mu.Lock()
		delete(c.s.conns, c)
		c.s.mu.Unlock()
	})
	return c.Conn.Close()
}

func (s *streamLayer) Dial(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	c, err := s.dial(ctx, string(addr))
	if err != nil {
		return nil, err
	}
	if err := s.sendHello(c, time.Now().Add(timeout)); err != nil {
		c.Close()
		return nil, err
	}
	return s.track(c)
}

func (s *streamLayer) Accept() (net.Conn, error) {
	c, err := s.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return s.track(&helloConn{Conn: c, s: s})
}

func (s *streamLayer) Close() error {
	s.mu.Lock()
	s.closed = true
	conns := s.conns
	s.conns = nil
	s.mu.Unlock()
	for c := range conns {
		c.(*trackedConn).Conn.Close()
	}
	return s.Listener.Close()
}

// zapWriter sends raft's log lines to zap.
type zapWriter struct{ l *zap.Logger }

func (w zapWriter) Write(p []byte) (int, error) {
	w.l.Info(string(trimNewline(p)))
	return len(p), nil
}

func trimNewline(p []byte) []byte {
	for len(p) > 0 && (p[len(p)-1] == '\n' || p[len(p)-1] == '\r') {
		p = p[:len(p)-1]
	}
	return p
}

// TransferLeadership hands the quorum's leadership to another voter and
// waits (briefly) for it, so that a controlled shutdown does not leave the
// cluster without a controller for an election timeout.
func (n *Node) TransferLeadership() {
	if err := n.raft.LeadershipTransfer().Error(); err != nil {
		n.logger.Info("leadership transfer failed", zap.Error(err))
	}
}
