package broker

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"

	"github.com/kspring/kspring/broker/internal/cluster"
	"github.com/kspring/kspring/broker/internal/peer"
	"github.com/kspring/kspring/broker/internal/replica"
	"github.com/kspring/kspring/broker/internal/wire"
)

// member is this broker's side of the cluster: it registers with the active
// controller, heartbeats to keep its session, and sends the controller the
// requests only it can answer. When this node is the controller, the
// requests are served in process.
type member struct {
	id     int32
	meta   *cluster.Node
	ctrl   *controller
	cfg    *Config
	dial   peer.Dialer
	logger *zap.Logger

	incarnation [16]byte
	// interBrokerName and endpoints are the listeners registered: set
	// before the first registration, read-only after.
	interBrokerName string
	endpoints       []wire.Listener

	mu       sync.Mutex
	epoch    int64 // broker epoch from the registration; 0 before
	client   *peer.Client
	shutdown bool // controlled shutdown asked for
	unfenced chan struct{}
	fenced   bool

	pidMu           sync.Mutex
	nextPID, pidEnd int64
}

func newMember(b *Broker) *member {
	m := &member{id: b.cfg.NodeID, meta: b.meta, ctrl: b.ctrl, cfg: &b.cfg, dial: b.peerDial, logger: b.logger.Named("member"),
		unfenced: make(chan struct{}), fenced: true}
	_, _ = rand.Read(m.incarnation[:])
	return m
}

// errNoController: the quorum has no leader, or its broker side is not
// registered yet; callers retry.
var errNoController = errors.New("no active controller")

// call sends req to the active controller and returns its response; on
// this node it is answered in process.
func (m *member) call(ctx context.Context, req kmsg.Request) (kmsg.Response, error) {
	if m.meta.IsController() {
		return m.ctrl.serve(ctx, req)
	}
	id, ok := m.meta.Controller()
	if !ok {
		return nil, errNoController
	}
	b, ok := m.meta.State().Brokers[id]
	if !ok {
		return nil, fmt.Errorf("controller %d is not registered yet: %w", id, errNoController)
	}
	addr := net.JoinHostPort(b.Host, fmt.Sprint(b.Port))
	m.mu.Lock()
	if m.client == nil || m.client.Addr() != addr {
		if m.client != nil {
			m.client.Close()
		}
		m.client = peer.New(addr, fmt.Sprintf("kspring-broker-%d", m.id), m.dial)
	}
	c := m.client
	m.mu.Unlock()
	return c.Request(ctx, req)
}

// serve answers a controller request in process.
func (c *controller) serve(ctx context.Context, req kmsg.Request) (kmsg.Response, error) {
	switch r := req.(type) {
	case *kmsg.BrokerRegistrationRequest:
		return c.BrokerRegistration(ctx, r), nil
	case *kmsg.BrokerHeartbeatRequest:
		return c.BrokerHeartbeat(ctx, r), nil
	case *kmsg.AlterPartitionRequest:
		return c.AlterPartition(ctx, r), nil
	case *kmsg.AllocateProducerIDsRequest:
		return c.AllocateProducerIDs(ctx, r), nil
	case *kmsg.ElectLeadersRequest:
		return c.ElectLeaders(ctx, r), nil
	case *kmsg.AlterPartitionAssignmentsRequest:
		return c.AlterPartitionAssignments(ctx, r), nil
	case *kmsg.ListPartitionReassignmentsRequest:
		return c.ListPartitionReassignments(ctx, r), nil
	}
	return nil, fmt.Errorf("controller: %s is not served in process", kmsg.NameForKey(req.Key()))
}

// retry calls fn until it succeeds, ctx ends, or it fails for good. fn
// returns (done, err); a transient error is retried after a pause.
func retry(ctx context.Context, pause time.Duration, fn func() (bool, error)) error {
	for {
		done, err := fn()
		if done {
			return err
		}
		select {
		case <-ctx.Done():
			if err != nil {
				return fmt.Errorf("%w (last error: %v)", ctx.Err(), err)
			}
			return ctx.Err()
		case <-time.After(pause):
		}
	}
}

