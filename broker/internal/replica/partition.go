package replica

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kspring/kspring/broker/internal/log"
)

// Errors of the replication role; the network layer maps them to Kafka codes.
var (
	// ErrNotLeader: this broker does not lead the partition (NOT_LEADER_OR_FOLLOWER).
	ErrNotLeader = errors.New("not the leader of the partition")
	// ErrNotEnoughReplicas: the ISR is smaller than min.insync.replicas.
	ErrNotEnoughReplicas = errors.New("not enough in-sync replicas")
	// ErrNotEnoughReplicasAfterAppend: written, but the ISR shrank below
	// min.insync.replicas before the write was replicated.
	ErrNotEnoughReplicasAfterAppend = errors.New("not enough in-sync replicas after append")
	// ErrNotReplica: a replica fetch from a broker that holds no replica.
	ErrNotReplica = errors.New("not a replica of the partition")
)

// Role is what this broker is for a partition.
type Role int8

const (
	RoleNone     Role = iota // not yet told by the metadata, or removed
	RoleLeader               // serves produce and fetch
	RoleFollower             // fetches from the leader
)

// State is the replication state of a partition as the metadata has it.
type State struct {
	Leader         int32
	LeaderEpoch    int32
	PartitionEpoch int32
	Replicas       []int32
	ISR            []int32
}

// follower is what a leader knows of one follower.
type follower struct {
	leo          int64     // log end offset it last fetched from; -1 unknown
	lastCaughtUp time.Time // last time it had everything the leader had
	lastFetchLEO int64     // the leader's LEO at its previous fetch
	lastFetchAt  time.Time
}

// Partition is one partition of the broker: its log and its role in
// replication. Safe for concurrent use.
type Partition struct {
	Topic string
	Index int32
	Dir   string // the partition's directory
	// TopicID is the id of the topic the partition belongs to (KIP-516),
	// zero if unknown; set at Open and never changed.
	TopicID [16]byte

	log  *log.Log
	self int32
	m    *Manager // for ISR changes; nil in tests of a lone partition

	hw atomic.Int64 // high watermark: replicated to the whole ISR

	mu        sync.Mutex
	role      Role
	state     State
	pending   []int32 // ISR sent to the controller, not yet confirmed; nil if none
	followers map[int32]*follower
	// changed and hwChanged are closed at the next append, and the next
	// move of the HW or change of role; made when someone waits (nil
	// otherwise), so an append nobody waits for allocates nothing.
	changed   chan struct{}
	hwChanged chan struct{}
	settings  Settings
	deleted   bool
}

func newPartition(topic string, index int32, id [16]byte, dir string, l *log.Log, s Settings, self int32, m *Manager, hw int64) *Partition {
	p := &Partition{
		Topic: topic, Index: index, TopicID: id, Dir: dir, log: l, settings: s, self: self, m: m,
	}
	p.hw.Store(min(max(hw, l.StartOffset()), l.EndOffset()))
	return p
}

// Log returns the partition's log.
func (p *Partition) Log() *log.Log { return p.log }

// LeaderEpoch returns the current leader epoch.
func (p *Partition) LeaderEpoch() int32 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.state.LeaderEpoch
}

// Role returns this broker's role and the replication state it follows.
func (p *Partition) Role() (Role, State) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.role, p.cloneState()
}

func (p *Partition) cloneState() State {
	s := p.state
	s.Replicas, s.ISR = slices.Clone(s.Replicas), slices.Clone(s.ISR)
	return s
}

// SetState applies the metadata's view of the partition: it makes this
// broker the leader or a follower at the given epoch. An older epoch (or
// partition epoch, for the same leader epoch) than the one in force is
// ignored. It reports whether the role or leader changed.
func (p *Partition) SetState(st State) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if st.LeaderEpoch < p.state.LeaderEpoch ||
		(st.LeaderEpoch == p.state.LeaderEpoch && st.PartitionEpoch < p.state.PartitionEpoch && p.role != RoleNone) {
		return false
	}
	role := RoleFollower
	switch {
	case st.Leader == p.self:
		role = RoleLeader
	case !slices.Contains(st.Replicas, p.self):
		role = RoleNone
	}
	newLeadership := role != p.role || st.LeaderEpoch != p.state.LeaderEpoch || st.Leader != p.state.Leader
	p.state = State{Leader: st.Leader, LeaderEpoch: st.LeaderEpoch, PartitionEpoch: st.PartitionEpoch,
		Replicas: slices.Clone(st.Replicas), ISR: slices.Clone(st.ISR)}
	p.role = role
	if !newLeadership {
		if p.pending != nil && slices.Equal(p.pending, st.ISR) {
			p.pending = nil
		}
		if role == RoleLeader {
			p.syncFollowersLocked(time.Now())
		}
		p.maybeAdvanceHWLocked()
		return false
	}
	p.pending = nil
	if role == RoleLeader {
		p.followers = nil
		p.syncFollowersLocked(time.Now())
		if st.LeaderEpoch >= 0 {
			_ = p.log.AssignEpoch(st.LeaderEpoch, p.log.EndOffset())
		}
		p.maybeAdvanceHWLocked()
	} else {
		p.followers = nil
	}
	p.signalHWLocked()
	return true
}

