package replica

import (
	"fmt"
	"time"
)

// fetchPosition is where a follower fetches from: its log end, the epoch of
// its last batch, and the leader epoch it follows.
type fetchPosition struct {
	offset      int64
	lastEpoch   int32
	leaderEpoch int32
	leader      int32
	logStart    int64
}

// position returns the follower's fetch position; ok is false unless this
// broker follows the partition.
func (p *Partition) position() (fetchPosition, bool) {
	p.mu.Lock()
	role, st, deleted := p.role, p.state, p.deleted
	p.mu.Unlock()
	if role != RoleFollower || deleted {
		return fetchPosition{}, false
	}
	last, ok := p.log.LatestEpoch()
	if !ok {
		last = -1
	}
	return fetchPosition{offset: p.log.EndOffset(), lastEpoch: last, leaderEpoch: st.LeaderEpoch,
		leader: st.Leader, logStart: p.log.StartOffset()}, true
}

// appendFromLeader writes batches fetched from the leader at the epoch
// fetched in, and follows the leader's high watermark and log start offset.
func (p *Partition) appendFromLeader(epoch int32, batches []byte, leaderHW, leaderStart int64, now time.Time) error {
	p.mu.Lock()
	ok := p.role == RoleFollower && p.state.LeaderEpoch == epoch && !p.deleted
	p.mu.Unlock()
	if !ok {
		return nil // the role changed while the fetch was out: drop it
	}
	if len(batches) > 0 {
		if _, err := p.log.AppendReplicated(batches, now); err != nil {
			return fmt.Errorf("partition %s-%d: replicate: %w", p.Topic, p.Index, p.deletedErr(err))
		}
	}
	if leaderStart > p.log.StartOffset() {
		if _, err := p.log.DeleteRecords(min(leaderStart, p.log.EndOffset())); err != nil {
			return fmt.Errorf("partition %s-%d: follow log start %d: %w", p.Topic, p.Index, leaderStart, err)
		}
	}
	p.mu.Lock()
	if hw := min(leaderHW, p.log.EndOffset()); hw > p.hw.Load() {
		p.hw.Store(hw)
		p.log.NoteHighWatermark(hw)
	}
	if len(batches) > 0 {
		p.signalAppendLocked()
	}
	p.mu.Unlock()
	return nil
}

// truncateDiverged cuts the follower's log where it diverged from the
// leader's: at the leader's end of the diverging epoch, or at this log's own
// end of that epoch if lower (Kafka's truncation on DivergingEpoch).
func (p *Partition) truncateDiverged(d Diverging) error {
	to := d.EndOffset
	if d.Epoch >= 0 {
		if e, end := p.log.EndOffsetForEpoch(d.Epoch); e == d.Epoch {
			to = min(to, end)
		}
	}
	if to < 0 {
		to = p.hw.Load()
	}
	return p.truncate(to)
}

// truncate cuts the log at to and the high watermark with it.
func (p *Partition) truncate(to int64) error {
	if err := p.log.Truncate(to); err != nil {
		return fmt.Errorf("partition %s-%d: %w", p.Topic, p.Index, p.deletedErr(err))
	}
	p.mu.Lock()
	if p.hw.Load() > p.log.EndOffset() {
		p.hw.Store(p.log.EndOffset())
	}
	p.mu.Unlock()
	return nil
}

// restartAt empties the follower's log and starts it at the leader's log
// start offset, when the leader no longer has what this log ends at.
func (p *Partition) restartAt(offset int64) error {
	if err := p.log.TruncateFullyAndStartAt(offset); err != nil {
		return fmt.Errorf("partition %s-%d: %w", p.Topic, p.Index, p.deletedErr(err))
	}
	p.mu.Lock()
	p.hw.Store(offset)
	p.mu.Unlock()
	return nil
}
