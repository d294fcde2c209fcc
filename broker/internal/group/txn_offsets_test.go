package group

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// txnCommit commits offset for topic-0 in producer pid's transaction
// (TxnOffsetCommit v3 with no member) and returns the partition's code.
func txnCommit(c *Coordinator, group string, pid int64, epoch int16, topic string, offset int64) int16 {
	req := kmsg.NewPtrTxnOffsetCommitRequest()
	req.Version = 3
	req.TransactionalID = "tx"
	req.Group, req.ProducerID, req.ProducerEpoch = group, pid, epoch
	p := kmsg.NewTxnOffsetCommitRequestTopicPartition()
	p.Partition, p.Offset = 0, offset
	req.Topics = []kmsg.TxnOffsetCommitRequestTopic{{Topic: topic, Partitions: []kmsg.TxnOffsetCommitRequestTopicPartition{p}}}
	return c.TxnOffsetCommit(context.Background(), req).Topics[0].Partitions[0].ErrorCode
}

// stableFetch is OffsetFetch v7 with require_stable for topic-0: the
// offset and the partition's code.
func stableFetch(t testing.TB, c *Coordinator, group, topic string) (int64, int16) {
	t.Helper()
	req := kmsg.NewPtrOffsetFetchRequest()
	req.Version = 7
	req.Group, req.RequireStable = group, true
	req.Topics = []kmsg.OffsetFetchRequestTopic{{Topic: topic, Partitions: []int32{0}}}
	resp := c.OffsetFetch(context.Background(), req)
	require.NoError(t, code(resp.ErrorCode))
	p := resp.Topics[0].Partitions[0]
	return p.Offset, p.ErrorCode
}

// endTxn writes pid's marker to the group's partition and tells the
// coordinator, as WriteTxnMarkers does.
func (h *harness) endTxn(group string, pid int64, epoch int16, commit bool) {
	h.t.Helper()
	p := h.c.PartitionFor(group)
	require.NoError(h.t, h.store.marker(p, pid, epoch, commit))
	h.c.CompleteTxn(p, pid, commit)
}

// TestTxnOffsetsCommitOrAbort: transactional offsets are invisible until
// the commit marker, dropped by an abort, and UNSTABLE_OFFSET_COMMIT to a
// require_stable fetch while pending.
func TestTxnOffsetsCommitOrAbort(t *testing.T) {
	for _, tc := range []struct {
		name   string
		commit bool
		want   int64
	}{
		{"commit", true, 20},
		{"abort", false, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, testConfig())
			require.NoError(t, code(commitOffset(h.c, "g", -1, "", nil, "t", 0, 10)))
			require.NoError(t, code(txnCommit(h.c, "g", 7, 0, "t", 20)))

			require.Equal(t, int64(10), committed(t, h.c, "g", "t", 0), "pending offsets are invisible")
			off, c := stableFetch(t, h.c, "g", "t")
			require.Equal(t, kerr.UnstableOffsetCommit.Code, c, "got %v", code(c))
			require.Equal(t, int64(-1), off)
			require.Equal(t, kerr.NonEmptyGroup.Code, h.c.DeleteGroups(context.Background(), &kmsg.DeleteGroupsRequest{Version: 2, Groups: []string{"g"}}).Groups[0].ErrorCode,
				"deleting the group would lose the pending offsets")

			h.endTxn("g", 7, 0, tc.commit)
			require.Equal(t, tc.want, committed(t, h.c, "g", "t", 0))
			off, c = stableFetch(t, h.c, "g", "t")
			require.NoError(t, code(c))
			require.Equal(t, tc.want, off)

			h.restart()
			require.Equal(t, tc.want, committed(t, h.c, "g", "t", 0), "the load resolves the marker alike")
		})
	}
}

// TestTxnOffsetsLoad: loading a partition resolves pending offsets by the
// markers in the log, per producer, and keeps the offsets of a
// transaction still open pending until its marker.
func TestTxnOffsetsLoad(t *testing.T) {
	h := newHarness(t, testConfig())
	require.NoError(t, code(txnCommit(h.c, "g", 1, 0, "committed", 5)))
	require.NoError(t, code(txnCommit(h.c, "g", 2, 0, "aborted", 6)))
	require.NoError(t, code(txnCommit(h.c, "g", 3, 0, "open", 7)))
	// Markers written while no coordinator holds the partition: only the
	// log knows.
	p := h.c.PartitionFor("g")
	require.NoError(t, h.store.marker(p, 1, 0, true))
	require.NoError(t, h.store.marker(p, 2, 0, false))

	h.restart()
	require.Equal(t, int64(5), committed(t, h.c, "g", "committed", 0))
	require.Equal(t, int64(-1), committed(t, h.c, "g", "aborted", 0))
	require.Equal(t, int64(-1), committed(t, h.c, "g", "open", 0))
	_, c := stableFetch(t, h.c, "g", "open")
	require.Equal(t, kerr.UnstableOffsetCommit.Code, c)
	_, c = stableFetch(t, h.c, "g", "aborted")
	require.NoError(t, code(c))

	h.endTxn("g", 3, 0, true)
	require.Equal(t, int64(7), committed(t, h.c, "g", "open", 0))
}

