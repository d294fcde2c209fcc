package batch

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/klauspost/compress/snappy"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// sampleRecords covers null and empty keys and values, headers with null
// values, and negative and large timestamp deltas.
func sampleRecords(n int) []Record {
	recs := make([]Record, n)
	for i := range recs {
		r := Record{TimestampDelta: int64(i * 7)}
		switch i % 4 {
		case 0:
			r.Key, r.Value = []byte(fmt.Sprintf("key-%d", i)), bytes.Repeat([]byte{byte(i)}, 100)
		case 1:
			r.Key, r.Value = nil, []byte(fmt.Sprintf("value-%d", i))
		case 2:
			r.Key, r.Value = []byte{}, nil
			r.TimestampDelta = -3
		case 3:
			r.Key, r.Value = []byte("k"), []byte("v")
			r.Headers = []RecordHeader{{Key: "h1", Value: []byte("x")}, {Key: "h2", Value: nil}, {Key: "", Value: []byte{}}}
			r.TimestampDelta = 1 << 40
		}
		recs[i] = r
	}
	return recs
}

// decodeAll returns the records of batch b with Records.
func decodeAll(t testing.TB, b []byte) []Record {
	t.Helper()
	var got []Record
	require.NoError(t, Records(b, func(r Record) error {
		got = append(got, r)
		return nil
	}))
	return got
}

// requireSameRecords compares what Build was given with what Records read.
func requireSameRecords(t testing.TB, want, got []Record) {
	t.Helper()
	require.Len(t, got, len(want))
	for i := range want {
		require.Equal(t, int32(i), got[i].OffsetDelta, "record %d", i)
		require.Equal(t, want[i].TimestampDelta, got[i].TimestampDelta, "record %d", i)
		require.Equal(t, want[i].Key, got[i].Key, "record %d key", i)
		require.Equal(t, want[i].Value, got[i].Value, "record %d value", i)
		require.Equal(t, want[i].Headers, got[i].Headers, "record %d headers", i)
	}
}

// franzBatch builds a batch the way franz-go's producer does: records encoded
// with kmsg and compressed with kgo's default compressor.
func franzBatch(t testing.TB, codec kgo.CompressionCodec, recs []Record) []byte {
	t.Helper()
	var raw []byte
	for i, r := range recs {
		kr := kmsg.Record{TimestampDelta64: r.TimestampDelta, OffsetDelta: int32(i), Key: r.Key, Value: r.Value}
		for _, h := range r.Headers {
			kr.Headers = append(kr.Headers, kmsg.Header{Key: h.Key, Value: h.Value})
		}
		withZeroLen := kr.AppendTo(nil)
		kr.Length = int32(len(withZeroLen) - 1)
		raw = kr.AppendTo(raw)
	}
	var attrs int16
	records := raw
	comp, err := kgo.DefaultCompressor(codec)
	require.NoError(t, err)
	if comp != nil {
		var buf bytes.Buffer
		out, typ := comp.Compress(&buf, raw)
		records = bytes.Clone(out)
		attrs = int16(typ)
	}
	kb := kmsg.RecordBatch{
		FirstOffset: 0, PartitionLeaderEpoch: -1, Magic: 2, Attributes: attrs,
		LastOffsetDelta: int32(len(recs) - 1), FirstTimestamp: 1_700_000_000_000, MaxTimestamp: 1_700_000_000_000 + 1<<40,
		ProducerID: -1, ProducerEpoch: -1, FirstSequence: -1, NumRecords: int32(len(recs)), Records: records,
	}
	kb.Length = int32(HeaderSize - lengthFieldEnd + len(records))
	b := kb.AppendTo(nil)
	binary.BigEndian.PutUint32(b[offCRC:], checksum(b))
	return b
}

// xerialFrame frames raw with the snappy-java stream format, in chunks of at
// most chunk bytes of input.
func xerialFrame(raw []byte, chunk int) []byte {
	out := append([]byte(nil), xerialMagic...)
	out = binary.BigEndian.AppendUint32(out, 1) // version
	out = binary.BigEndian.AppendUint32(out, 1) // compatible version
	for len(raw) > 0 {
		n := min(chunk, len(raw))
		block := snappy.Encode(nil, raw[:n])
		out = binary.BigEndian.AppendUint32(out, uint32(len(block)))
		out = append(out, block...)
		raw = raw[n:]
	}
	return out
}

// xerialBatch rewrites an uncompressed batch as a snappy batch in xerial
// framing, as the Java client writes it.
func xerialBatch(t testing.TB, uncompressed []byte, chunk int) []byte {
	t.Helper()
	h, err := ParseHeader(uncompressed)
	require.NoError(t, err)
	b := append([]byte(nil), uncompressed[:HeaderSize]...)
	b = append(b, xerialFrame(uncompressed[HeaderSize:h.Size()], chunk)...)
	binary.BigEndian.PutUint32(b[offLength:], uint32(len(b)-lengthFieldEnd))
	binary.BigEndian.PutUint16(b[offAttributes:], uint16(h.Attributes&^attrCompressionMask|int16(Snappy)))
	binary.BigEndian.PutUint32(b[offCRC:], checksum(b))
	return b
}

// seedBatches returns real batches of every codec, from Build, from franz-go
// and in xerial snappy framing.
func seedBatches(t testing.TB) [][]byte {
	t.Helper()
	recs := sampleRecords(9)
	var seeds [][]byte
	for _, c := range []Codec{None, Gzip, Snappy, LZ4, Zstd} {
		seeds = append(seeds, Build(nil, 42, 1_700_000_000_000, recs, WithCompression(c), WithProducer(7, 1, 100)))
	}
	for _, c := range []kgo.CompressionCodec{kgo.NoCompression(), kgo.GzipCompression(), kgo.SnappyCompression(), kgo.Lz4Compression(), kgo.ZstdCompression()} {
		seeds = append(seeds, franzBatch(t, c, recs))
	}
	seeds = append(seeds, xerialBatch(t, seeds[0], 64))
	seeds = append(seeds, Build(nil, 0, 5, nil)) // an empty batch
	return seeds
}
