package batch

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestBuildRoundTripsEveryCodec(t *testing.T) {
	recs := sampleRecords(25)
	for _, c := range []Codec{None, Gzip, Snappy, LZ4, Zstd} {
		t.Run(c.String(), func(t *testing.T) {
			b := Build([]byte("prefix"), 1000, 1_700_000_000_000, recs, WithCompression(c), WithProducer(9, 3, 77))
			require.Equal(t, "prefix", string(b[:6]))
			b = b[6:]

			h, err := Validate(b)
			require.NoError(t, err)
			require.Equal(t, len(b), h.Size())
			require.Equal(t, int64(1000), h.BaseOffset)
			require.Equal(t, int64(1024), h.LastOffset())
			require.Equal(t, int32(25), h.NumRecords)
			require.Equal(t, c, h.Compression())
			require.Equal(t, int64(1_700_000_000_000), h.FirstTimestamp)
			require.Equal(t, int64(1_700_000_000_000+1<<40), h.MaxTimestamp)
			require.Equal(t, int64(9), h.ProducerID)
			require.Equal(t, int16(3), h.ProducerEpoch)
			require.Equal(t, int32(77), h.BaseSequence)
			require.Equal(t, int32(101), h.LastSequence())
			require.Equal(t, int32(-1), h.PartitionLeaderEpoch)
			require.True(t, h.Idempotent())
			require.False(t, h.IsTransactional())
			require.False(t, h.IsControl())
			require.False(t, h.TimestampType())

			requireSameRecords(t, recs, decodeAll(t, b))

			// franz-go's own decoder agrees on the header.
			var kb kmsg.RecordBatch
			require.NoError(t, kb.ReadFrom(b))
			require.Equal(t, h.CRC, uint32(kb.CRC))
			require.Equal(t, h.NumRecords, kb.NumRecords)
			if c == None {
				first := kmsg.Record{}
				require.NoError(t, first.ReadFrom(kb.Records))
				require.Equal(t, recs[0].Key, first.Key)
				require.Equal(t, recs[0].Value, first.Value)
			}
		})
	}
}

func TestBuildDefaultsAndAttributes(t *testing.T) {
	b := Build(nil, 5, 10, sampleRecords(1), WithTransactional(), WithControl(), WithPartitionLeaderEpoch(4))
	h, err := Validate(b)
	require.NoError(t, err)
	require.Equal(t, int64(-1), h.ProducerID)
	require.Equal(t, int16(-1), h.ProducerEpoch)
	require.Equal(t, int32(-1), h.BaseSequence)
	require.Equal(t, int32(-1), h.LastSequence())
	require.Equal(t, int32(4), h.PartitionLeaderEpoch)
	require.False(t, h.Idempotent())
	require.True(t, h.IsTransactional())
	require.True(t, h.IsControl())

	empty := Build(nil, 5, 10, nil)
	h, err = Validate(empty)
	require.NoError(t, err)
	require.Equal(t, HeaderSize, len(empty))
	require.Equal(t, int32(0), h.NumRecords)
	require.Empty(t, decodeAll(t, empty))
}

func TestRecordsReadsFranzGoBatches(t *testing.T) {
	recs := sampleRecords(40)
	for _, c := range []kgo.CompressionCodec{kgo.NoCompression(), kgo.GzipCompression(), kgo.SnappyCompression(), kgo.Lz4Compression(), kgo.ZstdCompression()} {
		b := franzBatch(t, c, recs)
		h, err := Validate(b)
		require.NoError(t, err)
		t.Run(h.Compression().String(), func(t *testing.T) {
			requireSameRecords(t, recs, decodeAll(t, b))
		})
	}
}

func TestRecordsReadsXerialSnappy(t *testing.T) {
	recs := sampleRecords(30)
	plain := Build(nil, 0, 1, recs)
	for _, chunk := range []int{1 << 20, 100, 7} {
		b := xerialBatch(t, plain, chunk)
		h, err := Validate(b)
		require.NoError(t, err)
		require.Equal(t, Snappy, h.Compression())
		requireSameRecords(t, recs, decodeAll(t, b))
	}
}