// register registers this broker with the controller, retrying while there
// is none.
func (m *member) register(ctx context.Context, host string, port int32, rack *string) error {
	req := kmsg.NewPtrBrokerRegistrationRequest()
	req.BrokerID = m.id
	req.IncarnationID = m.incarnation
	req.Rack = rack
	// The inter-broker listener first, then every client listener by name.
	l := kmsg.NewBrokerRegistrationRequestListener()
	l.Name, l.Host, l.Port = m.interBrokerName, host, uint16(port)
	req.Listeners = append(req.Listeners, l)
	for _, e := range m.endpoints {
		if e.Name == m.interBrokerName {
			continue
		}
		l := kmsg.NewBrokerRegistrationRequestListener()
		l.Name, l.Host, l.Port = e.Name, e.AdvertisedHost, uint16(e.AdvertisedPort)
		req.Listeners = append(req.Listeners, l)
	}
	last := time.Now()
	var duplicate time.Time // first DUPLICATE_BROKER_REGISTRATION
	return retry(ctx, 20*time.Millisecond, func() (bool, error) {
		if err := m.waitClusterID(ctx); err != nil {
			return true, err
		}
		req.ClusterID = m.meta.ClusterID()
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		resp, err := m.call(rctx, req)
		if err == nil {
			r := resp.(*kmsg.BrokerRegistrationResponse)
			if err = kerr.ErrorForCode(r.ErrorCode); err == nil {
				m.mu.Lock()
				m.epoch = r.BrokerEpoch
				m.mu.Unlock()
				return true, nil
			}
			if errors.Is(err, kerr.InconsistentClusterID) {
				return true, fmt.Errorf("broker: the cluster's id is not this broker's (cluster.id %q): %w", req.ClusterID, err)
			}
			if errors.Is(err, kerr.DuplicateBrokerRegistration) {
				// This broker's previous run may not have missed its
				// session yet; a live twin keeps it going for good.
				if duplicate.IsZero() {
					duplicate = time.Now()
				} else if time.Since(duplicate) > 2*m.cfg.BrokerSessionTimeoutMs {
					return true, fmt.Errorf("broker: another broker with node.id=%d is alive in the cluster: %w", m.id, err)
				}
			}
		}
		if time.Since(last) > 5*time.Second {
			last = time.Now()
			m.logger.Warn("waiting for the controller quorum to register", zap.Strings("controller.quorum.voters", m.cfg.ControllerQuorumVoters), zap.Error(err))
		}
		return false, err
	})
}

// waitClusterID waits until the metadata has the cluster id, which the
// first controller sets.
func (m *member) waitClusterID(ctx context.Context) error {
	for {
		ch := m.meta.Changed()
		if m.meta.ClusterID() != "" {
			return nil
		}
		select {
		case <-ch:
		case err := <-m.ctrl.failed:
			return err
		case <-ctx.Done():
			return fmt.Errorf("waiting for the controller quorum (controller.quorum.voters %v): %w", m.cfg.ControllerQuorumVoters, ctx.Err())
		}
	}
}

// heartbeat sends one heartbeat and applies the answer. It returns the
// controller's ShouldShutdown.
func (m *member) heartbeat(ctx context.Context, wantFence bool) (bool, error) {
	m.mu.Lock()
	req := kmsg.NewPtrBrokerHeartbeatRequest()
	req.BrokerID, req.BrokerEpoch = m.id, m.epoch
	req.WantShutdown, req.WantFence = m.shutdown, wantFence
	m.mu.Unlock()
	req.CurrentMetadataOffset = int64(m.meta.State().Offset)
	resp, err := m.call(ctx, req)
	if err != nil {
		return false, err
	}
	r := resp.(*kmsg.BrokerHeartbeatResponse)
	if err := kerr.ErrorForCode(r.ErrorCode); err != nil {
		return false, err
	}
	m.mu.Lock()
	if m.fenced && !r.IsFenced {
		close(m.unfenced)
	}
	m.fenced = r.IsFenced
	m.mu.Unlock()
	return r.ShouldShutdown, nil
}

