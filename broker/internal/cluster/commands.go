package cluster

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
)

// Errors of metadata changes; callers map them to Kafka error codes.
var (
	ErrTopicExists       = errors.New("topic already exists")
	ErrNoSuchTopic       = errors.New("unknown topic")
	ErrInvalidCount      = errors.New("invalid partition count")
	ErrReplicationFactor = errors.New("invalid replication factor")
	ErrNoSuchPartition   = errors.New("unknown partition")
	ErrNoSuchBroker      = errors.New("unknown broker")
	// ErrFencedLeaderEpoch: an AlterPartition from a leader of an older epoch.
	ErrFencedLeaderEpoch = errors.New("fenced leader epoch")
	// ErrInvalidUpdateVersion: an AlterPartition based on an older partition epoch.
	ErrInvalidUpdateVersion = errors.New("stale partition epoch")
	// ErrIneligibleReplica: an ISR expansion to a replica that is fenced,
	// shutting down or not a replica at all.
	ErrIneligibleReplica = errors.New("ineligible replica")
	ErrInvalidRequest    = errors.New("invalid metadata change")
	ErrNoReassignment    = errors.New("no reassignment in progress")
)

// command is one entry of the metadata log. Exactly one field besides Op is
// set. Apply is deterministic: everything random or time-based (ids,
// assignments) is decided by the proposer and carried in the command.
type command struct {
	Op string `json:"op"`

	ClusterID string            `json:"clusterId,omitempty"`
	Broker    *Broker           `json:"broker,omitempty"`
	BrokerID  int32             `json:"brokerId,omitempty"`
	Topic     *Topic            `json:"topic,omitempty"`
	Name      string            `json:"name,omitempty"`
	Parts     []Partition       `json:"parts,omitempty"`
	Configs   map[string]string `json:"configs,omitempty"`
	Alter     *AlterPartition   `json:"alter,omitempty"`
	Index     int32             `json:"index,omitempty"`
	Count     int64             `json:"count,omitempty"`
	Scram     *ScramCredential  `json:"scram,omitempty"`
	ACLs      []ACL             `json:"acls,omitempty"`
}

const (
	opInit             = "init"
	opRegister         = "register"
	opFence            = "fence"
	opUnfence          = "unfence"
	opShutdown         = "shutdown"
	opCreateTopic      = "createTopic"
	opDeleteTopic      = "deleteTopic"
	opAddPartitions    = "addPartitions"
	opSetConfigs       = "setConfigs"
	opAlter            = "alterPartition"
	opElect            = "electPreferred"
	opReassign         = "reassign"
	opCancelReassign   = "cancelReassign"
	opCompleteReassign = "completeReassign"
	opAllocatePIDs     = "allocateProducerIds"
	opSetScram         = "setScram"
	opDeleteScram      = "deleteScram"
	opCreateACLs       = "createAcls"
	opDeleteACLs       = "deleteAcls"
)

// AlterPartition is a partition leader's request to change its ISR
// (Kafka's AlterPartition).
type AlterPartition struct {
	Topic          string  `json:"topic"`
	Partition      int32   `json:"partition"`
	Leader         int32   `json:"leader"`
	LeaderEpoch    int32   `json:"leaderEpoch"`
	PartitionEpoch int32   `json:"partitionEpoch"`
	ISR            []int32 `json:"isr"`
}

func (c command) encode() []byte {
	b, err := json.Marshal(c)
	if err != nil { // only plain data: cannot happen
		panic(fmt.Sprintf("cluster: encode %s: %v", c.Op, err))
	}
	return b
}