// syncFollowersLocked makes the leader track exactly the replicas of the
// partition: new ones (a new leadership, a reassignment adding replicas)
// start unknown, and in-sync ones get a full lag window to fetch from this
// leader, as in Kafka.
func (p *Partition) syncFollowersLocked(now time.Time) {
	if p.followers == nil {
		p.followers = map[int32]*follower{}
	}
	for _, r := range p.state.Replicas {
		if _, ok := p.followers[r]; !ok && r != p.self {
			p.followers[r] = &follower{leo: -1, lastCaughtUp: now, lastFetchLEO: -1}
		}
	}
	for r := range p.followers {
		if !slices.Contains(p.state.Replicas, r) {
			delete(p.followers, r)
		}
	}
}

// Append writes batches from a producer: only the leader takes them.
// acks is the producer's acks; with -1 the ISR must hold at least
// min.insync.replicas replicas.
func (p *Partition) Append(batches []byte, acks int16, now time.Time) (log.AppendResult, error) {
	p.mu.Lock()
	epoch, deleted, role, isr := p.state.LeaderEpoch, p.deleted, p.role, len(p.state.ISR)
	minISR := int(p.settings.Policy.MinInsyncReplicas)
	p.mu.Unlock()
	switch {
	case deleted:
		return log.AppendResult{}, fmt.Errorf("partition %s-%d: %w", p.Topic, p.Index, ErrDeleted)
	case role != RoleLeader:
		return log.AppendResult{}, fmt.Errorf("partition %s-%d: %w", p.Topic, p.Index, ErrNotLeader)
	case acks == -1 && isr < minISR:
		return log.AppendResult{}, fmt.Errorf("partition %s-%d: ISR of %d, min.insync.replicas=%d: %w",
			p.Topic, p.Index, isr, minISR, ErrNotEnoughReplicas)
	}
	res, err := p.log.Append(batches, epoch, now)
	if err != nil {
		return res, fmt.Errorf("partition %s-%d: %w", p.Topic, p.Index, p.deletedErr(err))
	}
	if !res.Duplicate {
		p.appended()
	}
	return res, nil
}

// appended wakes fetches and moves the HW of a leader that is alone in its ISR.
func (p *Partition) appended() {
	p.mu.Lock()
	p.signalAppendLocked()
	if p.role == RoleLeader {
		p.maybeAdvanceHWLocked()
	}
	p.mu.Unlock()
}