// run heartbeats every broker.heartbeat.interval.ms until ctx ends,
// registering again when the controller no longer knows this broker.
func (m *member) run(ctx context.Context, host string, port int32, rack *string) {
	t := time.NewTicker(m.cfg.BrokerHeartbeatIntervalMs)
	defer t.Stop()
	for {
		hctx, cancel := context.WithTimeout(ctx, m.cfg.BrokerSessionTimeoutMs)
		_, err := m.heartbeat(hctx, false)
		cancel()
		if errors.Is(err, kerr.StaleBrokerEpoch) {
			m.logger.Info("registering again: the controller does not know this broker's epoch")
			if err := m.register(ctx, host, port, rack); err != nil {
				return
			}
			continue
		}
		if err != nil && ctx.Err() == nil {
			m.logger.Debug("heartbeat failed", zap.Error(err))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// waitUnfenced waits until the controller has unfenced this broker.
func (m *member) waitUnfenced(ctx context.Context) error {
	m.mu.Lock()
	ch := m.unfenced
	m.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("waiting to join the cluster: %w", ctx.Err())
	}
}

// controlledShutdown asks the controller to move this broker's leaderships
// away and fence it, as Kafka's controlled shutdown does, until ctx ends.
func (m *member) controlledShutdown(ctx context.Context) error {
	m.mu.Lock()
	m.shutdown = true
	registered := m.epoch != 0
	m.mu.Unlock()
	if !registered {
		return nil
	}
	// A quorum that has lost its majority (the whole cluster shutting
	// down) has no controller to move leaderships: give up after a couple
	// of election timeouts without one.
	var leaderless time.Time
	err := retry(ctx, 10*time.Millisecond, func() (bool, error) {
		done, err := m.heartbeat(ctx, false)
		switch {
		case !errors.Is(err, errNoController):
			leaderless = time.Time{}
		case leaderless.IsZero():
			leaderless = time.Now()
		case time.Since(leaderless) > 2*m.cfg.ControllerQuorumElectionTimeoutMs:
			return true, err
		}
		return done, err
	})
	if err != nil {
		return err
	}
	_, err = m.heartbeat(ctx, true)
	return err
}

// close drops the connection to the controller.
func (m *member) close() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.client != nil {
		m.client.Close()
		m.client = nil
	}
}

// nextProducerID hands out a producer id from a block the controller gave
// this broker, fetching a new block when it runs out.
func (m *member) nextProducerID(ctx context.Context) (int64, error) {
	m.pidMu.Lock()
	defer m.pidMu.Unlock()
	if m.nextPID >= m.pidEnd {
		resp, err := m.call(ctx, kmsg.NewPtrAllocateProducerIDsRequest())
		if err != nil {
			return 0, err
		}
		r := resp.(*kmsg.AllocateProducerIDsResponse)
		if err := kerr.ErrorForCode(r.ErrorCode); err != nil {
			return 0, err
		}
		m.nextPID, m.pidEnd = r.ProducerIDStart, r.ProducerIDStart+int64(r.ProducerIDLen)
	}
	id := m.nextPID
	m.nextPID++
	return id, nil
}

// alterISR sends a partition leader's ISR change to the controller.
func (m *member) alterISR(ctx context.Context, a replica.AlterRequest) (replica.State, error) {
	m.mu.Lock()
	req := kmsg.NewPtrAlterPartitionRequest()
	req.Version = 1
	req.BrokerID, req.BrokerEpoch = m.id, m.epoch
	m.mu.Unlock()
	rt := kmsg.NewAlterPartitionRequestTopic()
	rt.Topic = a.Topic
	rp := kmsg.NewAlterPartitionRequestTopicPartition()
	rp.Partition, rp.LeaderEpoch, rp.PartitionEpoch, rp.NewISR = a.Partition, a.LeaderEpoch, a.PartitionEpoch, a.ISR
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := m.call(ctx, req)
	if err != nil {
		return replica.State{}, err
	}
	r := resp.(*kmsg.AlterPartitionResponse)
	if err := kerr.ErrorForCode(r.ErrorCode); err != nil {
		return replica.State{}, err
	}
	if len(r.Topics) != 1 || len(r.Topics[0].Partitions) != 1 {
		return replica.State{}, errors.New("malformed AlterPartition response")
	}
	sp := r.Topics[0].Partitions[0]
	if err := kerr.ErrorForCode(sp.ErrorCode); err != nil {
		return replica.State{}, err
	}
	st := replica.State{Leader: sp.LeaderID, LeaderEpoch: sp.LeaderEpoch, PartitionEpoch: sp.PartitionEpoch, ISR: sp.ISR}
	if t, ok := m.meta.State().Topics[a.Topic]; ok {
		if p, ok := t.PartitionState(a.Partition); ok {
			st.Replicas = p.Replicas
		}
	}
	return st, nil
}
