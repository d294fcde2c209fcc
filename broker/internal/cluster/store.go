package cluster

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
)

// Topic is one topic's metadata. Values returned by [Store] are copies; callers
// may keep and modify them.
type Topic struct {
	Name              string            `json:"name"`
	ID                [16]byte          `json:"id"`
	Partitions        int32             `json:"partitions"`
	ReplicationFactor int16             `json:"replicationFactor"`
	Configs           map[string]string `json:"configs,omitempty"` // overrides only
	Internal          bool              `json:"internal,omitempty"`
}

func (t Topic) clone() Topic {
	t.Configs = maps.Clone(t.Configs)
	return t
}

// Errors a Store returns; callers map them to Kafka error codes.
var (
	ErrTopicExists  = errors.New("topic already exists")
	ErrNoSuchTopic  = errors.New("unknown topic")
	ErrInvalidCount = errors.New("invalid partition count")
)

// Store keeps the cluster metadata: the cluster id and the topics. It is safe
// for concurrent use. Every change is written to disk (write to a temporary
// file, fsync, rename) before the method returns, so a crash keeps either the
// old or the new state.
type Store struct {
	path string

	mu        sync.RWMutex
	clusterID string
	topics    map[string]Topic
	epoch     int64 // bumped on every change

	// Producer ids are handed out from blocks: the end of the current block
	// is persisted before any id in it is used, so ids are never reused
	// across restarts.
	nextPID, pidBlockEnd int64
}

const producerIDBlock = 1000

type snapshot struct {
	ClusterID      string  `json:"clusterId"`
	Topics         []Topic `json:"topics"`
	ProducerIDHigh int64   `json:"producerIdHigh"`
}

// Open loads the metadata kept in dir, creating it on first use. clusterID, if
// not empty, must match the stored one.
func Open(dir, clusterID string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("cluster metadata: %w", err)
	}
	s := &Store{path: filepath.Join(dir, "cluster-metadata.json"), topics: map[string]Topic{}}
	b, err := os.ReadFile(s.path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		s.clusterID = clusterID
		if s.clusterID == "" {
			s.clusterID = newClusterID()
		}
		if err := s.persistLocked(); err != nil {
			return nil, err
		}
		return s, nil
	case err != nil:
		return nil, fmt.Errorf("cluster metadata: %w", err)
	}
	var snap snapshot
	if err := json.Unmarshal(b, &snap); err != nil {
		return nil, fmt.Errorf("cluster metadata %s: %w", s.path, err)
	}
	if clusterID != "" && snap.ClusterID != clusterID {
		return nil, fmt.Errorf("cluster metadata %s: stored cluster id %q does not match configured %q",
			s.path, snap.ClusterID, clusterID)
	}
	s.clusterID = snap.ClusterID
	s.nextPID, s.pidBlockEnd = snap.ProducerIDHigh, snap.ProducerIDHigh
	for _, t := range snap.Topics {
		s.topics[t.Name] = t
	}
	return s, nil
}

// newClusterID returns a random id in Kafka's form: 16 bytes, base64url, no padding.
func newClusterID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return encodeUUID(b)
}

// ClusterID returns the cluster id.
func (s *Store) ClusterID() string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.clusterID
}

// Epoch returns a counter that changes with every metadata change.
func (s *Store) Epoch() int64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.epoch
}

// Topic returns the named topic.
func (s *Store) Topic(name string) (Topic, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	t, ok := s.topics[name]
	return t.clone(), ok
}

// PartitionCount returns the number of partitions of the named topic, 0 if
// there is no such topic. Unlike Topic it copies nothing, for hot paths.
func (s *Store) PartitionCount(name string) int32 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.topics[name].Partitions
}

// TopicByID returns the topic with the given id.
func (s *Store) TopicByID(id [16]byte) (Topic, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, t := range s.topics {
		if t.ID == id {
			return t.clone(), true
		}
	}
	return Topic{}, false
}

// Topics returns every topic, sorted by name.
func (s *Store) Topics() []Topic {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]Topic, 0, len(s.topics))
	for _, t := range s.topics {
		out = append(out, t.clone())
	}
	slices.SortFunc(out, func(a, b Topic) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// NextProducerID returns a producer id never handed out before, also across
// restarts.
func (s *Store) NextProducerID() (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.nextPID >= s.pidBlockEnd {
		old := s.pidBlockEnd
		s.pidBlockEnd += producerIDBlock
		if err := s.persistLocked(); err != nil {
			s.pidBlockEnd = old
			return 0, err
		}
	}
	id := s.nextPID
	s.nextPID++
	return id, nil
}

// CreateTopic adds a topic and gives it a fresh id. It fails with
// [ErrTopicExists] if the name is taken.
func (s *Store) CreateTopic(t Topic) (Topic, error) {
	if t.Partitions < 1 {
		return Topic{}, fmt.Errorf("topic %q: %d partitions: %w", t.Name, t.Partitions, ErrInvalidCount)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.topics[t.Name]; ok {
		return Topic{}, fmt.Errorf("topic %q: %w", t.Name, ErrTopicExists)
	}
	t = t.clone()
	_, _ = rand.Read(t.ID[:])
	s.topics[t.Name] = t
	if err := s.persistLocked(); err != nil {
		delete(s.topics, t.Name)
		return Topic{}, err
	}
	return t.clone(), nil
}

// DeleteTopic removes a topic.
func (s *Store) DeleteTopic(name string) (Topic, error) {
	return s.update(name, func(t *Topic) (bool, error) { return true, nil })
}

// SetPartitions grows a topic to n partitions.
func (s *Store) SetPartitions(name string, n int32) (Topic, error) {
	return s.update(name, func(t *Topic) (bool, error) {
		if n <= t.Partitions {
			return false, fmt.Errorf("topic %q has %d partitions, cannot set %d: %w", name, t.Partitions, n, ErrInvalidCount)
		}
		t.Partitions = n
		return false, nil
	})
}

// SetConfigs replaces a topic's config overrides.
func (s *Store) SetConfigs(name string, configs map[string]string) (Topic, error) {
	return s.update(name, func(t *Topic) (bool, error) {
		t.Configs = maps.Clone(configs)
		return false, nil
	})
}

// update applies fn to a copy of the topic and persists the result; fn returns
// true to delete the topic.
func (s *Store) update(name string, fn func(*Topic) (bool, error)) (Topic, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.topics[name]
	if !ok {
		return Topic{}, fmt.Errorf("topic %q: %w", name, ErrNoSuchTopic)
	}
	t := old.clone()
	del, err := fn(&t)
	if err != nil {
		return Topic{}, err
	}
	if del {
		delete(s.topics, name)
	} else {
		s.topics[name] = t
	}
	if err := s.persistLocked(); err != nil {
		s.topics[name] = old
		return Topic{}, err
	}
	return t.clone(), nil
}

func (s *Store) persistLocked() error {
	s.epoch++
	snap := snapshot{ClusterID: s.clusterID, ProducerIDHigh: s.pidBlockEnd}
	for _, t := range s.topics {
		snap.Topics = append(snap.Topics, t)
	}
	slices.SortFunc(snap.Topics, func(a, b Topic) int { return strings.Compare(a.Name, b.Name) })
	b, err := json.MarshalIndent(snap, "", "  ")
	if err != nil {
		return fmt.Errorf("cluster metadata: %w", err)
	}
	if err := writeFileAtomic(s.path, b); err != nil {
		return fmt.Errorf("cluster metadata: %w", err)
	}
	return nil
}

// writeFileAtomic writes data to path through a synced temporary file and a rename.
func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