func TestRecordsStopsAtCallbackError(t *testing.T) {
	b := Build(nil, 0, 1, sampleRecords(5))
	stop := errors.New("stop")
	calls := 0
	err := Records(b, func(Record) error {
		calls++
		if calls == 2 {
			return stop
		}
		return nil
	})
	require.Same(t, stop, err)
	require.Equal(t, 2, calls)
}

// patch applies fn to a copy of b and, if fix is set, recomputes the CRC.
func patch(b []byte, fix bool, fn func(b []byte)) []byte {
	c := bytes.Clone(b)
	fn(c)
	if fix {
		binary.BigEndian.PutUint32(c[offCRC:], checksum(c))
	}
	return c
}

func TestValidateRejects(t *testing.T) {
	good := Build(nil, 0, 1, sampleRecords(3))
	tests := []struct {
		name string
		b    []byte
		want error
		code *kerr.Error
	}{
		{"magic 1", patch(good, true, func(b []byte) { b[offMagic] = 1 }), ErrUnsupportedMagic, kerr.UnsupportedForMessageFormat},
		{"magic 3", patch(good, true, func(b []byte) { b[offMagic] = 3 }), ErrUnsupportedMagic, kerr.UnsupportedForMessageFormat},
		{"header cut", good[:HeaderSize-1], ErrShort, kerr.CorruptMessage},
		{"records cut", good[:len(good)-1], ErrCorrupt, kerr.CorruptMessage},
		{"trailing byte", append(bytes.Clone(good), 0), ErrCorrupt, kerr.CorruptMessage},
		{"flipped bit", patch(good, false, func(b []byte) { b[len(b)-3] ^= 0x10 }), ErrCorrupt, kerr.CorruptMessage},
		{"flipped attribute", patch(good, false, func(b []byte) { b[offAttributes+1] ^= 1 }), ErrCorrupt, kerr.CorruptMessage},
		{"count mismatch", patch(good, true, func(b []byte) { binary.BigEndian.PutUint32(b[offNumRecords:], 2) }), ErrInvalid, kerr.InvalidRecord},
		{"negative count", patch(good, true, func(b []byte) { binary.BigEndian.PutUint32(b[offNumRecords:], 0xffffffff) }), ErrInvalid, kerr.InvalidRecord},
		{"unknown codec", patch(good, true, func(b []byte) { b[offAttributes+1] |= 7 }), ErrInvalid, kerr.InvalidRecord},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Validate(tt.b)
			require.ErrorIs(t, err, tt.want)
			var ke *kerr.Error
			require.ErrorAs(t, err, &ke)
			require.Equal(t, tt.code, ke)
		})
	}
}

func TestVerifyChecksumAcceptsCompactedShape(t *testing.T) {
	// A compacted batch keeps its offset range but has fewer records.
	b := Build(nil, 0, 1, sampleRecords(3))
	compacted := patch(b, true, func(b []byte) { binary.BigEndian.PutUint32(b[offNumRecords:], 1) })
	_, err := Validate(compacted)
	require.ErrorIs(t, err, ErrInvalid)
	h, err := VerifyChecksum(compacted)
	require.NoError(t, err)
	require.Equal(t, int64(2), h.LastOffset())

	_, err = VerifyChecksum(patch(b, false, func(b []byte) { b[len(b)-1] ^= 1 }))
	require.ErrorIs(t, err, ErrCorrupt)
	_, err = VerifyChecksum(b[:30])
	require.ErrorIs(t, err, ErrShort)
}

func TestValidateAcceptsPatchedOffsets(t *testing.T) {
	b := Build(nil, 0, 1, sampleRecords(3))
	SetBaseOffset(b, 1<<40)
	SetPartitionLeaderEpoch(b, 17)
	h, err := Validate(b)
	require.NoError(t, err, "base offset and leader epoch are outside the CRC")
	require.Equal(t, int64(1<<40), h.BaseOffset)
	require.Equal(t, int32(17), h.PartitionLeaderEpoch)
}

