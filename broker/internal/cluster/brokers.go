package cluster

import (
	"context"
	"crypto/rand"
)

// Init sets the cluster id on a new quorum: id if not empty, else a random
// one. A quorum that has an id keeps it; the id in force is returned.
// Controller only.
func (n *Node) Init(ctx context.Context, id string) (string, error) {
	if id == "" {
		id = newClusterID()
	}
	v, err := n.propose(ctx, command{Op: opInit, ClusterID: id})
	if err != nil {
		return "", err
	}
	return v.(string), nil
}

// newClusterID returns a random id in Kafka's form: 16 bytes, base64url, no padding.
func newClusterID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return encodeUUID(b)
}

// RegisterBroker records a broker's endpoint and incarnation. It stays
// fenced until [Node.Unfence]. Controller only.
func (n *Node) RegisterBroker(ctx context.Context, b Broker) (Broker, error) {
	v, err := n.propose(ctx, command{Op: opRegister, Broker: &b})
	if err != nil {
		return Broker{}, err
	}
	return v.(Broker), nil
}

// Unfence marks a registered broker alive; it becomes the leader of the
// leaderless partitions whose ISR holds it. Controller only.
func (n *Node) Unfence(ctx context.Context, id int32) error {
	_, err := n.propose(ctx, command{Op: opUnfence, BrokerID: id})
	return err
}

// Fence marks a broker dead: it leaves every ISR it can leave and its
// leaderships move to other in-sync replicas. Controller only.
func (n *Node) Fence(ctx context.Context, id int32) error {
	_, err := n.propose(ctx, command{Op: opFence, BrokerID: id})
	return err
}

// BeginShutdown moves a broker's leaderships to other in-sync replicas and
// takes it out of their ISRs, ahead of a controlled shutdown; partitions it
// is the only in-sync replica of stay with it. Controller only.
func (n *Node) BeginShutdown(ctx context.Context, id int32) error {
	_, err := n.propose(ctx, command{Op: opShutdown, BrokerID: id})
	return err
}

// AllocateProducerIDs reserves count producer ids and returns the first.
// Ids are never handed out twice, also across restarts and controller
// changes. Controller only.
func (n *Node) AllocateProducerIDs(ctx context.Context, count int64) (int64, error) {
	v, err := n.propose(ctx, command{Op: opAllocatePIDs, Count: count})
	if err != nil {
		return 0, err
	}
	return v.(int64), nil
}
