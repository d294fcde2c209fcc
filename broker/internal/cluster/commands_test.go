package cluster

import (
	"maps"
	"slices"
	"testing"

	"github.com/hashicorp/raft"
	"github.com/stretchr/testify/require"
)

// threeBrokers is a state with brokers 1-3 alive and topic t, one
// partition on replicas [1 2 3], led by 1.
func threeBrokers(t *testing.T) *State {
	t.Helper()
	s := emptyState()
	var err error
	for id := int32(1); id <= 4; id++ {
		s, _, err = apply(s, command{Op: opRegister, Broker: &Broker{ID: id}}, uint64(id))
		require.NoError(t, err)
		s, _, err = apply(s, command{Op: opUnfence, BrokerID: id}, uint64(id))
		require.NoError(t, err)
	}
	s, _, err = apply(s, command{Op: opCreateTopic, Topic: &Topic{Name: "t", ID: [16]byte{1}, Partitions: 1,
		Assignment: []Partition{{Replicas: []int32{1, 2, 3}, ISR: []int32{1, 2, 3}, Leader: 1}}}}, 10)
	require.NoError(t, err)
	return s
}

func partition(t *testing.T, s *State) Partition {
	t.Helper()
	p, ok := s.Topics["t"].PartitionState(0)
	require.True(t, ok)
	return p
}

func TestFenceMovesLeadershipToInSyncReplica(t *testing.T) {
	s := threeBrokers(t)
	s, _, err := apply(s, command{Op: opFence, BrokerID: 1}, 11)
	require.NoError(t, err)
	p := partition(t, s)
	require.Equal(t, int32(2), p.Leader, "the next in-sync replica in replica order")
	require.Equal(t, int32(1), p.LeaderEpoch)
	require.Equal(t, []int32{2, 3}, p.ISR)

	// The last in-sync replica stays in the ISR: no unclean election.
	s, _, _ = apply(s, command{Op: opFence, BrokerID: 2}, 12)
	s, _, _ = apply(s, command{Op: opFence, BrokerID: 3}, 13)
	p = partition(t, s)
	require.Equal(t, NoLeader, p.Leader)
	require.Equal(t, []int32{3}, p.ISR)
	// It leads again when it comes back; broker 1 (out of sync) never does.
	s, _, _ = apply(s, command{Op: opUnfence, BrokerID: 1}, 14)
	require.Equal(t, NoLeader, partition(t, s).Leader)
	s, _, _ = apply(s, command{Op: opUnfence, BrokerID: 3}, 15)
	require.Equal(t, int32(3), partition(t, s).Leader)
}

func TestControlledShutdownKeepsLastInSyncReplica(t *testing.T) {
	s := threeBrokers(t)
	s, _, err := apply(s, command{Op: opShutdown, BrokerID: 1}, 11)
	require.NoError(t, err)
	p := partition(t, s)
	require.Equal(t, int32(2), p.Leader)
	require.Equal(t, []int32{2, 3}, p.ISR)
	require.True(t, s.Brokers[1].ShuttingDown)
	require.False(t, s.Brokers[1].Fenced)
}

func TestAlterPartitionChecks(t *testing.T) {
	s := threeBrokers(t)
	p := partition(t, s)
	alter := func(a AlterPartition) error {
		_, _, err := apply(s, command{Op: opAlter, Alter: &a}, 20)
		return err
	}
	base := AlterPartition{Topic: "t", Partition: 0, Leader: 1, LeaderEpoch: p.LeaderEpoch, PartitionEpoch: p.PartitionEpoch}
	for _, tc := range []struct {
		name string
		edit func(*AlterPartition)
		want error
	}{
		{"shrink", func(a *AlterPartition) { a.ISR = []int32{1, 2} }, nil},
		{"not the leader", func(a *AlterPartition) { a.Leader, a.ISR = 2, []int32{2} }, ErrFencedLeaderEpoch},
		{"old leader epoch", func(a *AlterPartition) { a.LeaderEpoch, a.ISR = -1, []int32{1} }, ErrFencedLeaderEpoch},
		{"stale partition epoch", func(a *AlterPartition) { a.PartitionEpoch, a.ISR = 7, []int32{1} }, ErrInvalidUpdateVersion},
		{"leader left out", func(a *AlterPartition) { a.ISR = []int32{2, 3} }, ErrInvalidRequest},
		{"not a replica", func(a *AlterPartition) { a.ISR = []int32{1, 4} }, ErrIneligibleReplica},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := base
			tc.edit(&a)
			err := alter(a)
			if tc.want == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tc.want)
		})
	}
}

