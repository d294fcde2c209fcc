package replica

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/kspring/kspring/broker/internal/batch"
)

// alters records the ISR changes a leader asks for and confirms them.
type alters struct {
	mu   sync.Mutex
	reqs []AlterRequest
}

func (a *alters) alter(_ context.Context, r AlterRequest) (State, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.reqs = append(a.reqs, r)
	return State{Leader: r.Leader, LeaderEpoch: r.LeaderEpoch, PartitionEpoch: r.PartitionEpoch + 1,
		Replicas: []int32{1, 2, 3}, ISR: r.ISR}, nil
}

func (a *alters) last() (AlterRequest, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.reqs) == 0 {
		return AlterRequest{}, false
	}
	return a.reqs[len(a.reqs)-1], true
}

// leaderOf3 opens a partition led by broker 1 with replicas 1-3, all in
// sync, min.insync.replicas=2.
func leaderOf3(t *testing.T) (*Partition, *alters) {
	t.Helper()
	a := &alters{}
	m, err := NewManager([]string{t.TempDir()}, zaptest.NewLogger(t), Options{NodeID: 1, AlterISR: a.alter})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, m.Close()) })
	p, err := m.Open("t", 0, [16]byte{}, settings(t, map[string]string{"min.insync.replicas": "2"}))
	require.NoError(t, err)
	m.SetState(p, State{Leader: 1, LeaderEpoch: 0, Replicas: []int32{1, 2, 3}, ISR: []int32{1, 2, 3}})
	return p, a
}

func appendN(t *testing.T, p *Partition, n int) {
	t.Helper()
	for range n {
		_, err := p.Append(batch.Build(nil, 0, time.Now().UnixMilli(), []batch.Record{{Value: []byte("v")}}), -1, time.Now())
		require.NoError(t, err)
	}
}

func TestHighWatermarkFollowsSlowestInSyncReplica(t *testing.T) {
	p, _ := leaderOf3(t)
	appendN(t, p, 5)
	require.Equal(t, int64(0), p.HighWatermark(), "followers not heard from")
	now := time.Now()
	div, err := p.FollowerFetch(2, 0, -1, 5, now)
	require.NoError(t, err)
	require.Nil(t, div)
	require.Equal(t, int64(0), p.HighWatermark(), "follower 3 has nothing yet")
	_, err = p.FollowerFetch(3, 0, -1, 3, now)
	require.NoError(t, err)
	require.Equal(t, int64(3), p.HighWatermark())

	// acks=all waits for the HW; it is met once follower 3 fetches past 5.
	done := make(chan error, 1)
	go func() { done <- p.WaitReplicated(context.Background(), 5) }()
	select {
	case err := <-done:
		t.Fatalf("acks=all completed before replication: %v", err)
	case <-time.After(20 * time.Millisecond):
	}
	_, err = p.FollowerFetch(3, 0, 0, 5, now)
	require.NoError(t, err)
	require.NoError(t, <-done)
	require.Equal(t, int64(5), p.HighWatermark())
}

func TestLaggingFollowerLeavesISRThenReturns(t *testing.T) {
	p, a := leaderOf3(t)
	appendN(t, p, 2)
	now := time.Now()
	_, err := p.FollowerFetch(2, 0, -1, 2, now)
	require.NoError(t, err)
	// Follower 3 never fetches: after the lag window it is dropped.
	p.CheckISR(now.Add(time.Second), 2*time.Second)
	_, asked := a.last()
	require.False(t, asked, "still within replica.lag.time.max.ms")
	_, err = p.FollowerFetch(2, 0, -1, 2, now.Add(3*time.Second)) // 2 keeps up
	require.NoError(t, err)
	p.CheckISR(now.Add(3*time.Second), 2*time.Second)
	require.Eventually(t, func() bool {
		_, st := p.Role()
		return slices.Equal(st.ISR, []int32{1, 2})
	}, 5*time.Second, time.Millisecond)
	require.Equal(t, int64(2), p.HighWatermark(), "the ISR is 1 and 2, both at 2")

	// acks=all with ISR of 2 and min.insync.replicas=2 still works; the
	// follower catches up and is taken back.
	_, err = p.FollowerFetch(3, 0, -1, 2, now.Add(4*time.Second))
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		_, st := p.Role()
		return slices.Equal(st.ISR, []int32{1, 2, 3})
	}, 5*time.Second, time.Millisecond)
}

func TestNotEnoughReplicas(t *testing.T) {
	p, _ := leaderOf3(t)
	p.SetState(State{Leader: 1, LeaderEpoch: 0, PartitionEpoch: 1, Replicas: []int32{1, 2, 3}, ISR: []int32{1}})
	_, err := p.Append(batch.Build(nil, 0, 0, []batch.Record{{Value: []byte("v")}}), -1, time.Now())
	require.ErrorIs(t, err, ErrNotEnoughReplicas)
	_, err = p.Append(batch.Build(nil, 0, 0, []batch.Record{{Value: []byte("v")}}), 1, time.Now())
	require.NoError(t, err, "acks=1 does not need the ISR")
}

func TestFollowerFetchChecks(t *testing.T) {
	p, _ := leaderOf3(t)
	appendN(t, p, 3)
	now := time.Now()
	_, err := p.FollowerFetch(9, 0, -1, 0, now)
	require.ErrorIs(t, err, ErrNotReplica)
	_, err = p.FollowerFetch(2, 1, -1, 0, now)
	require.ErrorIs(t, err, ErrUnknownEpoch)

	// A new leader epoch: a follower that fetched in epoch 0 past where
	// epoch 0 ended here has diverged.
	p.SetState(State{Leader: 1, LeaderEpoch: 2, PartitionEpoch: 3, Replicas: []int32{1, 2, 3}, ISR: []int32{1, 2, 3}})
	_, err = p.FollowerFetch(2, 1, -1, 0, now)
	require.ErrorIs(t, err, ErrFencedEpoch)
	div, err := p.FollowerFetch(2, 2, 0, 7, now)
	require.NoError(t, err)
	require.Equal(t, &Diverging{Epoch: 0, EndOffset: 3}, div)
	div, err = p.FollowerFetch(2, 2, 0, 3, now)
	require.NoError(t, err)
	require.Nil(t, div, "a follower at the end of epoch 0 is in line")

	// An older epoch's state is ignored.
	p.SetState(State{Leader: 2, LeaderEpoch: 1, Replicas: []int32{1, 2, 3}, ISR: []int32{1, 2, 3}})
	role, st := p.Role()
	require.Equal(t, RoleLeader, role)
	require.Equal(t, int32(2), st.LeaderEpoch)
}

func TestFollowerRefusesProduce(t *testing.T) {
	p, _ := leaderOf3(t)
	p.SetState(State{Leader: 2, LeaderEpoch: 1, Replicas: []int32{1, 2, 3}, ISR: []int32{1, 2, 3}})
	_, err := p.Append(batch.Build(nil, 0, 0, []batch.Record{{Value: []byte("v")}}), 1, time.Now())
	require.ErrorIs(t, err, ErrNotLeader)
	require.ErrorIs(t, p.WaitReplicated(context.Background(), 1), ErrNotLeader)
}
