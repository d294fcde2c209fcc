package wire

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kspring/kspring/broker/internal/cluster"
	"github.com/kspring/kspring/broker/internal/replica"
	"github.com/kspring/kspring/broker/internal/topicconf"
)

// Settings are the broker settings the request handlers need.
type Settings struct {
	NodeID                   int32
	AdvertisedHost           string
	AdvertisedPort           int32
	Rack                     *string
	NumPartitions            int32
	DefaultReplicationFactor int16
	AutoCreateTopics         bool
	DeleteTopicEnable        bool
	MaxRequestBytes          int32
	// SendBufferBytes and ReceiveBufferBytes set SO_SNDBUF and SO_RCVBUF
	// on accepted connections; 0 or less leaves the OS's default.
	SendBufferBytes         int32
	ReceiveBufferBytes      int32
	ConnectionsMaxIdle      time.Duration
	ProducerIDExpiration    time.Duration
	OffsetsTopicPartitions  int32
	OffsetsTopicReplication int16
	// BrokerConfigs are the broker-level values that topic configs default to,
	// keyed by their broker property names (log.retention.ms, ...).
	BrokerConfigs map[string]string
	// LogDirs are the log directories (log.dirs), as DescribeConfigs reports them.
	LogDirs []string
	// StaticConfigs are further broker settings DescribeConfigs reports as
	// they are (the quorum's and replication's).
	StaticConfigs []StaticConfig
}

// StaticConfig is one broker setting as DescribeConfigs reports it.
type StaticConfig struct {
	Name, Value string
	Type        kmsg.ConfigType
}

// Topics is what the handlers need to create and open topics; the broker
// package implements it so that topic creation (explicit, automatic or
// internal) is one code path that keeps metadata and partitions in step.
type Topics interface {
	// Create creates a topic (Name, Partitions, ReplicationFactor,
	// Configs: validated overrides, and Assignment if the client placed the
	// replicas) with its partitions.
	Create(ctx context.Context, t cluster.Topic) (cluster.Topic, error)
	// Delete deletes a topic and its partitions.
	Delete(ctx context.Context, name string) error
	// AddPartitions grows a topic to n partitions.
	AddPartitions(ctx context.Context, name string, n int32) error
	// SetConfigs replaces a topic's overrides and applies them to its partitions.
	SetConfigs(ctx context.Context, name string, configs map[string]string) error
	// EnsureOffsetsTopic creates __consumer_offsets if it does not exist.
	EnsureOffsetsTopic(ctx context.Context) error
}

// Server serves the Kafka protocol. Create it with [New]; it is safe for
// concurrent use.
type Server struct {
	settings Settings
	meta     *cluster.Node
	ctrl     Controller
	pids     func(context.Context) (int64, error)
	parts    *replica.Manager
	topics   Topics
	groups   Groups
	logger   *zap.Logger

	txns           Txns                        // nil: transactions refused
	ensureTxnTopic func(context.Context) error // creates __transaction_state

	ctx    context.Context // cancelled when the server starts closing
	cancel context.CancelFunc

	mu      sync.Mutex
	ln      []net.Listener
	conns   map[*conn]struct{}
	closing bool
	wg      sync.WaitGroup
}

// Controller answers the requests brokers send to the active controller;
// on a node that is not the active controller they answer NOT_CONTROLLER.
// Implementations must be safe for concurrent use.
type Controller interface {
	BrokerRegistration(context.Context, *kmsg.BrokerRegistrationRequest) *kmsg.BrokerRegistrationResponse
	BrokerHeartbeat(context.Context, *kmsg.BrokerHeartbeatRequest) *kmsg.BrokerHeartbeatResponse
	AlterPartition(context.Context, *kmsg.AlterPartitionRequest) *kmsg.AlterPartitionResponse
	AllocateProducerIDs(context.Context, *kmsg.AllocateProducerIDsRequest) *kmsg.AllocateProducerIDsResponse
	ElectLeaders(context.Context, *kmsg.ElectLeadersRequest) *kmsg.ElectLeadersResponse
	AlterPartitionAssignments(context.Context, *kmsg.AlterPartitionAssignmentsRequest) *kmsg.AlterPartitionAssignmentsResponse
	ListPartitionReassignments(context.Context, *kmsg.ListPartitionReassignmentsRequest) *kmsg.ListPartitionReassignmentsResponse
}

// Option configures a Server.
type Option func(*Server)

// WithController serves the controller's APIs through c.
func WithController(c Controller) Option { return func(s *Server) { s.ctrl = c } }

// WithProducerIDs hands out producer ids (InitProducerId) with next.
func WithProducerIDs(next func(context.Context) (int64, error)) Option {
	return func(s *Server) { s.pids = next }
}

// New returns a Server over the broker's state. It does not listen yet.
func New(s Settings, meta *cluster.Node, parts *replica.Manager, topics Topics, groups Groups, logger *zap.Logger, opts ...Option) *Server {
	ctx, cancel := context.WithCancel(context.Background())
	srv := &Server{
		settings: s, meta: meta, parts: parts, topics: topics, groups: groups, logger: logger,
		ctx: ctx, cancel: cancel, conns: map[*conn]struct{}{},
	}
	for _, o := range opts {
		o(srv)
	}
	return srv
}

// Serve accepts connections on ln until the server closes. It returns nil
// after [Server.Close], or the accept error that stopped it.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return errors.New("wire: server closed")
	}
	s.ln = append(s.ln, ln)
	s.mu.Unlock()
	var delay time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			// Out of file descriptors and other transient failures: back
			// off and keep serving, as net/http does.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			s.logger.Warn("accept failed; retrying", zap.Error(err), zap.Duration("delay", delay))
			select {
			case <-time.After(delay):
			case <-s.ctx.Done():
				return nil
			}
			continue
		}
		delay = 0
		c := newConn(s, nc)
		s.mu.Lock()
		if s.closing {
			s.mu.Unlock()
			nc.Close()
			return nil
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			c.serve()
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
		}()
	}
}

// Close stops accepting, lets each connection finish the request it is
// handling (long polls return early), closes the connections and waits for
// their goroutines until ctx ends.
func (s *Server) Close(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	lns := s.ln
	for c := range s.conns {
		c.shutdown()
	}
	s.mu.Unlock()
	s.cancel()
	for _, ln := range lns {
		ln.Close()
	}
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		for c := range s.conns {
			c.nc.Close()
		}
		s.mu.Unlock()
		<-done
		return fmt.Errorf("wire: close: %w", ctx.Err())
	}
}

// brokerConfigs returns the broker-level values topic configs default to.
func (s *Server) brokerConfigs() map[string]string { return s.settings.BrokerConfigs }

// effectiveConfigs returns the effective topic config of t.
func (s *Server) effectiveConfigs(t cluster.Topic) map[string]string {
	return topicconf.Effective(t.Configs, s.settings.BrokerConfigs)
}