// apply returns the state after c, and the command's result (the changed
// topic, partition or producer id block start). It never modifies s.
func apply(s *State, c command, index uint64) (*State, any, error) {
	if err := c.check(); err != nil {
		return s, nil, err
	}
	switch c.Op {
	case opInit:
		if s.ClusterID != "" {
			return s, s.ClusterID, nil // a second bootstrap keeps the first id
		}
		n := s.shallow()
		n.ClusterID = c.ClusterID
		return n, n.ClusterID, nil
	case opRegister:
		return applyRegister(s, *c.Broker, index)
	case opFence:
		return applyFence(s, c.BrokerID, true)
	case opShutdown:
		return applyFence(s, c.BrokerID, false)
	case opUnfence:
		return applyUnfence(s, c.BrokerID)
	case opCreateTopic:
		return applyCreateTopic(s, *c.Topic)
	case opDeleteTopic:
		t, ok := s.Topics[c.Name]
		if !ok {
			return s, nil, fmt.Errorf("topic %q: %w", c.Name, ErrNoSuchTopic)
		}
		n := s.shallow()
		delete(n.Topics, c.Name)
		delete(n.byID, t.ID)
		return n, t.clone(), nil
	case opAddPartitions:
		return updateTopic(s, c.Name, func(t *Topic) error {
			if len(c.Parts) == 0 {
				return fmt.Errorf("topic %q has %d partitions, cannot set %d: %w", c.Name, t.Partitions, t.Partitions, ErrInvalidCount)
			}
			if err := checkAssignment(c.Parts); err != nil {
				return fmt.Errorf("topic %q: %w", c.Name, err)
			}
			t.Assignment = append(t.Assignment, c.Parts...)
			t.Partitions = int32(len(t.Assignment))
			return nil
		})
	case opSetConfigs:
		return updateTopic(s, c.Name, func(t *Topic) error {
			t.Configs = maps.Clone(c.Configs)
			return nil
		})
	case opAlter:
		return applyAlter(s, *c.Alter)
	case opElect:
		return updatePartition(s, c.Name, c.Index, func(p *Partition) error {
			if len(p.Replicas) == 0 {
				return fmt.Errorf("%s-%d has no replicas: %w", c.Name, c.Index, ErrInvalidRequest)
			}
			pref := p.Replicas[0]
			if p.Leader == pref {
				return nil
			}
			if !p.InISR(pref) || !s.alive(pref) || s.Brokers[pref].ShuttingDown {
				return fmt.Errorf("preferred leader %d of %s-%d is not an alive in-sync replica: %w", pref, c.Name, c.Index, ErrIneligibleReplica)
			}
			p.Leader = pref
			p.LeaderEpoch++
			return nil
		})
	case opReassign:
		return updatePartition(s, c.Name, c.Index, func(p *Partition) error {
			return reassign(s, p, c.Parts[0].Replicas)
		})
	case opCancelReassign:
		return updatePartition(s, c.Name, c.Index, func(p *Partition) error {
			if !p.Reassigning() {
				return fmt.Errorf("%s-%d: %w", c.Name, c.Index, ErrNoReassignment)
			}
			return finishReassign(s, p, p.Adding)
		})
	case opCompleteReassign:
		return updatePartition(s, c.Name, c.Index, func(p *Partition) error {
			if !p.Reassigning() {
				return fmt.Errorf("%s-%d: %w", c.Name, c.Index, ErrNoReassignment)
			}
			for _, r := range p.Adding {
				if !p.InISR(r) {
					return fmt.Errorf("%s-%d: replica %d has not caught up: %w", c.Name, c.Index, r, ErrInvalidRequest)
				}
			}
			return finishReassign(s, p, p.Removing)
		})
	case opAllocatePIDs:
		n := s.shallow()
		start := n.NextProducerID
		n.NextProducerID += c.Count
		return n, start, nil
	case opSetScram:
		return applySetScram(s, *c.Scram)
	case opDeleteScram:
		return applyDeleteScram(s, *c.Scram)
	case opCreateACLs:
		return applyCreateACLs(s, c.ACLs)
	case opDeleteACLs:
		return applyDeleteACLs(s, c.ACLs)
	}
	return s, nil, fmt.Errorf("metadata command %q: %w", c.Op, ErrInvalidRequest)
}

