package broker

import (
	"context"
	"encoding/hex"
	"errors"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"

	"github.com/kspring/kspring/broker/internal/cluster"
)

// controller does the active controller's work while this node leads the
// metadata quorum, as KRaft's QuorumController: it takes brokers'
// registrations and heartbeats, fences a broker whose session expired (its
// leaderships move to in-sync replicas), and applies leaders' ISR changes
// and producer id allocations. On the other nodes its handlers answer
// NOT_CONTROLLER. It implements wire.Controller.
type controller struct {
	meta    *cluster.Node
	cfg     *Config
	logger  *zap.Logger
	cluster string  // configured cluster.id, or empty
	member  *member // this broker's side, to forward to another controller
	// failed gets the error that keeps this controller from setting up a
	// new cluster (an unreadable metadata file from before the quorum);
	// Start fails with it rather than wait for a cluster id.
	failed chan error

	mu       sync.Mutex
	active   bool
	lastSeen map[int32]time.Time // brokers' last heartbeats, while active
	heard    map[int32]bool      // brokers that heartbeated to this controller
	// following is the controller this node last followed, -1 if none:
	// when this node takes over, that broker's session runs from the last
	// contact with it rather than from now, since its silence is what
	// called the election. Only run's goroutine touches it.
	following int32
}

// run follows this node's leadership of the quorum until ctx ends.
func (c *controller) run(ctx context.Context) {
	ticker := time.NewTicker(max(c.cfg.BrokerHeartbeatIntervalMs/2, 5*time.Millisecond))
	defer ticker.Stop()
	leadership := c.meta.Leadership()
	c.following = -1
	if c.meta.IsController() {
		c.activate(ctx)
	}
	for {
		select {
		case <-ctx.Done():
			return
		case leader := <-leadership:
			if leader {
				c.activate(ctx)
			} else {
				c.mu.Lock()
				c.active = false
				c.mu.Unlock()
				c.logger.Info("no longer the active controller")
			}
		case now := <-ticker.C:
			if id, ok := c.meta.Controller(); ok && id != c.meta.ID() {
				c.following = id
			}
			c.fenceExpired(ctx, now)
			if c.isActive() {
				c.completeReassignments(ctx)
			}
		}
	}
}

// activate takes over as the active controller: it makes the metadata
// current, sets the cluster id on a new cluster, and gives every broker a
// full session to heartbeat to it, except the controller it followed, whose
// session counts from this node's last contact with it: a controller that
// died is fenced as soon as a broker that died under it would be.
func (c *controller) activate(ctx context.Context) {
	bctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := c.meta.Barrier(bctx); err != nil {
		c.logger.Warn("controller: catching up with the metadata log failed", zap.Error(err))
		return
	}
	if c.meta.ClusterID() == "" && len(c.cfg.ControllerQuorumVoters) <= 1 {
		if err := c.importLegacy(bctx, c.cfg.LogDirs[0], c.cfg.NodeID); err != nil {
			select {
			case c.failed <- err:
			default:
			}
			return
		}
	}
	if c.meta.ClusterID() == "" {
		id, err := c.meta.Init(bctx, c.cluster)
		if err != nil {
			c.logger.Warn("controller: setting the cluster id failed", zap.Error(err))
			return
		}
		c.logger.Info("new cluster", zap.String("cluster.id", id))
	}
	now := time.Now()
	c.mu.Lock()
	c.active = true
	c.lastSeen = map[int32]time.Time{}
	c.heard = map[int32]bool{}
	for id := range c.meta.State().Brokers {
		c.lastSeen[id] = now
	}
	if last := c.meta.LastContact(); c.following >= 0 && c.following != c.meta.ID() && !last.IsZero() && last.Before(now) {
		if _, ok := c.lastSeen[c.following]; ok {
			c.lastSeen[c.following] = last
		}
	}
	c.mu.Unlock()
	c.logger.Info("active controller", zap.Int32("node.id", c.meta.ID()))
}

// fenceExpired fences the brokers whose session expired.
func (c *controller) fenceExpired(ctx context.Context, now time.Time) {
	c.mu.Lock()
	if !c.active {
		c.mu.Unlock()
		return
	}
	var expired []int32
	for _, b := range c.meta.State().Brokers {
		if seen, ok := c.lastSeen[b.ID]; !b.Fenced && (!ok || now.Sub(seen) > c.cfg.BrokerSessionTimeoutMs) {
			if !ok {
				c.lastSeen[b.ID] = now // registered through an earlier controller
				continue
			}
			expired = append(expired, b.ID)
		}
	}
	c.mu.Unlock()
	for _, id := range expired {
		fctx, cancel := context.WithTimeout(ctx, c.cfg.BrokerSessionTimeoutMs)
		err := c.meta.Fence(fctx, id)
		cancel()
		if err != nil {
			c.logger.Warn("controller: fencing broker failed", zap.Int32("broker", id), zap.Error(err))
			continue
		}
		c.logger.Info("fenced broker: session expired", zap.Int32("broker", id), zap.Duration("broker.session.timeout.ms", c.cfg.BrokerSessionTimeoutMs))
	}
}

