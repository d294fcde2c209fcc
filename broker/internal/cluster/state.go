package cluster

import (
	"maps"
	"slices"
	"strings"
)

// NoLeader is the leader of a partition none of whose in-sync replicas is
// alive (Kafka's -1).
const NoLeader int32 = -1

// Broker is one registered broker. Values returned by [Store] are copies.
type Broker struct {
	ID           int32   `json:"id"`
	Host         string  `json:"host"`
	Port         int32   `json:"port"`
	Rack         *string `json:"rack,omitempty"`
	Incarnation  string  `json:"incarnation"` // changes on every start of the broker process
	Epoch        int64   `json:"epoch"`       // broker epoch: the metadata offset of its registration
	Fenced       bool    `json:"fenced"`      // not alive: leads nothing, in no ISR
	ShuttingDown bool    `json:"shuttingDown,omitempty"`
	// Endpoints are the broker's client listeners by name (SSL, CLIENT,
	// ...), so that a client gets every broker's address on the listener it
	// came in on; Host and Port are the inter-broker listener's. Shared
	// between States: never modified.
	Endpoints map[string]Endpoint `json:"endpoints,omitempty"`
}

// Endpoint is one listener's advertised address.
type Endpoint struct {
	Host string `json:"host"`
	Port int32  `json:"port"`
}

// Partition is the replication state of one partition, as Kafka's
// PartitionRecord/PartitionChangeRecord hold it.
type Partition struct {
	Replicas    []int32 `json:"replicas"` // preferred leader first
	ISR         []int32 `json:"isr"`
	Leader      int32   `json:"leader"` // NoLeader if none
	LeaderEpoch int32   `json:"leaderEpoch"`
	// PartitionEpoch changes with every change of the partition (leader,
	// ISR, replicas); AlterPartition requests name the one they saw.
	PartitionEpoch int32 `json:"partitionEpoch"`
	// Adding and Removing are set while a reassignment moves the
	// partition: Replicas then holds both the old and the target replicas,
	// the target being Replicas less Removing.
	Adding   []int32 `json:"adding,omitempty"`
	Removing []int32 `json:"removing,omitempty"`
}

// Reassigning reports whether a reassignment of the partition is under way.
func (p Partition) Reassigning() bool { return len(p.Adding) > 0 || len(p.Removing) > 0 }

func (p Partition) clone() Partition {
	p.Replicas = slices.Clone(p.Replicas)
	p.ISR = slices.Clone(p.ISR)
	p.Adding = slices.Clone(p.Adding)
	p.Removing = slices.Clone(p.Removing)
	return p
}

// HasReplica reports whether broker id holds a replica of the partition.
func (p Partition) HasReplica(id int32) bool { return slices.Contains(p.Replicas, id) }

// InISR reports whether broker id is in the partition's ISR.
func (p Partition) InISR(id int32) bool { return slices.Contains(p.ISR, id) }

// Topic is one topic's metadata. Values returned by [Store] are copies;
// callers may keep and modify them.
type Topic struct {
	Name              string            `json:"name"`
	ID                [16]byte          `json:"id"`
	Partitions        int32             `json:"partitions"` // len(Assignment) once assigned
	ReplicationFactor int16             `json:"replicationFactor"`
	Configs           map[string]string `json:"configs,omitempty"` // overrides only
	Internal          bool              `json:"internal,omitempty"`
	// Assignment is the replication state of each partition, by index.
	Assignment []Partition `json:"assignment,omitempty"`
}

func (t Topic) clone() Topic {
	t.Configs = maps.Clone(t.Configs)
	if t.Assignment != nil {
		a := make([]Partition, len(t.Assignment))
		for i, p := range t.Assignment {
			a[i] = p.clone()
		}
		t.Assignment = a
	}
	return t
}

// PartitionState returns the state of partition i.
func (t Topic) PartitionState(i int32) (Partition, bool) {
	if i < 0 || int(i) >= len(t.Assignment) {
		return Partition{}, false
	}
	return t.Assignment[i], true
}

// State is the whole metadata image at one point of the metadata log. A
// State is immutable once published: every change builds a new one, sharing
// what did not change, so readers take it without locks and keep it as long
// as they like. Never modify a State or anything reachable from it.
type State struct {
	ClusterID string
	// Offset is the index of the last metadata log entry applied.
	Offset  uint64
	Brokers map[int32]Broker
	Topics  map[string]*Topic
	byID    map[[16]byte]string
	// NextProducerID is the first producer id not yet handed out.
	NextProducerID int64
	// Scram holds the SCRAM credentials, keyed by user and mechanism
	// (see [State.ScramCredential]); ACLs the access control entries.
	Scram map[string]ScramCredential
	ACLs  []ACL
}

func emptyState() *State {
	return &State{Brokers: map[int32]Broker{}, Topics: map[string]*Topic{}, byID: map[[16]byte]string{}}
}

// shallow returns a copy of s whose maps may be modified; the values they
// hold are still shared and must be replaced, not modified.
func (s *State) shallow() *State {
	n := *s
	n.Brokers = maps.Clone(s.Brokers)
	n.Topics = maps.Clone(s.Topics)
	n.byID = maps.Clone(s.byID)
	return &n
}

// TopicByID returns the topic with the given id.
func (s *State) TopicByID(id [16]byte) (*Topic, bool) {
	name, ok := s.byID[id]
	if !ok {
		return nil, false
	}
	return s.Topics[name], true
}

// SortedTopics returns the topics sorted by name (shared, read-only).
func (s *State) SortedTopics() []*Topic {
	out := make([]*Topic, 0, len(s.Topics))
	for _, t := range s.Topics {
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b *Topic) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// LiveBrokers returns the unfenced brokers, sorted by id.
func (s *State) LiveBrokers() []Broker {
	var out []Broker
	for _, b := range s.Brokers {
		if !b.Fenced {
			out = append(out, b)
		}
	}
	slices.SortFunc(out, func(a, b Broker) int { return int(a.ID - b.ID) })
	return out
}

// alive reports whether broker id is registered and not fenced.
func (s *State) alive(id int32) bool {
	b, ok := s.Brokers[id]
	return ok && !b.Fenced
}

// Clone returns a deep copy of t.
func (t Topic) Clone() Topic { return t.clone() }
