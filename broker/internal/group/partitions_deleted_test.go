package group

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// deletedTopic reports the partitions of topic as deleted.
func deletedTopic(topic string) func(string, int32) bool {
	return func(t string, _ int32) bool { return t == topic }
}

// fetchedTopics returns the topics OffsetFetch v5 lists for all of a
// group's offsets.
func fetchedTopics(t *testing.T, c *Coordinator, group string) []string {
	t.Helper()
	req := kmsg.NewPtrOffsetFetchRequest()
	req.Version = 5
	req.Group = group
	req.Topics = nil // all
	resp := c.OffsetFetch(context.Background(), req)
	require.NoError(t, code(resp.ErrorCode))
	var out []string
	for _, rt := range resp.Topics {
		out = append(out, rt.Topic)
	}
	return out
}

func TestPartitionsDeletedRemoveOffsets(t *testing.T) {
	h := newHarness(t, testConfig())

	// mixed: an empty consumer group with offsets on the deleted topic
	// and on another one.
	mixed := newConsumer(h, "mixed", "gone", "kept")
	form(t, "gone", 2, mixed)
	require.NoError(t, code(mixed.commit("gone", 0, 10)))
	require.NoError(t, code(mixed.commit("gone", 1, 11)))
	require.NoError(t, code(mixed.commit("kept", 0, 12)))
	require.NoError(t, code(mixed.leave()))
	// only: an empty consumer group with offsets on the deleted topic only.
	only := newConsumer(h, "only", "gone")
	form(t, "gone", 2, only)
	require.NoError(t, code(only.commit("gone", 0, 20)))
	require.NoError(t, code(only.leave()))
	// tools: an offsets-only group (simple commits) on the deleted topic.
	require.NoError(t, code(commitOffset(h.c, "tools", -1, "", nil, "gone", 1, 30)))
	// live: a stable group that still consumes the deleted topic.
	live := newConsumer(h, "live", "gone")
	form(t, "gone", 2, live)
	require.NoError(t, code(live.commit("gone", 0, 40)))
	// other: a group that never committed to the deleted topic.
	require.NoError(t, code(commitOffset(h.c, "other", -1, "", nil, "kept", 0, 50)))

	require.NoError(t, h.c.PartitionsDeleted(testCtx(t), deletedTopic("gone")))

	check := func(t *testing.T) {
		for _, tc := range []struct {
			group, topic string
			partition    int32
			want         int64
		}{
			{"mixed", "gone", 0, -1},
			{"mixed", "gone", 1, -1},
			{"mixed", "kept", 0, 12},
			{"only", "gone", 0, -1},
			{"tools", "gone", 1, -1},
			{"live", "gone", 0, -1},
			{"other", "kept", 0, 50},
		} {
			require.Equal(t, tc.want, committed(t, h.c, tc.group, tc.topic, tc.partition), "%s %s-%d", tc.group, tc.topic, tc.partition)
		}
		for _, tc := range []struct{ group, state string }{
			{"mixed", "Empty"}, // keeps the offsets of the topic not deleted
			{"only", "Dead"},   // empty and left without offsets
			{"tools", "Dead"},
			{"live", "Stable"}, // members keep a group whatever its offsets
			{"other", "Empty"},
		} {
			require.Equal(t, tc.state, groupState(t, h.c, tc.group), "group %s", tc.group)
		}
		require.Equal(t, []string{"kept"}, fetchedTopics(t, h.c, "mixed"))
		require.Empty(t, fetchedTopics(t, h.c, "live"))
	}
	t.Run("at once", check)
	require.NoError(t, code(live.heartbeat()), "the live group's member is still in its generation")

	// Tombstones: the offsets of the deleted topic and the metadata of a
	// removed group that had a generation.
	recs, err := h.store.records(h.c.PartitionFor("only"))
	require.NoError(t, err)
	var offsetTombstone, groupTombstone bool
	for _, r := range recs {
		if r.Value != nil {
			continue
		}
		kind, err := kindOf(r.Key)
		require.NoError(t, err)
		switch kind {
		case kindOffset:
			var k kmsg.OffsetCommitKey
			require.NoError(t, k.ReadFrom(r.Key))
			offsetTombstone = offsetTombstone || k == kmsg.OffsetCommitKey{Version: 1, Group: "only", Topic: "gone", Partition: 0}
		case kindGroup:
			var k kmsg.GroupMetadataKey
			require.NoError(t, k.ReadFrom(r.Key))
			groupTombstone = groupTombstone || k.Group == "only"
		}
	}
	require.True(t, offsetTombstone, "tombstone of only's offset of gone-0")
	require.True(t, groupTombstone, "tombstone of only's metadata")

	h.restart()
	t.Run("after a restart", check)

	// The topic created again: commits to it start from nothing.
	require.NoError(t, code(commitOffset(h.c, "tools", -1, "", nil, "gone", 1, 3)))
	require.Equal(t, int64(3), committed(t, h.c, "tools", "gone", 1))
}

func TestPartitionsDeletedByPartition(t *testing.T) {
	h := newHarness(t, testConfig())
	for p := range int32(3) {
		require.NoError(t, code(commitOffset(h.c, "tools", -1, "", nil, "t", p, int64(p)+1)))
	}
	require.NoError(t, h.c.PartitionsDeleted(testCtx(t), func(topic string, p int32) bool { return topic == "t" && p >= 1 }))
	require.Equal(t, int64(1), committed(t, h.c, "tools", "t", 0))
	require.Equal(t, int64(-1), committed(t, h.c, "tools", "t", 1))
	require.Equal(t, int64(-1), committed(t, h.c, "tools", "t", 2))
	require.Equal(t, "Empty", groupState(t, h.c, "tools"))
}

// A failed tombstone append still removes the offsets from memory (a topic
// created again must not resume at them), and is reported; a restart
// brings the offsets back until PartitionsDeleted runs again.
func TestPartitionsDeletedStoreFailure(t *testing.T) {
	h := newHarness(t, testConfig())
	require.NoError(t, code(commitOffset(h.c, "tools", -1, "", nil, "gone", 0, 7)))
	require.NoError(t, code(commitOffset(h.c, "tools", -1, "", nil, "kept", 0, 8)))

	h.store.setFail(kerr.NotEnoughReplicas)
	err := h.c.PartitionsDeleted(testCtx(t), deletedTopic("gone"))
	require.ErrorIs(t, err, kerr.NotEnoughReplicas)
	require.ErrorContains(t, err, `group "tools"`)
	require.Equal(t, int64(-1), committed(t, h.c, "tools", "gone", 0))
	require.Equal(t, int64(8), committed(t, h.c, "tools", "kept", 0))
	h.store.setFail(nil)

	h.restart()
	require.Equal(t, int64(7), committed(t, h.c, "tools", "gone", 0), "no tombstone reached the log")
	require.NoError(t, h.c.PartitionsDeleted(testCtx(t), deletedTopic("gone")))
	h.restart()
	require.Equal(t, int64(-1), committed(t, h.c, "tools", "gone", 0))
	require.Equal(t, int64(8), committed(t, h.c, "tools", "kept", 0))
}

func TestPartitionsDeletedAfterClose(t *testing.T) {
	h := newHarness(t, testConfig())
	require.NoError(t, code(commitOffset(h.c, "tools", -1, "", nil, "gone", 0, 7)))
	require.NoError(t, h.c.Close())
	require.NoError(t, h.c.PartitionsDeleted(testCtx(t), deletedTopic("gone")), "a closed coordinator has no groups")
}