// saw records that broker id is alive now.
func (c *controller) saw(id int32) {
	c.mu.Lock()
	c.lastSeen[id] = time.Now()
	c.heard[id] = true
	c.mu.Unlock()
}

func (c *controller) isActive() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.active && c.meta.IsController()
}

// metaErrorCode maps a metadata change's error to Kafka's code.
func metaErrorCode(err error) int16 {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, cluster.ErrNotController):
		return kerr.NotController.Code
	case errors.Is(err, cluster.ErrNoSuchTopic), errors.Is(err, cluster.ErrNoSuchPartition):
		return kerr.UnknownTopicOrPartition.Code
	case errors.Is(err, cluster.ErrFencedLeaderEpoch):
		return kerr.FencedLeaderEpoch.Code
	case errors.Is(err, cluster.ErrInvalidUpdateVersion):
		return kerr.InvalidUpdateVersion.Code
	case errors.Is(err, cluster.ErrIneligibleReplica):
		return kerr.IneligibleReplica.Code
	case errors.Is(err, cluster.ErrNoSuchBroker):
		return kerr.StaleBrokerEpoch.Code
	case errors.Is(err, cluster.ErrTopicExists):
		return kerr.TopicAlreadyExists.Code
	case errors.Is(err, cluster.ErrReplicationFactor):
		return kerr.InvalidReplicationFactor.Code
	case errors.Is(err, cluster.ErrInvalidCount):
		return kerr.InvalidPartitions.Code
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return kerr.RequestTimedOut.Code
	}
	return kerr.UnknownServerError.Code
}

// BrokerRegistration registers a broker (KRaft's BrokerRegistration). It
// stays fenced until its first heartbeat.
func (c *controller) BrokerRegistration(ctx context.Context, req *kmsg.BrokerRegistrationRequest) *kmsg.BrokerRegistrationResponse {
	resp := req.ResponseKind().(*kmsg.BrokerRegistrationResponse)
	resp.SetVersion(req.Version)
	if !c.isActive() {
		resp.ErrorCode = kerr.NotController.Code
		return resp
	}
	if id := c.meta.ClusterID(); req.ClusterID != id {
		c.logger.Warn("refused a broker of another cluster", zap.Int32("broker", req.BrokerID),
			zap.String("its cluster.id", req.ClusterID), zap.String("cluster.id", id))
		resp.ErrorCode = kerr.InconsistentClusterID.Code
		return resp
	}
	// The first listener is the one other brokers reach it on (kspring's
	// brokers send their inter-broker listener first); every one is kept,
	// by name, for clients of that listener.
	if len(req.Listeners) == 0 {
		resp.ErrorCode = kerr.InvalidRequest.Code
		return resp
	}
	l := &req.Listeners[0]
	endpoints := map[string]cluster.Endpoint{}
	for _, rl := range req.Listeners {
		if _, dup := endpoints[rl.Name]; !dup {
			endpoints[rl.Name] = cluster.Endpoint{Host: rl.Host, Port: int32(rl.Port)}
		}
	}
	incarnation := hex.EncodeToString(req.IncarnationID[:])
	if old, ok := c.meta.State().Brokers[req.BrokerID]; ok && !old.Fenced && old.Incarnation != incarnation {
		// Another process with this node.id is alive, or one that died has
		// not yet missed its session: Kafka's DUPLICATE_BROKER_REGISTRATION.
		// A broker not heard from since this controller took over (the
		// grace it gives every broker is no sign of life) is taken to be
		// the one restarting.
		c.mu.Lock()
		seen, heard := c.lastSeen[req.BrokerID], c.heard[req.BrokerID]
		c.mu.Unlock()
		if heard && time.Since(seen) <= c.cfg.BrokerSessionTimeoutMs {
			resp.ErrorCode = kerr.DuplicateBrokerRegistration.Code
			return resp
		}
	}
	b, err := c.meta.RegisterBroker(ctx, cluster.Broker{
		ID: req.BrokerID, Host: l.Host, Port: int32(l.Port), Rack: req.Rack, Incarnation: incarnation,
		Endpoints: endpoints,
	})
	if resp.ErrorCode = metaErrorCode(err); err != nil {
		return resp
	}
	c.saw(b.ID)
	resp.BrokerEpoch = b.Epoch
	c.logger.Info("registered broker", zap.Int32("broker", b.ID), zap.String("host", b.Host),
		zap.Int32("port", b.Port), zap.Int64("broker_epoch", b.Epoch))
	return resp
}

