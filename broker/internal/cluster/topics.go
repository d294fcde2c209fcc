package cluster

import (
	"context"
	"crypto/rand"
	"fmt"
	"math/big"
	"slices"
)

// Topic returns a copy of the named topic.
func (n *Node) Topic(name string) (Topic, bool) {
	t, ok := n.State().Topics[name]
	if !ok {
		return Topic{}, false
	}
	return t.clone(), true
}

// TopicByID returns a copy of the topic with the given id.
func (n *Node) TopicByID(id [16]byte) (Topic, bool) {
	t, ok := n.State().TopicByID(id)
	if !ok {
		return Topic{}, false
	}
	return t.clone(), true
}

// Topics returns copies of every topic, sorted by name.
func (n *Node) Topics() []Topic {
	ts := n.State().SortedTopics()
	out := make([]Topic, len(ts))
	for i, t := range ts {
		out[i] = t.clone()
	}
	return out
}

// PartitionCount returns the number of partitions of the named topic, 0 if
// there is no such topic. It copies nothing, for hot paths.
func (n *Node) PartitionCount(name string) int32 {
	t, ok := n.State().Topics[name]
	if !ok {
		return 0
	}
	return t.Partitions
}

// ClusterID returns the cluster id; empty until the quorum has started.
func (n *Node) ClusterID() string { return n.State().ClusterID }

// Epoch returns a counter that changes with every metadata change.
func (n *Node) Epoch() int64 { return int64(n.State().Offset) }

// CreateTopic creates t with a fresh id (unless t.ID is set), placing rf replicas of each of its
// partitions on the live brokers (t.Assignment, if set, is used as given).
// Controller only.
func (n *Node) CreateTopic(ctx context.Context, t Topic) (Topic, error) {
	if t.Partitions < 1 {
		return Topic{}, fmt.Errorf("topic %q: %d partitions: %w", t.Name, t.Partitions, ErrInvalidCount)
	}
	s := n.State()
	if _, ok := s.Topics[t.Name]; ok {
		return Topic{}, fmt.Errorf("topic %q: %w", t.Name, ErrTopicExists)
	}
	t = t.clone()
	if t.Assignment == nil {
		a, err := assign(s.LiveBrokers(), 0, t.Partitions, t.ReplicationFactor)
		if err != nil {
			return Topic{}, fmt.Errorf("topic %q: %w", t.Name, err)
		}
		t.Assignment = a
	}
	if t.ID == ([16]byte{}) {
		_, _ = rand.Read(t.ID[:])
	}
	v, err := n.propose(ctx, command{Op: opCreateTopic, Topic: &t})
	if err != nil {
		return Topic{}, err
	}
	return v.(Topic), nil
}

// DeleteTopic removes a topic. Controller only.
func (n *Node) DeleteTopic(ctx context.Context, name string) (Topic, error) {
	v, err := n.propose(ctx, command{Op: opDeleteTopic, Name: name})
	if err != nil {
		return Topic{}, err
	}
	return v.(Topic), nil
}

// SetPartitions grows a topic to count partitions, placing the new ones on
// the live brokers with the topic's replication factor. Controller only.
func (n *Node) SetPartitions(ctx context.Context, name string, count int32) (Topic, error) {
	t, ok := n.State().Topics[name]
	if !ok {
		return Topic{}, fmt.Errorf("topic %q: %w", name, ErrNoSuchTopic)
	}
	if count <= t.Partitions {
		return Topic{}, fmt.Errorf("topic %q has %d partitions, cannot set %d: %w", name, t.Partitions, count, ErrInvalidCount)
	}
	rf := t.ReplicationFactor
	if len(t.Assignment) > 0 {
		rf = int16(len(t.Assignment[0].Replicas))
	}
	parts, err := assign(n.State().LiveBrokers(), t.Partitions, count-t.Partitions, rf)
	if err != nil {
		return Topic{}, fmt.Errorf("topic %q: %w", name, err)
	}
	v, err := n.propose(ctx, command{Op: opAddPartitions, Name: name, Parts: parts})
	if err != nil {
		return Topic{}, err
	}
	return v.(Topic), nil
}

// SetConfigs replaces a topic's config overrides. Controller only.
func (n *Node) SetConfigs(ctx context.Context, name string, configs map[string]string) (Topic, error) {
	v, err := n.propose(ctx, command{Op: opSetConfigs, Name: name, Configs: configs})
	if err != nil {
		return Topic{}, err
	}
	return v.(Topic), nil
}

// AlterPartition applies a partition leader's ISR change and returns the
// partition's new state. Controller only.
func (n *Node) AlterPartition(ctx context.Context, a AlterPartition) (Partition, error) {
	v, err := n.propose(ctx, command{Op: opAlter, Alter: &a})
	if err != nil {
		return Partition{}, err
	}
	return v.(Partition), nil
}

// ElectPreferred makes the first replica of a partition its leader, if it
// is an alive in-sync replica (Kafka's preferred leader election).
// Controller only.
func (n *Node) ElectPreferred(ctx context.Context, topic string, index int32) (Partition, error) {
	v, err := n.propose(ctx, command{Op: opElect, Name: topic, Index: index})
	if err != nil {
		return Partition{}, err
	}
	return v.(Partition), nil
}

// Reassign starts moving a partition to replicas (see reassign).
// Controller only.
func (n *Node) Reassign(ctx context.Context, topic string, index int32, replicas []int32) (Partition, error) {
	v, err := n.propose(ctx, command{Op: opReassign, Name: topic, Index: index, Parts: []Partition{{Replicas: replicas}}})
	if err != nil {
		return Partition{}, err
	}
	return v.(Partition), nil
}

// assign places count partitions, numbered from first, with rf replicas
// each on brokers, as Kafka's rack-unaware assignment does: the leaders
// (first replicas) go round the brokers from a random start, and each
// partition's followers are the brokers after its leader.
func assign(brokers []Broker, first, count int32, rf int16) ([]Partition, error) {
	if rf < 1 || int(rf) > len(brokers) {
		return nil, fmt.Errorf("replication factor %d with %d live brokers: %w", rf, len(brokers), ErrReplicationFactor)
	}
	ids := make([]int32, len(brokers))
	for i, b := range brokers {
		ids[i] = b.ID
	}
	slices.Sort(ids)
	start := int32(0)
	if r, err := rand.Int(rand.Reader, big.NewInt(int64(len(ids)))); err == nil {
		start = int32(r.Int64())
	}
	out := make([]Partition, count)
	for i := range count {
		p := Partition{Leader: NoLeader}
		for j := range int32(rf) {
			p.Replicas = append(p.Replicas, ids[(start+first+i+j)%int32(len(ids))])
		}
		p.ISR = slices.Clone(p.Replicas)
		slices.Sort(p.ISR)
		p.Leader = p.Replicas[0]
		out[i] = p
	}
	return out, nil
}

// CancelReassignment reverts a reassignment under way. Controller only.
func (n *Node) CancelReassignment(ctx context.Context, topic string, index int32) (Partition, error) {
	v, err := n.propose(ctx, command{Op: opCancelReassign, Name: topic, Index: index})
	if err != nil {
		return Partition{}, err
	}
	return v.(Partition), nil
}

// CompleteReassignment ends a reassignment whose added replicas are all in
// sync. Controller only.
func (n *Node) CompleteReassignment(ctx context.Context, topic string, index int32) (Partition, error) {
	v, err := n.propose(ctx, command{Op: opCompleteReassign, Name: topic, Index: index})
	if err != nil {
		return Partition{}, err
	}
	return v.(Partition), nil
}
