package cluster

import (
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/raft"
)

// fsm is the metadata state machine that raft drives: it applies committed
// commands to the current [State] and publishes the result. Apply runs on
// raft's one FSM goroutine; readers load the published State without locks.
type fsm struct {
	state atomic.Pointer[State]

	mu      sync.Mutex
	changed chan struct{} // closed and replaced on every publish
}

func newFSM() *fsm {
	f := &fsm{changed: make(chan struct{})}
	f.state.Store(emptyState())
	return f
}

// result is what Apply returns through raft's ApplyFuture.
type result struct {
	value any
	err   error
}

func (f *fsm) Apply(l *raft.Log) any {
	if l.Type != raft.LogCommand {
		return nil
	}
	var c command
	if err := json.Unmarshal(l.Data, &c); err != nil {
		// Every node refuses the same bytes alike, so skipping keeps the
		// replicas identical.
		return result{err: fmt.Errorf("metadata log entry %d: %w", l.Index, err)}
	}
	s := f.state.Load()
	n, v, err := apply(s, c, l.Index)
	if n == s {
		n = s.shallow()
	}
	n.Offset = l.Index
	f.publish(n)
	return result{value: v, err: err}
}

func (f *fsm) publish(s *State) {
	f.state.Store(s)
	f.mu.Lock()
	close(f.changed)
	f.changed = make(chan struct{})
	f.mu.Unlock()
}

// Changed returns a channel closed at the next change of the state.
func (f *fsm) Changed() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.changed
}

// image is the snapshot form of a State.
type image struct {
	ClusterID      string            `json:"clusterId"`
	Offset         uint64            `json:"offset"`
	Brokers        []Broker          `json:"brokers"`
	Topics         []Topic           `json:"topics"`
	NextProducerID int64             `json:"nextProducerId"`
	Scram          []ScramCredential `json:"scram,omitempty"`
	ACLs           []ACL             `json:"acls,omitempty"`
}

func (f *fsm) Snapshot() (raft.FSMSnapshot, error) {
	return snapshot{f.state.Load()}, nil
}

func (f *fsm) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	var img image
	if err := json.NewDecoder(rc).Decode(&img); err != nil {
		return fmt.Errorf("metadata snapshot: %w", err)
	}
	s := emptyState()
	s.ClusterID, s.Offset, s.NextProducerID = img.ClusterID, img.Offset, img.NextProducerID
	for _, b := range img.Brokers {
		s.Brokers[b.ID] = b
	}
	for _, c := range img.Scram {
		if s.Scram == nil {
			s.Scram = map[string]ScramCredential{}
		}
		s.Scram[scramKey(c.User, c.Mechanism)] = c
	}
	s.ACLs = img.ACLs
	for _, t := range img.Topics {
		t := t
		s.Topics[t.Name] = &t
		s.byID[t.ID] = t.Name
	}
	f.publish(s)
	return nil
}

type snapshot struct{ s *State }

func (s snapshot) Persist(sink raft.SnapshotSink) error {
	img := image{ClusterID: s.s.ClusterID, Offset: s.s.Offset, NextProducerID: s.s.NextProducerID,
		Scram: s.s.ScramUsers(), ACLs: s.s.ACLs}
	for _, b := range s.s.Brokers {
		img.Brokers = append(img.Brokers, b)
	}
	for _, t := range s.s.SortedTopics() {
		img.Topics = append(img.Topics, *t)
	}
	if err := json.NewEncoder(sink).Encode(img); err != nil {
		sink.Cancel()
		return fmt.Errorf("metadata snapshot: %w", err)
	}
	return sink.Close()
}

func (snapshot) Release() {}