// check refuses a command missing what its op needs (a log entry this
// code did not write, or corrupt): every node refuses it alike.
func (c command) check() error {
	missing := false
	switch c.Op {
	case opRegister:
		missing = c.Broker == nil
	case opCreateTopic:
		missing = c.Topic == nil
	case opAlter:
		missing = c.Alter == nil
	case opReassign:
		missing = len(c.Parts) == 0
	case opAllocatePIDs:
		missing = c.Count <= 0
	case opSetScram, opDeleteScram:
		if err := checkScram(c.Scram, c.Op == opSetScram); err != nil {
			return err
		}
	case opCreateACLs, opDeleteACLs:
		missing = len(c.ACLs) == 0
		for _, a := range c.ACLs {
			if err := checkACL(a); err != nil {
				return err
			}
		}
	}
	if missing {
		return fmt.Errorf("metadata command %q is incomplete: %w", c.Op, ErrInvalidRequest)
	}
	return nil
}

func applyRegister(s *State, b Broker, index uint64) (*State, any, error) {
	n := s.shallow()
	b.Epoch = int64(index) // as KRaft: the offset of the registration
	b.Fenced = true        // until its first heartbeat, as in KRaft
	b.ShuttingDown = false
	n.Brokers[b.ID] = b
	return n, b, nil
}

// applyFence takes broker id out of every ISR it can leave and moves its
// leaderships to other in-sync replicas (Kafka's fencing and controlled
// shutdown). A partition whose ISR is the broker alone keeps it in the ISR
// (unclean election is off): it goes leaderless if fencing, and keeps its
// leader if only shutting down.
func applyFence(s *State, id int32, fence bool) (*State, any, error) {
	b, ok := s.Brokers[id]
	if !ok {
		return s, nil, fmt.Errorf("broker %d: %w", id, ErrNoSuchBroker)
	}
	n := s.shallow()
	if fence {
		b.Fenced = true
	}
	b.ShuttingDown = !fence
	n.Brokers[id] = b
	for name, t := range s.Topics {
		var nt *Topic
		for i, p := range t.Assignment {
			if !p.HasReplica(id) {
				continue
			}
			np := p.clone()
			changed := false
			if np.InISR(id) && len(np.ISR) > 1 {
				np.ISR = slices.DeleteFunc(np.ISR, func(r int32) bool { return r == id })
				changed = true
			}
			if np.Leader == id {
				if l := electFrom(n, np); l != id && (l != NoLeader || fence) {
					np.Leader = l
					np.LeaderEpoch++
					changed = true
				}
			}
			if !changed {
				continue
			}
			np.PartitionEpoch++
			if nt == nil {
				c := t.clone()
				nt = &c
			}
			nt.Assignment[i] = np
		}
		if nt != nil {
			n.Topics[name] = nt
		}
	}
	return n, nil, nil
}

// applyUnfence marks broker id alive and makes it the leader of the
// leaderless partitions whose ISR holds it.
func applyUnfence(s *State, id int32) (*State, any, error) {
	b, ok := s.Brokers[id]
	if !ok {
		return s, nil, fmt.Errorf("broker %d: %w", id, ErrNoSuchBroker)
	}
	n := s.shallow()
	b.Fenced, b.ShuttingDown = false, false
	n.Brokers[id] = b
	for name, t := range s.Topics {
		var nt *Topic
		for i, p := range t.Assignment {
			if p.Leader != NoLeader || !p.InISR(id) {
				continue
			}
			if nt == nil {
				c := t.clone()
				nt = &c
			}
			np := &nt.Assignment[i]
			np.Leader = electFrom(n, *np)
			np.LeaderEpoch++
			np.PartitionEpoch++
		}
		if nt != nil {
			n.Topics[name] = nt
		}
	}
	return n, nil, nil
}

// electFrom picks the leader of p among its alive in-sync replicas, in
// replica order (the preferred leader first), as Kafka's election does;
// NoLeader if there is none.
func electFrom(s *State, p Partition) int32 {
	for _, r := range p.Replicas {
		if p.InISR(r) && s.alive(r) && !s.Brokers[r].ShuttingDown {
			return r
		}
	}
	return NoLeader
}

