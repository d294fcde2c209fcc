package replica

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/kspring/kspring/broker/internal/batch"
)

// High watermarks survive a restart through the log dir's
// replication-offset-checkpoint, in Kafka's format.
func TestHWCheckpointRoundTrip(t *testing.T) {
	dir := t.TempDir()
	m, err := NewManager([]string{dir}, zaptest.NewLogger(t), Options{NodeID: 1})
	require.NoError(t, err)
	p, err := m.Open("orders", 3, [16]byte{}, settings(t, nil))
	require.NoError(t, err)
	m.SetState(p, lone)
	_, err = p.Append(batch.Build(nil, 0, time.Now().UnixMilli(), []batch.Record{{Value: []byte("a")}, {OffsetDelta: 1, Value: []byte("b")}}), 1, time.Now())
	require.NoError(t, err)
	require.NoError(t, m.Close())
	data, err := os.ReadFile(filepath.Join(dir, hwCheckpointFile))
	require.NoError(t, err)
	require.Equal(t, "0\n1\norders 3 2\n", string(data))

	m, err = NewManager([]string{dir}, zaptest.NewLogger(t), Options{NodeID: 1})
	require.NoError(t, err)
	p, err = m.Open("orders", 3, [16]byte{}, settings(t, nil))
	require.NoError(t, err)
	require.Equal(t, int64(2), p.HighWatermark(), "known before any leader says so")
	require.NoError(t, m.Close())
}

func TestParseHWCheckpoint(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     map[key]int64
		ok       bool
	}{
		{"empty list", "0\n0\n", map[key]int64{}, true},
		{"two", "0\n2\na 0 5\nb-c 1 7\n", map[key]int64{{"a", 0}: 5, {"b-c", 1}: 7}, true},
		{"wrong version", "1\n0\n", nil, false},
		{"count short", "0\n2\na 0 5\n", nil, false},
		{"negative offset", "0\n1\na 0 -5\n", nil, false},
		{"torn line", "0\n1\na 0\n", nil, false},
		{"nothing", "", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseHWCheckpoint([]byte(tc.in))
			if !tc.ok {
				require.Error(t, err)
				require.Empty(t, got)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

// A malformed checkpoint never panics, and what it yields is all or nothing.
func FuzzParseHWCheckpoint(f *testing.F) {
	f.Add([]byte("0\n2\na 0 5\nb 1 7\n"))
	f.Add([]byte("0\n0\n"))
	f.Add([]byte("0\n1\n\xff 99999999999 1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := parseHWCheckpoint(data)
		if err != nil && len(got) != 0 {
			t.Fatalf("an error with %d entries", len(got))
		}
		for k, v := range got {
			if k.index < 0 || v < 0 {
				t.Fatalf("entry %v=%d", k, v)
			}
		}
	})
}