func TestSetLogAppendTime(t *testing.T) {
	b := Build(nil, 0, 1000, sampleRecords(3), WithCompression(LZ4), WithTransactional())
	SetLogAppendTime(b, 99_000)
	h, err := Validate(b)
	require.NoError(t, err)
	require.True(t, h.TimestampType())
	require.Equal(t, int64(99_000), h.MaxTimestamp)
	require.Equal(t, int64(1000), h.FirstTimestamp)
	require.Equal(t, LZ4, h.Compression(), "other attributes are kept")
	require.True(t, h.IsTransactional())
}

func TestSettersIgnoreShortInput(t *testing.T) {
	short := make([]byte, 10)
	SetBaseOffset(short, 1)
	SetPartitionLeaderEpoch(short, 1)
	SetLogAppendTime(short, 1)
	require.Equal(t, make([]byte, 10), short)
}

func TestLastSequenceWraps(t *testing.T) {
	tests := []struct {
		base, delta, want int32
	}{
		{0, 0, 0},
		{5, 4, 9},
		{2147483647, 0, 2147483647},
		{2147483647, 1, 0},
		{2147483640, 10, 2},
		{-1, 3, -1},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, Header{BaseSequence: tt.base, LastOffsetDelta: tt.delta}.LastSequence(), "%+v", tt)
	}
}

func TestSplit(t *testing.T) {
	a := Build(nil, 0, 1, sampleRecords(1))
	b := Build(nil, 0, 1, sampleRecords(4), WithCompression(Gzip))
	c := Build(nil, 0, 1, sampleRecords(2))
	all := append(append(append([]byte(nil), a...), b...), c...)

	t.Run("complete batches", func(t *testing.T) {
		var sizes []int
		require.NoError(t, Split(all, func(batch []byte) error {
			_, err := Validate(batch)
			sizes = append(sizes, len(batch))
			SetBaseOffset(batch, 7) // aliasing: patches land in all
			return err
		}))
		require.Equal(t, []int{len(a), len(b), len(c)}, sizes)
		h, err := ParseHeader(all[len(a):])
		require.NoError(t, err)
		require.Equal(t, int64(7), h.BaseOffset)
	})
	t.Run("empty", func(t *testing.T) {
		require.NoError(t, Split(nil, func([]byte) error { t.Fatal("called"); return nil }))
	})

	oldMessageSet := make([]byte, 40)
	oldMessageSet[offMagic] = 1
	tooSmall := patch(a, false, func(b []byte) { binary.BigEndian.PutUint32(b[offLength:], minLength-1) })
	stop := errors.New("stop")
	tests := []struct {
		name  string
		in    []byte
		fnErr error
		want  error
		calls int
	}{
		{"partial trailing batch", all[:len(all)-1], nil, ErrCorrupt, 2},
		{"trailing bytes less than a header", append(bytes.Clone(a), 1, 2, 3), nil, ErrCorrupt, 1},
		{"magic 1 message set", oldMessageSet, nil, ErrUnsupportedMagic, 0},
		{"magic 0 after a batch", append(bytes.Clone(a), make([]byte, 30)...), nil, ErrUnsupportedMagic, 1},
		{"length too small", tooSmall, nil, ErrInvalid, 0},
		{"callback error", all, stop, stop, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			err := Split(tt.in, func([]byte) error { calls++; return tt.fnErr })
			require.ErrorIs(t, err, tt.want)
			require.Equal(t, tt.calls, calls)
		})
	}
}

func TestRecordsRejectsMalformed(t *testing.T) {
	good := Build(nil, 0, 1, sampleRecords(3))
	gz := Build(nil, 0, 1, sampleRecords(3), WithCompression(Gzip))
	tests := []struct {
		name string
		b    []byte
		want error
	}{
		{"short header", good[:20], ErrShort},
		{"cut batch", good[:len(good)-2], ErrShort},
		{"magic 1", patch(good, false, func(b []byte) { b[offMagic] = 1 }), ErrUnsupportedMagic},
		{"fewer records than counted", patch(good, false, func(b []byte) { binary.BigEndian.PutUint32(b[offNumRecords:], 4) }), ErrInvalid},
		{"more records than counted", patch(good, false, func(b []byte) { binary.BigEndian.PutUint32(b[offNumRecords:], 2) }), ErrInvalid},
		{"negative count", patch(good, false, func(b []byte) { binary.BigEndian.PutUint32(b[offNumRecords:], 0xfffffff0) }), ErrInvalid},
		{"bad record length", patch(good, false, func(b []byte) { b[HeaderSize] = 0x7f }), ErrInvalid},
		{"garbage gzip", patch(gz, false, func(b []byte) { copy(b[HeaderSize+10:], "garbage!") }), ErrInvalid},
		{"wrong codec", patch(good, false, func(b []byte) { b[offAttributes+1] |= byte(Zstd) }), ErrInvalid},
		{"unknown codec", patch(good, false, func(b []byte) { b[offAttributes+1] |= 6 }), ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.ErrorIs(t, Records(tt.b, func(Record) error { return nil }), tt.want)
		})
	}
}