func applyCreateTopic(s *State, t Topic) (*State, any, error) {
	if _, ok := s.Topics[t.Name]; ok {
		return s, nil, fmt.Errorf("topic %q: %w", t.Name, ErrTopicExists)
	}
	if len(t.Assignment) == 0 || int(t.Partitions) != len(t.Assignment) {
		return s, nil, fmt.Errorf("topic %q: %d partitions: %w", t.Name, t.Partitions, ErrInvalidCount)
	}
	if _, dup := s.byID[t.ID]; dup {
		return s, nil, fmt.Errorf("topic %q: id already used: %w", t.Name, ErrInvalidRequest)
	}
	if err := checkAssignment(t.Assignment); err != nil {
		return s, nil, fmt.Errorf("topic %q: %w", t.Name, err)
	}
	n := s.shallow()
	c := t.clone()
	n.Topics[t.Name] = &c
	n.byID[t.ID] = t.Name
	return n, c.clone(), nil
}

// checkAssignment refuses partitions without replicas, with a replica
// twice, or an ISR or leader outside their replicas.
func checkAssignment(parts []Partition) error {
	for i, p := range parts {
		seen := map[int32]bool{}
		for _, r := range p.Replicas {
			if seen[r] {
				return fmt.Errorf("partition %d names replica %d twice: %w", i, r, ErrInvalidRequest)
			}
			seen[r] = true
		}
		switch {
		case len(p.Replicas) == 0:
			return fmt.Errorf("partition %d has no replicas: %w", i, ErrReplicationFactor)
		case p.Leader != NoLeader && !seen[p.Leader]:
			return fmt.Errorf("partition %d: leader %d is not a replica: %w", i, p.Leader, ErrInvalidRequest)
		case slices.ContainsFunc(p.ISR, func(r int32) bool { return !seen[r] }):
			return fmt.Errorf("partition %d: ISR %v outside the replicas: %w", i, p.ISR, ErrInvalidRequest)
		}
	}
	return nil
}

func updateTopic(s *State, name string, fn func(*Topic) error) (*State, any, error) {
	t, ok := s.Topics[name]
	if !ok {
		return s, nil, fmt.Errorf("topic %q: %w", name, ErrNoSuchTopic)
	}
	c := t.clone()
	if err := fn(&c); err != nil {
		return s, nil, err
	}
	n := s.shallow()
	n.Topics[name] = &c
	return n, c.clone(), nil
}

func updatePartition(s *State, name string, index int32, fn func(*Partition) error) (*State, any, error) {
	var out Partition
	n, _, err := updateTopic(s, name, func(t *Topic) error {
		if index < 0 || int(index) >= len(t.Assignment) {
			return fmt.Errorf("%s-%d: %w", name, index, ErrNoSuchPartition)
		}
		p := &t.Assignment[index]
		before := p.clone()
		if err := fn(p); err != nil {
			return err
		}
		if !slices.Equal(before.ISR, p.ISR) || !slices.Equal(before.Replicas, p.Replicas) ||
			before.Leader != p.Leader || before.LeaderEpoch != p.LeaderEpoch {
			p.PartitionEpoch++
		}
		out = p.clone()
		return nil
	})
	if err != nil {
		return s, nil, err
	}
	return n, out, nil
}

