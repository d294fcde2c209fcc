package replica

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"go.uber.org/zap/zaptest"

	"github.com/kspring/kspring/broker/internal/batch"
	"github.com/kspring/kspring/broker/internal/topicconf"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func settings(t *testing.T, overrides map[string]string) Settings {
	t.Helper()
	s, err := SettingsFromConfigs(topicconf.Effective(overrides, nil))
	require.NoError(t, err)
	return s
}

func TestSettingsFromConfigs(t *testing.T) {
	s := settings(t, map[string]string{
		"retention.ms": "-1", "segment.bytes": "4096", "max.message.bytes": "2048",
		"message.timestamp.type": "LogAppendTime", "min.insync.replicas": "2", "flush.ms": "9223372036854775807",
		"cleanup.policy": "compact",
	})
	require.Equal(t, time.Duration(-1), s.Log.RetentionMs)
	require.Equal(t, int64(4096), s.Log.SegmentBytes)
	require.Equal(t, "compact", s.Log.CleanupPolicy)
	require.Positive(t, s.Log.FlushIntervalMs, "a flush.ms too large for a Duration saturates, it does not wrap")
	require.Equal(t, Policy{MaxMessageBytes: 2048, LogAppendTime: true, MinInsyncReplicas: 2}, s.Policy)

	_, err := SettingsFromConfigs(map[string]string{"segment.bytes": "x"})
	require.Error(t, err)
}

// lone makes broker 1 the leader and only replica of a partition.
var lone = State{Leader: 1, Replicas: []int32{1}, ISR: []int32{1}}

func TestManagerPartitionLifecycle(t *testing.T) {
	dirs := []string{t.TempDir(), t.TempDir()}
	m, err := NewManager(dirs, zaptest.NewLogger(t), Options{NodeID: 1})
	require.NoError(t, err)
	s := settings(t, nil)
	for i := range int32(4) {
		p, err := m.Open("orders", i, [16]byte{}, s)
		require.NoError(t, err)
		m.SetState(p, lone)
	}
	// Placement spreads partitions over the log dirs.
	for _, d := range dirs {
		entries, err := os.ReadDir(d)
		require.NoError(t, err)
		require.Len(t, entries, 2, d)
	}
	p, ok := m.Get("orders", 2)
	require.True(t, ok)
	changed := p.Changed()
	b := batch.Build(nil, 0, time.Now().UnixMilli(), []batch.Record{{Value: []byte("v")}})
	res, err := p.Append(b, 1, time.Now())
	require.NoError(t, err)
	require.Equal(t, int64(0), res.BaseOffset)
	select {
	case <-changed:
	default:
		t.Fatal("an append must wake waiting fetches")
	}
	require.Equal(t, int64(1), p.HighWatermark())
	require.Len(t, m.Partitions("orders"), 4)

	waiting := p.Changed()
	require.NoError(t, m.DeleteTopic("orders"))
	<-waiting // deletion wakes waiters too
	_, err = p.Append(batch.Build(nil, 0, 0, []batch.Record{{Value: []byte("v")}}), 1, time.Now())
	require.ErrorIs(t, err, ErrDeleted)
	// A fetch that raced the deletion learns the partition is gone, not
	// that storage failed.
	_, err = p.Read(0, 100)
	require.ErrorIs(t, err, ErrDeleted)
	_, err = p.ReadChunks(nil, 0, 100)
	require.ErrorIs(t, err, ErrDeleted)
	require.Empty(t, m.Partitions("orders"))
	require.NoError(t, m.Close())
}

func TestRemoveStray(t *testing.T) {
	dir := t.TempDir()
	m, err := NewManager([]string{dir}, zaptest.NewLogger(t), Options{NodeID: 1})
	require.NoError(t, err)
	for _, name := range []string{"kept-0", "gone-0", "kept-7", "not a partition"} {
		require.NoError(t, os.Mkdir(filepath.Join(dir, name), 0o755))
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "cluster-metadata.json"), nil, 0o644))
	require.NoError(t, m.RemoveStray(func(topic string, index int32) bool { return topic == "kept" && index == 0 }))
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	require.ElementsMatch(t, []string{"kept-0", "not a partition", "cluster-metadata.json"}, names)
}

// TestRunCleansApartFromMaintenance: Run's retention and compaction loops
// run on their own intervals, so a compaction does not wait for, or hold
// up, the other partitions' maintenance.
func TestRunCleansApartFromMaintenance(t *testing.T) {
	for _, tc := range []struct {
		name                   string
		interval, cleanBackoff time.Duration
		wantRetention, wantCmp bool
	}{
		{"maintenance only", 10 * time.Millisecond, time.Hour, true, false},
		{"cleaner only", time.Hour, 10 * time.Millisecond, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := NewManager([]string{t.TempDir()}, zaptest.NewLogger(t), Options{NodeID: 1})
			require.NoError(t, err)
			del, err := m.Open("del", 0, [16]byte{}, settings(t, map[string]string{"retention.ms": "60000", "segment.bytes": "1024"}))
			require.NoError(t, err)
			cmp, err := m.Open("cmp", 0, [16]byte{}, settings(t, map[string]string{
				"cleanup.policy": "compact", "segment.bytes": "1024", "min.cleanable.dirty.ratio": "0",
			}))
			require.NoError(t, err)
			m.SetState(del, lone)
			m.SetState(cmp, lone)
			old := time.Now().Add(-time.Hour)
			for i := range 60 {
				key := []byte{byte('a' + i%3)}
				for _, p := range []*Partition{del, cmp} {
					b := batch.Build(nil, 0, old.UnixMilli(), []batch.Record{{Key: key, Value: make([]byte, 100)}})
					_, err := p.Append(b, 1, old)
					require.NoError(t, err)
				}
			}
			cmpSize := cmp.Log().Size()

			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() {
				defer close(done)
				m.Run(ctx, tc.interval, tc.cleanBackoff)
			}()
			retained := func() bool { return del.StartOffset() > 0 }
			compacted := func() bool { return cmp.Log().Size() < cmpSize }
			if tc.wantRetention {
				require.Eventually(t, retained, 10*time.Second, 5*time.Millisecond)
			}
			if tc.wantCmp {
				require.Eventually(t, compacted, 10*time.Second, 5*time.Millisecond)
			}
			cancel()
			<-done
			require.Equal(t, tc.wantRetention, retained(), "retention")
			require.Equal(t, tc.wantCmp, compacted(), "compaction")
			require.NoError(t, m.Close())
		})
	}
}