// BrokerHeartbeat keeps a broker's session alive, unfences it, and runs its
// controlled shutdown: leaderships move away first, then ShouldShutdown.
func (c *controller) BrokerHeartbeat(ctx context.Context, req *kmsg.BrokerHeartbeatRequest) *kmsg.BrokerHeartbeatResponse {
	resp := req.ResponseKind().(*kmsg.BrokerHeartbeatResponse)
	resp.SetVersion(req.Version)
	if !c.isActive() {
		resp.ErrorCode = kerr.NotController.Code
		return resp
	}
	b, ok := c.meta.State().Brokers[req.BrokerID]
	if !ok || b.Epoch != req.BrokerEpoch {
		resp.ErrorCode = kerr.StaleBrokerEpoch.Code
		return resp
	}
	c.saw(b.ID)
	var err error
	switch {
	case req.WantFence && !b.Fenced:
		err = c.meta.Fence(ctx, b.ID)
	case req.WantShutdown && !b.ShuttingDown && !b.Fenced:
		err = c.meta.BeginShutdown(ctx, b.ID)
	case !req.WantFence && !req.WantShutdown && b.Fenced:
		err = c.meta.Unfence(ctx, b.ID)
		if err == nil {
			c.logger.Info("unfenced broker", zap.Int32("broker", b.ID))
		}
	}
	if resp.ErrorCode = metaErrorCode(err); err != nil {
		return resp
	}
	b = c.meta.State().Brokers[req.BrokerID]
	resp.IsCaughtUp = true
	resp.IsFenced = b.Fenced
	resp.ShouldShutdown = req.WantShutdown && (b.ShuttingDown || b.Fenced)
	return resp
}

// AlterPartition applies partition leaders' ISR changes.
func (c *controller) AlterPartition(ctx context.Context, req *kmsg.AlterPartitionRequest) *kmsg.AlterPartitionResponse {
	resp := req.ResponseKind().(*kmsg.AlterPartitionResponse)
	resp.SetVersion(req.Version)
	if !c.isActive() {
		resp.ErrorCode = kerr.NotController.Code
		return resp
	}
	if b, ok := c.meta.State().Brokers[req.BrokerID]; !ok || b.Epoch != req.BrokerEpoch {
		resp.ErrorCode = kerr.StaleBrokerEpoch.Code
		return resp
	}
	for _, rt := range req.Topics {
		st := kmsg.NewAlterPartitionResponseTopic()
		st.Topic, st.TopidID = rt.Topic, rt.TopicID
		name := rt.Topic
		if req.Version >= 2 {
			if t, ok := c.meta.State().TopicByID(rt.TopicID); ok {
				name = t.Name
			}
		}
		for _, rp := range rt.Partitions {
			sp := kmsg.NewAlterPartitionResponseTopicPartition()
			sp.Partition = rp.Partition
			isr := rp.NewISR
			for _, e := range rp.NewEpochISR {
				isr = append(isr, e.BrokerID)
			}
			p, err := c.meta.AlterPartition(ctx, cluster.AlterPartition{
				Topic: name, Partition: rp.Partition, Leader: req.BrokerID,
				LeaderEpoch: rp.LeaderEpoch, PartitionEpoch: rp.PartitionEpoch, ISR: isr,
			})
			if sp.ErrorCode = metaErrorCode(err); err == nil {
				sp.LeaderID, sp.LeaderEpoch, sp.ISR, sp.PartitionEpoch = p.Leader, p.LeaderEpoch, p.ISR, p.PartitionEpoch
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp
}

// producerIDBlock is how many producer ids a broker takes at a time.
const producerIDBlock = 1000

// AllocateProducerIDs hands a broker a block of producer ids.
func (c *controller) AllocateProducerIDs(ctx context.Context, req *kmsg.AllocateProducerIDsRequest) *kmsg.AllocateProducerIDsResponse {
	resp := req.ResponseKind().(*kmsg.AllocateProducerIDsResponse)
	resp.SetVersion(req.Version)
	if !c.isActive() {
		resp.ErrorCode = kerr.NotController.Code
		return resp
	}
	start, err := c.meta.AllocateProducerIDs(ctx, producerIDBlock)
	if resp.ErrorCode = metaErrorCode(err); err == nil {
		resp.ProducerIDStart, resp.ProducerIDLen = start, producerIDBlock
	}
	return resp
}