// TestTxnOffsetCommitChecks: members and generations are checked as
// OffsetCommit checks them, and a fenced producer epoch is refused by the
// partition's log.
func TestTxnOffsetCommitChecks(t *testing.T) {
	h := newHarness(t, testConfig())
	m := newConsumer(h, "managed", "t")
	form(t, "t", 1, m)

	commit := func(member string, generation int32, epoch int16) int16 {
		req := kmsg.NewPtrTxnOffsetCommitRequest()
		req.Version = 3
		req.Group, req.ProducerID, req.ProducerEpoch = "managed", 9, epoch
		req.MemberID, req.Generation = member, generation
		p := kmsg.NewTxnOffsetCommitRequestTopicPartition()
		p.Partition, p.Offset = 0, 1
		req.Topics = []kmsg.TxnOffsetCommitRequestTopic{{Topic: "t", Partitions: []kmsg.TxnOffsetCommitRequestTopicPartition{p}}}
		return h.c.TxnOffsetCommit(context.Background(), req).Topics[0].Partitions[0].ErrorCode
	}
	for _, tc := range []struct {
		name       string
		member     string
		generation int32
		epoch      int16
		want       *kerr.Error
	}{
		{"member of the generation", m.id, m.generation, 2, nil},
		{"unknown member", "nobody", m.generation, 2, kerr.UnknownMemberID},
		{"old generation", m.id, m.generation - 1, 2, kerr.IllegalGeneration},
		{"fenced producer epoch", m.id, m.generation, 1, kerr.InvalidProducerEpoch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := commit(tc.member, tc.generation, tc.epoch)
			if tc.want == nil {
				require.NoError(t, code(got))
				return
			}
			require.Equal(t, tc.want.Code, got, "got %v", code(got))
		})
	}
}

// TestTxnOffsetsOutliveRetention: an empty group whose only offsets are
// pending is not removed by offset retention.
func TestTxnOffsetsOutliveRetention(t *testing.T) {
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return now
	}
	cfg := testConfig()
	cfg.OffsetsRetention = time.Hour
	h := newHarness(t, cfg, withClock(clock))
	require.NoError(t, code(txnCommit(h.c, "g", 7, 0, "t", 20)))
	require.NoError(t, code(commitOffset(h.c, "plain", -1, "", nil, "t", 0, 1)))
	mu.Lock()
	now = now.Add(2 * time.Hour)
	mu.Unlock()
	h.c.expireOffsets()
	require.Nil(t, peek(h.c, "plain"), "an offsets-only group expires")
	require.NotNil(t, peek(h.c, "g"), "the pending offsets keep theirs")
	h.endTxn("g", 7, 0, true)
	require.Equal(t, int64(20), committed(t, h.c, "g", "t", 0))
}

// TestTxnMarkerWhileLoading: a marker reported while the group's partition
// loads (its replay may have read the log before the marker was written)
// is applied once the load is in.
func TestTxnMarkerWhileLoading(t *testing.T) {
	h := newHarness(t, testConfig())
	require.NoError(t, code(txnCommit(h.c, "g", 7, 0, "t", 20)))
	p := h.c.PartitionFor("g")
	h.c.UnloadPartition(p)

	gate := make(chan struct{})
	h.store.mu.Lock()
	h.store.loadGate = gate
	h.store.mu.Unlock()
	loaded := make(chan error, 1)
	go func() { loaded <- h.c.LoadPartition(context.Background(), p) }()
	eventually(t, func() error {
		req := kmsg.NewPtrOffsetFetchRequest()
		req.Version, req.Group = 7, "g"
		if c := h.c.OffsetFetch(context.Background(), req).ErrorCode; c != kerr.CoordinatorLoadInProgress.Code {
			return fmt.Errorf("not loading yet: %v", code(c))
		}
		return nil
	})
	h.c.CompleteTxn(p, 7, true) // not in the log the replay reads
	close(gate)
	require.NoError(t, <-loaded)
	require.Equal(t, int64(20), committed(t, h.c, "g", "t", 0))
}
