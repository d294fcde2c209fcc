package load

import (
	"encoding/binary"
	"hash/crc32"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// rawBatch encodes a RecordBatch v2 at base holding n records (their bodies
// are opaque to walkBatches) with a correct CRC.
func rawBatch(base int64, n int32) []byte {
	b := kmsg.RecordBatch{
		FirstOffset: base, Magic: 2, LastOffsetDelta: n - 1, NumRecords: n,
		ProducerID: -1, ProducerEpoch: -1, FirstSequence: -1,
		Records: make([]byte, 10*n),
	}
	raw := b.AppendTo(nil)
	binary.BigEndian.PutUint32(raw[8:], uint32(len(raw)-12))
	binary.BigEndian.PutUint32(raw[crcAt:], crc32.Checksum(raw[crcAt+4:], castagnoli))
	return raw
}

func TestWalkBatches(t *testing.T) {
	a, b := rawBatch(0, 3), rawBatch(3, 2)
	data := append(append([]byte{}, a...), b...)

	records, bytes, next, err := walkBatches(data, 0)
	require.NoError(t, err)
	require.Equal(t, []int64{5, int64(len(data)), 5}, []int64{records, bytes, next})

	// A partial batch at the end is left for the next fetch.
	records, _, next, err = walkBatches(data[:len(data)-1], 0)
	require.NoError(t, err)
	require.Equal(t, []int64{3, 3}, []int64{records, next})

	// Batches wholly below the offset are skipped.
	records, _, next, err = walkBatches(data, 3)
	require.NoError(t, err)
	require.Equal(t, []int64{2, 5}, []int64{records, next})

	bad := append([]byte{}, data...)
	bad[len(a)+batchHeaderSize] ^= 1
	_, _, _, err = walkBatches(bad, 0)
	require.ErrorIs(t, err, errBadCRC)
}
