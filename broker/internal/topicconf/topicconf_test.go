package topicconf

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name, value string
		ok          bool
	}{
		{"retention.ms", "-1", true},
		{"retention.ms", "1000", true},
		{"retention.ms", "soon", false},
		{"retention.ms", "-2", false},
		{"cleanup.policy", "compact,delete", true},
		{"cleanup.policy", "compact, delete", true},
		{"cleanup.policy", "archive", false},
		{"message.timestamp.type", "LogAppendTime", true},
		{"message.timestamp.type", "logappendtime", false},
		{"min.insync.replicas", "0", false},
		{"segment.bytes", "13", false},
		{"min.cleanable.dirty.ratio", "0.2", true},
		{"min.cleanable.dirty.ratio", "2", false},
		{"no.such.config", "1", false},
	} {
		err := Validate(tc.name, tc.value)
		if tc.ok {
			require.NoError(t, err, "%s=%s", tc.name, tc.value)
		} else {
			require.Error(t, err, "%s=%s", tc.name, tc.value)
		}
	}
}

func TestResolvePrecedence(t *testing.T) {
	vals := Resolve(map[string]string{"retention.ms": "5"}, map[string]string{"log.retention.ms": "7", "log.segment.bytes": "9999"})
	got := map[string]Value{}
	for _, v := range vals {
		got[v.Name] = v
	}
	require.Equal(t, "5", got["retention.ms"].Value)
	require.Equal(t, SourceTopic, got["retention.ms"].Source)
	require.Equal(t, "9999", got["segment.bytes"].Value)
	require.Equal(t, SourceStaticBroker, got["segment.bytes"].Source)
	require.Equal(t, "delete", got["cleanup.policy"].Value)
	require.Equal(t, SourceDefault, got["cleanup.policy"].Source)
	require.Len(t, vals, len(Defs()))
}

func TestMergeDoesNotModifyInput(t *testing.T) {
	in := map[string]string{"a": "1", "b": "2"}
	out := Merge(in, map[string]string{"c": "3"}, []string{"a"})
	require.Equal(t, map[string]string{"b": "2", "c": "3"}, out)
	require.Equal(t, map[string]string{"a": "1", "b": "2"}, in)
}
