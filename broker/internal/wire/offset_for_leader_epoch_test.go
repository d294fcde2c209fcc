package wire

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// The end offset of an epoch follows Kafka's leader epoch cache rules for a
// log whose only epoch is the current one (see offset_for_leader_epoch.go).
func TestEpochEndOffset(t *testing.T) {
	const start, end = 40, 100
	tests := []struct {
		name               string
		requested, current int32
		wantEpoch          int32
		wantOffset         int64
	}{
		{"current epoch ends at the log end", 3, 3, 3, end},
		{"current epoch zero", 0, 0, 0, end},
		{"older epoch ends where the current one starts", 1, 3, 1, start},
		{"newer epoch is unknown", 4, 3, -1, -1},
		{"undefined epoch", -1, 3, -1, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			epoch, offset := epochEndOffset(tt.requested, tt.current, start, end)
			require.Equal(t, tt.wantEpoch, epoch, "epoch")
			require.Equal(t, tt.wantOffset, offset, "end offset")
		})
	}
}