// WaitReplicated waits until the ISR has every offset below end (acks=all),
// then checks min.insync.replicas. It fails with ErrNotLeader if leadership
// moves, and with ctx's error when ctx ends first.
func (p *Partition) WaitReplicated(ctx context.Context, end int64) error {
	for {
		wake, done, err := p.replicated(end, true)
		if done {
			return err
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Replicated reports, without waiting, whether WaitReplicated would return
// at once, and with what. A leader alone in its ISR has replicated an
// append when it returns, so an acks=all producer pays for no wait.
func (p *Partition) Replicated(end int64) (done bool, err error) {
	_, done, err = p.replicated(end, false)
	return done, err
}

// replicated is WaitReplicated's check; with wait it also returns the
// channel to wait on when the answer is not there yet.
func (p *Partition) replicated(end int64, wait bool) (<-chan struct{}, bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.deleted:
		return nil, true, fmt.Errorf("partition %s-%d: %w", p.Topic, p.Index, ErrDeleted)
	case p.role != RoleLeader:
		return nil, true, fmt.Errorf("partition %s-%d: %w", p.Topic, p.Index, ErrNotLeader)
	case p.hw.Load() >= end:
		if len(p.state.ISR) < int(p.settings.Policy.MinInsyncReplicas) {
			return nil, true, fmt.Errorf("partition %s-%d: %w", p.Topic, p.Index, ErrNotEnoughReplicasAfterAppend)
		}
		return nil, true, nil
	case !wait:
		return nil, false, nil
	}
	return p.hwChangedLocked(), false, nil
}

// maybeAdvanceHWLocked moves the high watermark to the smallest log end
// offset of the ISR and the replicas joining it. It never moves back.
func (p *Partition) maybeAdvanceHWLocked() {
	if p.role != RoleLeader {
		return
	}
	hw := p.log.EndOffset()
	for _, set := range [][]int32{p.state.ISR, p.pending} {
		for _, r := range set {
			if r == p.self {
				continue
			}
			f, ok := p.followers[r]
			if !ok || f.leo < 0 {
				return // not heard from since it became leader: cannot move
			}
			hw = min(hw, f.leo)
		}
	}
	if hw > p.hw.Load() {
		p.hw.Store(hw)
		p.log.NoteHighWatermark(hw)
		p.signalHWLocked()
	}
}

func (p *Partition) signalHWLocked() {
	if p.hwChanged != nil {
		close(p.hwChanged)
		p.hwChanged = nil
	}
}

func (p *Partition) signalAppendLocked() {
	if p.changed != nil {
		close(p.changed)
		p.changed = nil
	}
}

func (p *Partition) hwChangedLocked() chan struct{} {
	if p.hwChanged == nil {
		p.hwChanged = make(chan struct{})
	}
	return p.hwChanged
}

// HWChanged returns a channel closed at the next move of the high
// watermark, change of role, or deletion: what a consumer's long poll
// waits for, since consumers read below the high watermark.
func (p *Partition) HWChanged() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.hwChangedLocked()
}

// Changed returns a channel closed at the next append (or deletion): what
// a follower's long poll waits for.
func (p *Partition) Changed() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.changed == nil {
		p.changed = make(chan struct{})
	}
	return p.changed
}

// HighWatermark returns the offset below which every record is replicated
// to the whole ISR; consumers read below it.
func (p *Partition) HighWatermark() int64 { return p.hw.Load() }

// LastStableOffset returns the offset below which every transaction is
// decided and replicated: read_committed consumers read below it (see
// log.LastStableOffset). It moves only when the high watermark does, so
// waiting on HWChanged serves read_committed long polls too.
func (p *Partition) LastStableOffset() int64 { return p.log.LastStableOffset(p.HighWatermark()) }

// StartOffset returns the log start offset.
func (p *Partition) StartOffset() int64 { return p.log.StartOffset() }

// EndOffset returns the log end offset (LEO), replicated or not.
func (p *Partition) EndOffset() int64 { return p.log.EndOffset() }

// Read copies batches from offset up to the high watermark.
func (p *Partition) Read(offset int64, maxBytes int) ([]byte, error) {
	b, err := p.log.Read(offset, maxBytes, p.HighWatermark())
	return b, p.deletedErr(err)
}

// ReadChunks returns where the batches from offset up to the high
// watermark are (see log.ReadChunks).
func (p *Partition) ReadChunks(dst []log.Chunk, offset int64, maxBytes int) ([]log.Chunk, error) {
	return p.ReadChunksTo(dst, offset, maxBytes, p.HighWatermark())
}

// ReadChunksTo is ReadChunks up to maxOffset: a follower's fetch reads up
// to the log end.
func (p *Partition) ReadChunksTo(dst []log.Chunk, offset int64, maxBytes int, maxOffset int64) ([]log.Chunk, error) {
	out, err := p.log.ReadChunks(dst, offset, maxBytes, maxOffset)
	return out, p.deletedErr(err)
}

func (p *Partition) deletedErr(err error) error {
	if err == nil || !errors.Is(err, log.ErrClosed) {
		return err
	}
	p.mu.Lock()
	deleted := p.deleted
	p.mu.Unlock()
	if deleted {
		return errors.Join(ErrDeleted, err)
	}
	return err
}

// Settings returns the partition's settings.
func (p *Partition) Settings() Settings {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.settings
}

// SetSettings applies changed topic configs.
func (p *Partition) SetSettings(s Settings) {
	p.mu.Lock()
	p.settings = s
	p.mu.Unlock()
	p.log.SetConfig(s.Log)
}

func (p *Partition) markDeleted() {
	p.mu.Lock()
	p.deleted = true
	p.signalAppendLocked()
	p.signalHWLocked()
	p.mu.Unlock()
}