func applyAlter(s *State, a AlterPartition) (*State, any, error) {
	return updatePartition(s, a.Topic, a.Partition, func(p *Partition) error {
		switch {
		case a.Leader != p.Leader || a.LeaderEpoch < p.LeaderEpoch:
			return fmt.Errorf("%s-%d: leader %d epoch %d, current leader %d epoch %d: %w",
				a.Topic, a.Partition, a.Leader, a.LeaderEpoch, p.Leader, p.LeaderEpoch, ErrFencedLeaderEpoch)
		case a.LeaderEpoch > p.LeaderEpoch:
			return fmt.Errorf("%s-%d: leader epoch %d is newer than %d: %w", a.Topic, a.Partition, a.LeaderEpoch, p.LeaderEpoch, ErrInvalidRequest)
		case a.PartitionEpoch != p.PartitionEpoch:
			return fmt.Errorf("%s-%d: partition epoch %d, current %d: %w", a.Topic, a.Partition, a.PartitionEpoch, p.PartitionEpoch, ErrInvalidUpdateVersion)
		case !slices.Contains(a.ISR, a.Leader):
			return fmt.Errorf("%s-%d: ISR %v without its leader %d: %w", a.Topic, a.Partition, a.ISR, a.Leader, ErrInvalidRequest)
		}
		for _, r := range a.ISR {
			if !p.HasReplica(r) {
				return fmt.Errorf("%s-%d: %d is not a replica: %w", a.Topic, a.Partition, r, ErrIneligibleReplica)
			}
			if !p.InISR(r) && (!s.alive(r) || s.Brokers[r].ShuttingDown) {
				return fmt.Errorf("%s-%d: replica %d is fenced or shutting down: %w", a.Topic, a.Partition, r, ErrIneligibleReplica)
			}
		}
		isr := slices.Clone(a.ISR)
		slices.Sort(isr)
		p.ISR = slices.Compact(isr)
		return nil
	})
}

// reassign starts moving partition p to the replicas target, as Kafka's
// reassignment does: the replicas to add join Replicas (and fetch as
// followers; their leader adds them to the ISR once they have caught up),
// and the controller completes the move (finishReassign of Removing) once
// every added replica is in sync. A target that adds nothing completes at
// once. A new target replaces one under way.
func reassign(s *State, p *Partition, target []int32) error {
	if len(target) == 0 {
		return fmt.Errorf("empty replica list: %w", ErrReplicationFactor)
	}
	seen := map[int32]bool{}
	for _, r := range target {
		if _, ok := s.Brokers[r]; !ok || seen[r] {
			return fmt.Errorf("replica %d is unknown or repeated: %w", r, ErrIneligibleReplica)
		}
		seen[r] = true
	}
	original := slices.DeleteFunc(slices.Clone(p.Replicas), func(r int32) bool { return slices.Contains(p.Adding, r) })
	p.Adding, p.Removing = nil, nil
	for _, r := range target {
		if !slices.Contains(original, r) {
			p.Adding = append(p.Adding, r)
		}
	}
	for _, r := range original {
		if !seen[r] {
			p.Removing = append(p.Removing, r)
		}
	}
	// The target first, in its order (its first replica is the preferred
	// leader), then the replicas leaving.
	p.Replicas = append(slices.Clone(target), p.Removing...)
	p.ISR = slices.DeleteFunc(p.ISR, func(r int32) bool { return !slices.Contains(p.Replicas, r) })
	if len(p.Adding) == 0 {
		if !slices.ContainsFunc(target, p.InISR) {
			return fmt.Errorf("no replica of %v is in the ISR %v: %w", target, p.ISR, ErrIneligibleReplica)
		}
		return finishReassign(s, p, p.Removing)
	}
	return nil
}

// finishReassign ends a reassignment by dropping the replicas in drop
// (Removing to complete it, Adding to cancel it) from the replicas and the
// ISR; the leader moves if it is dropped.
func finishReassign(s *State, p *Partition, drop []int32) error {
	keep := func(r int32) bool { return !slices.Contains(drop, r) }
	isr := slices.DeleteFunc(slices.Clone(p.ISR), func(r int32) bool { return !keep(r) })
	if len(isr) == 0 {
		return fmt.Errorf("no replica would be left in the ISR %v: %w", p.ISR, ErrIneligibleReplica)
	}
	p.Replicas = slices.DeleteFunc(p.Replicas, func(r int32) bool { return !keep(r) })
	p.ISR = isr
	p.Adding, p.Removing = nil, nil
	if !keep(p.Leader) || p.Leader == NoLeader {
		np := *p
		p.Leader = electFrom(s, np)
		p.LeaderEpoch++
	}
	return nil
}
