package replica

import (
	"context"
	"fmt"
	"time"

	"github.com/kspring/kspring/broker/internal/log"
)

// WriteMarker appends transaction marker m as the leader, in the current
// leader epoch, and returns its offset once the ISR has it (acks=all
// semantics): Kafka's path for WriteTxnMarkers. It fails before the append
// with ErrNotLeader, ErrDeleted or ErrNotEnoughReplicas (the ISR smaller
// than min.insync.replicas), with log.ErrInvalidProducerEpoch for a marker
// of an older producer epoch, and after it with ErrNotEnoughReplicasAfterAppend,
// ErrNotLeader if leadership moved, or ctx's error when ctx ends first (the
// marker may still be replicated; the coordinator retries, and a repeated
// marker ends nothing more). Safe for concurrent use.
func (p *Partition) WriteMarker(ctx context.Context, m log.Marker) (offset int64, err error) {
	p.mu.Lock()
	epoch, deleted, role, isr := p.state.LeaderEpoch, p.deleted, p.role, len(p.state.ISR)
	minISR := int(p.settings.Policy.MinInsyncReplicas)
	p.mu.Unlock()
	switch {
	case deleted:
		return -1, fmt.Errorf("partition %s-%d: %w", p.Topic, p.Index, ErrDeleted)
	case role != RoleLeader:
		return -1, fmt.Errorf("partition %s-%d: %w", p.Topic, p.Index, ErrNotLeader)
	case isr < minISR:
		return -1, fmt.Errorf("partition %s-%d: ISR of %d, min.insync.replicas=%d: %w",
			p.Topic, p.Index, isr, minISR, ErrNotEnoughReplicas)
	}
	res, err := p.log.AppendMarker(m, epoch, time.Now())
	if err != nil {
		return -1, fmt.Errorf("partition %s-%d: write marker: %w", p.Topic, p.Index, p.deletedErr(err))
	}
	p.appended()
	if err := p.WaitReplicated(ctx, res.LastOffset+1); err != nil {
		return res.BaseOffset, err
	}
	return res.BaseOffset, nil
}