func TestReassignAddsThenRemoves(t *testing.T) {
	s := threeBrokers(t)
	s, _, err := apply(s, command{Op: opReassign, Name: "t", Parts: []Partition{{Replicas: []int32{4, 2, 3}}}}, 11)
	require.NoError(t, err)
	p := partition(t, s)
	require.Equal(t, []int32{4, 2, 3, 1}, p.Replicas, "target, then the replicas leaving")
	require.Equal(t, []int32{4}, p.Adding)
	require.Equal(t, []int32{1}, p.Removing)
	require.Equal(t, int32(1), p.Leader, "the leader stays until the move completes")

	_, _, err = apply(s, command{Op: opCompleteReassign, Name: "t"}, 12)
	require.ErrorIs(t, err, ErrInvalidRequest, "4 has not caught up")

	s, _, err = apply(s, command{Op: opAlter, Alter: &AlterPartition{Topic: "t", Leader: 1,
		LeaderEpoch: p.LeaderEpoch, PartitionEpoch: p.PartitionEpoch, ISR: []int32{1, 2, 3, 4}}}, 13)
	require.NoError(t, err)
	s, _, err = apply(s, command{Op: opCompleteReassign, Name: "t"}, 14)
	require.NoError(t, err)
	p = partition(t, s)
	require.Equal(t, []int32{4, 2, 3}, p.Replicas)
	require.Equal(t, []int32{2, 3, 4}, p.ISR)
	require.False(t, p.Reassigning())
	require.Equal(t, int32(4), p.Leader, "the old leader left: the first in-sync target replica leads")

	// Cancelling puts the replicas back.
	s, _, _ = apply(s, command{Op: opReassign, Name: "t", Parts: []Partition{{Replicas: []int32{1, 2, 3}}}}, 15)
	s, _, err = apply(s, command{Op: opCancelReassign, Name: "t"}, 16)
	require.NoError(t, err)
	p = partition(t, s)
	require.ElementsMatch(t, []int32{4, 2, 3}, p.Replicas)
	require.False(t, p.Reassigning())
}

func TestApplyIsPure(t *testing.T) {
	s := threeBrokers(t)
	before := partition(t, s)
	_, _, err := apply(s, command{Op: opFence, BrokerID: 1}, 11)
	require.NoError(t, err)
	require.Equal(t, before, partition(t, s), "apply must not modify the state it was given")
	require.False(t, s.Brokers[1].Fenced)
}

// Any metadata log entry, however malformed, is applied or refused without
// a panic, and never changes the state it was given.
func FuzzApply(f *testing.F) {
	for _, c := range []command{
		{Op: opRegister, Broker: &Broker{ID: 9}},
		{Op: opFence, BrokerID: 2},
		{Op: opAlter, Alter: &AlterPartition{Topic: "t", Leader: 1, ISR: []int32{1}}},
		{Op: opReassign, Name: "t", Parts: []Partition{{Replicas: []int32{3, 2, 1}}}},
		{Op: opCreateTopic, Topic: &Topic{Name: "u", Partitions: 1, Assignment: []Partition{{Replicas: []int32{1}, ISR: []int32{1}, Leader: 1}}}},
		{Op: opAllocatePIDs, Count: 10},
		{Op: opSetScram, Scram: &testScram},
		{Op: opDeleteScram, Scram: &ScramCredential{User: "alice", Mechanism: "SCRAM-SHA-256"}},
		{Op: opCreateACLs, ACLs: []ACL{testACL}},
		{Op: opDeleteACLs, ACLs: []ACL{testACL}},
	} {
		f.Add(c.encode())
	}
	f.Add([]byte(`{"op":"register"}`))
	f.Add([]byte(`{"op":"reassign","name":"t","parts":[{"replicas":[]}]}`))
	f.Add([]byte(`{"op":"setScram","scram":{"user":"x","mechanism":"SCRAM-SHA-1"}}`))
	f.Add([]byte(`{"op":"createAcls","acls":[{"resourceType":4,"resourceName":"t"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s := secured(t, threeBrokers(t))
		before := partition(t, s)
		scram, acls := maps.Clone(s.Scram), slices.Clone(s.ACLs)
		f := newFSM()
		f.state.Store(s)
		_ = f.Apply(&raft.Log{Index: 100, Type: raft.LogCommand, Data: data})
		require.Equal(t, before, partition(t, s))
		require.Equal(t, scram, s.Scram)
		require.Equal(t, acls, s.ACLs)
	})
}
