package replica

import (
	"context"
	"time"

	"go.uber.org/zap"

	"github.com/kspring/kspring/broker/internal/peer"
)

// AlterRequest is a leader's ISR change, sent to the controller.
type AlterRequest struct {
	Topic          string
	Partition      int32
	Leader         int32
	LeaderEpoch    int32
	PartitionEpoch int32
	ISR            []int32
}

// Options are the replication settings and hooks of a Manager.
type Options struct {
	// NodeID is this broker's id.
	NodeID int32
	// AlterISR sends an ISR change to the controller and returns the
	// partition's state after it. Nil: ISR changes are not made (a lone
	// partition in tests).
	AlterISR func(ctx context.Context, req AlterRequest) (State, error)
	// BrokerAddr returns the host:port of a broker, for replica fetches.
	BrokerAddr func(id int32) (string, bool)
	// Dial opens connections to other brokers; nil dials TCP.
	Dial peer.Dialer
	// ReplicaLagMax is replica.lag.time.max.ms: a follower that has not
	// caught up for this long leaves the ISR.
	ReplicaLagMax time.Duration
	// FetchMaxWait is replica.fetch.wait.max.ms.
	FetchMaxWait time.Duration
	// FetchBackoff is replica.fetch.backoff.ms, the longest pause after a
	// failed replica fetch.
	FetchBackoff time.Duration
	// RequestTimeout bounds a request to another broker beyond its own wait.
	RequestTimeout time.Duration
	// HWCheckpointInterval is replica.high.watermark.checkpoint.interval.ms.
	HWCheckpointInterval time.Duration
}

func (o Options) withDefaults() Options {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.ReplicaLagMax, 30*time.Second)
	def(&o.FetchMaxWait, 500*time.Millisecond)
	def(&o.FetchBackoff, time.Second)
	def(&o.RequestTimeout, 30*time.Second)
	def(&o.HWCheckpointInterval, 5*time.Second)
	return o
}

// SetState applies the metadata's view of a partition this broker holds a
// replica of, starting or stopping replication from its leader.
func (m *Manager) SetState(p *Partition, st State) {
	if !p.SetState(st) {
		return
	}
	role, cur := p.Role()
	if role == RoleFollower && cur.Leader >= 0 {
		m.fetcherFor(cur.Leader).poke()
	}
}

// fetcherFor returns the fetcher of partitions led by leader, starting it.
func (m *Manager) fetcherFor(leader int32) *fetcher {
	m.mu.Lock()
	defer m.mu.Unlock()
	if f, ok := m.fetchers[leader]; ok {
		return f
	}
	ctx, cancel := context.WithCancel(m.ctx)
	f := &fetcher{
		m: m, leader: leader, wake: make(chan struct{}, 1), cancel: cancel, done: make(chan struct{}),
	}
	m.fetchers[leader] = f
	m.bg.Add(1)
	go func() {
		defer m.bg.Done()
		f.run(ctx)
	}()
	return f
}

// followedFrom returns the partitions this broker follows from leader.
func (m *Manager) followedFrom(leader int32) []*Partition {
	var out []*Partition
	for _, p := range m.All() {
		if fp, ok := p.position(); ok && fp.leader == leader {
			out = append(out, p)
		}
	}
	return out
}

// alter sends p's ISR change in the background and applies the answer.
func (m *Manager) alter(p *Partition, req AlterRequest) {
	if m.opts.AlterISR == nil {
		return
	}
	if m.ctx.Err() != nil {
		return // stopping: the change stays pending, and no other is made
	}
	m.bg.Add(1)
	go func() {
		defer m.bg.Done()
		ctx, cancel := context.WithTimeout(m.ctx, m.opts.RequestTimeout)
		defer cancel()
		st, err := m.opts.AlterISR(ctx, req)
		if err != nil {
			m.logger.Info("ISR change failed", zap.String("topic", req.Topic), zap.Int32("partition", req.Partition),
				zap.Int32s("isr", req.ISR), zap.Error(err))
		} else {
			m.logger.Info("ISR changed", zap.String("topic", req.Topic), zap.Int32("partition", req.Partition),
				zap.Int32s("isr", st.ISR), zap.Int32("leader_epoch", st.LeaderEpoch))
		}
		p.alterDone(req, st, err)
	}()
}

// stopReplication stops the fetchers and waits for ISR changes in flight.
func (m *Manager) stopReplication() {
	m.cancel()
	m.bg.Wait()
}

func (m *Manager) brokerAddr(id int32) (string, bool) {
	if m.opts.BrokerAddr == nil {
		return "", false
	}
	return m.opts.BrokerAddr(id)
}