func TestDecompressIsBounded(t *testing.T) {
	old := maxDecompressed
	maxDecompressed = 1 << 20
	t.Cleanup(func() { maxDecompressed = old })

	for _, c := range []Codec{Gzip, Snappy, LZ4, Zstd} {
		fits, err := compress(nil, c, make([]byte, maxDecompressed))
		require.NoError(t, err)
		out, err := decompress(c, fits)
		require.NoError(t, err, c)
		require.Len(t, out, maxDecompressed)

		big, err := compress(nil, c, make([]byte, maxDecompressed+1))
		require.NoError(t, err)
		require.Less(t, len(big), maxDecompressed/10)
		_, err = decompress(c, big)
		require.Error(t, err, "%v inflating past the limit", c)
	}
}

func TestCodecString(t *testing.T) {
	require.Equal(t, "zstd", Zstd.String())
	require.Equal(t, "codec(6)", Codec(6).String())
}

func TestBuildWithOffsetDeltasKeepsOffsets(t *testing.T) {
	// The survivors of a compacted batch of ten: offsets 1000+2, +5, +7,
	// last offset delta still 9.
	all := sampleRecords(10)
	var kept []Record
	for _, d := range []int32{2, 5, 7} {
		r := all[d]
		r.OffsetDelta = d
		kept = append(kept, r)
	}
	for _, c := range []Codec{None, Gzip, Snappy, LZ4, Zstd} {
		t.Run(c.String(), func(t *testing.T) {
			b := Build(nil, 1000, 5000, kept, WithCompression(c), WithOffsetDeltas(9), WithProducer(4, 1, 30))
			h, err := VerifyChecksum(b)
			require.NoError(t, err)
			require.Equal(t, int64(1000), h.BaseOffset)
			require.Equal(t, int64(1009), h.LastOffset(), "the offset range survives")
			require.Equal(t, int32(39), h.LastSequence(), "and with it the producer's last sequence")
			require.Equal(t, int32(3), h.NumRecords)
			require.Equal(t, c, h.Compression())
			require.Equal(t, int64(5000+1<<40), h.MaxTimestamp)
			_, err = Validate(b)
			require.ErrorIs(t, err, ErrInvalid, "fewer records than offsets: the compacted shape")

			got := decodeAll(t, b)
			require.Len(t, got, 3)
			for i, r := range got {
				require.Equal(t, kept[i].OffsetDelta, r.OffsetDelta)
				require.Equal(t, kept[i].TimestampDelta, r.TimestampDelta)
				require.Equal(t, kept[i].Key, r.Key)
				require.Equal(t, kept[i].Value, r.Value)
				require.Equal(t, kept[i].Headers, r.Headers)
			}

			// franz-go reads the same offsets.
			var kb kmsg.RecordBatch
			require.NoError(t, kb.ReadFrom(b))
			require.Equal(t, int32(9), kb.LastOffsetDelta)
		})
	}

	// No records: an empty batch that only keeps the offset range.
	b := Build(nil, 70, 123, nil, WithOffsetDeltas(4))
	h, err := Validate(b)
	require.NoError(t, err, "an empty batch is valid")
	require.Equal(t, HeaderSize, len(b))
	require.Equal(t, int64(74), h.LastOffset())
	require.Equal(t, int32(0), h.NumRecords)
	require.Equal(t, int64(123), h.MaxTimestamp)
	require.Empty(t, decodeAll(t, b))
}
