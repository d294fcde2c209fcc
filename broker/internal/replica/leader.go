package replica

import (
	"fmt"
	"slices"
	"time"
)

// Diverging tells a follower that its log diverged from the leader's: it
// must truncate to EndOffset (or to its own end of Epoch, if lower), as
// Kafka's Fetch v12+ DivergingEpoch does.
type Diverging struct {
	Epoch     int32
	EndOffset int64
}

// ErrFencedEpoch and ErrUnknownEpoch: a fetch or produce named a leader
// epoch older (FENCED_LEADER_EPOCH) or newer (UNKNOWN_LEADER_EPOCH) than
// the partition's.
var (
	ErrFencedEpoch  = fmt.Errorf("fenced leader epoch")
	ErrUnknownEpoch = fmt.Errorf("unknown leader epoch")
)

// FollowerFetch records a replica fetch on the leader: follower id has
// everything below fetchOffset, the last batch of which is of epoch
// lastFetchedEpoch (-1 if unknown). It moves the high watermark, asks the
// controller to add the follower to the ISR once it has caught up, and
// returns a *Diverging if the follower's log diverged from this one (it
// must truncate before fetching on).
func (p *Partition) FollowerFetch(id, currentEpoch, lastFetchedEpoch int32, fetchOffset int64, now time.Time) (*Diverging, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.role != RoleLeader:
		return nil, fmt.Errorf("partition %s-%d: %w", p.Topic, p.Index, ErrNotLeader)
	case currentEpoch >= 0 && currentEpoch < p.state.LeaderEpoch:
		return nil, fmt.Errorf("partition %s-%d: %w", p.Topic, p.Index, ErrFencedEpoch)
	case currentEpoch > p.state.LeaderEpoch:
		return nil, fmt.Errorf("partition %s-%d: %w", p.Topic, p.Index, ErrUnknownEpoch)
	}
	f, ok := p.followers[id]
	if !ok {
		return nil, fmt.Errorf("partition %s-%d: broker %d: %w", p.Topic, p.Index, id, ErrNotReplica)
	}
	if lastFetchedEpoch >= 0 {
		epoch, end := p.log.EndOffsetForEpoch(lastFetchedEpoch)
		if epoch != lastFetchedEpoch || end < fetchOffset {
			return &Diverging{Epoch: epoch, EndOffset: end}, nil
		}
	}
	leo := p.log.EndOffset()
	switch {
	case fetchOffset >= leo:
		f.lastCaughtUp = now
	case fetchOffset >= f.lastFetchLEO && f.lastFetchLEO >= 0 && f.lastFetchAt.After(f.lastCaughtUp):
		// It has everything the leader had at its previous fetch.
		f.lastCaughtUp = f.lastFetchAt
	}
	f.leo = min(fetchOffset, leo)
	f.lastFetchLEO, f.lastFetchAt = leo, now
	p.maybeAdvanceHWLocked()
	p.maybeExpandISRLocked(id, f)
	return nil, nil
}

// maybeExpandISRLocked asks the controller to add follower id to the ISR
// once it has caught up to the high watermark and into the current epoch.
func (p *Partition) maybeExpandISRLocked(id int32, f *follower) {
	if p.pending != nil || slices.Contains(p.state.ISR, id) || p.m == nil {
		return
	}
	if f.leo < p.hw.Load() {
		return
	}
	if _, start := p.epochStartLocked(); f.leo < start {
		return
	}
	isr := append(slices.Clone(p.state.ISR), id)
	slices.Sort(isr)
	p.alterLocked(isr)
}

// epochStartLocked returns the current leader epoch and the offset it
// started at.
func (p *Partition) epochStartLocked() (int32, int64) {
	epoch := p.state.LeaderEpoch
	if epoch <= 0 {
		return epoch, 0
	}
	_, end := p.log.EndOffsetForEpoch(epoch - 1)
	return epoch, max(end, 0)
}

// CheckISR drops from the ISR the followers that have not caught up within
// lagMax (replica.lag.time.max.ms), through the controller.
func (p *Partition) CheckISR(now time.Time, lagMax time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.role != RoleLeader || p.pending != nil || p.m == nil {
		return
	}
	isr := slices.DeleteFunc(slices.Clone(p.state.ISR), func(r int32) bool {
		if r == p.self {
			return false
		}
		f, ok := p.followers[r]
		return !ok || now.Sub(f.lastCaughtUp) > lagMax
	})
	if len(isr) < len(p.state.ISR) {
		p.alterLocked(isr)
	}
}

// alterLocked sends an ISR change to the controller in the background. The
// high watermark counts the larger of the two ISRs until it is confirmed.
func (p *Partition) alterLocked(isr []int32) {
	p.pending = isr
	req := AlterRequest{
		Topic: p.Topic, Partition: p.Index, Leader: p.self,
		LeaderEpoch: p.state.LeaderEpoch, PartitionEpoch: p.state.PartitionEpoch, ISR: slices.Clone(isr),
	}
	p.m.alter(p, req)
}

// alterDone applies the controller's answer to an ISR change.
func (p *Partition) alterDone(req AlterRequest, st State, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !slices.Equal(p.pending, req.ISR) {
		return // superseded
	}
	p.pending = nil
	if err != nil || p.role != RoleLeader || st.LeaderEpoch != p.state.LeaderEpoch || st.PartitionEpoch < p.state.PartitionEpoch {
		return // the metadata brings the state in force
	}
	p.state.ISR, p.state.PartitionEpoch = slices.Clone(st.ISR), st.PartitionEpoch
	if st.Replicas != nil {
		p.state.Replicas = slices.Clone(st.Replicas)
	}
	p.maybeAdvanceHWLocked()
	p.signalHWLocked() // acks=all waiters check the ISR size again
}
