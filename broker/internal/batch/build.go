package batch

import (
	"encoding/binary"
)

// BuildOption changes how Build writes a batch.
type BuildOption func(*buildConfig)

type buildConfig struct {
	producerID           int64
	producerEpoch        int16
	baseSequence         int32
	partitionLeaderEpoch int32
	attributes           int16
	codec                Codec
	keepOffsetDeltas     bool
	lastOffsetDelta      int32
}

// WithProducer marks the batch as sent by an idempotent producer.
func WithProducer(id int64, epoch int16, baseSequence int32) BuildOption {
	return func(c *buildConfig) {
		c.producerID, c.producerEpoch, c.baseSequence = id, epoch, baseSequence
	}
}

// WithCompression compresses the records section with codec. Build writes
// uncompressed batches by default; compressed ones serve tests and fuzz
// corpora.
func WithCompression(codec Codec) BuildOption {
	return func(c *buildConfig) { c.codec = codec }
}

// WithTransactional sets the transactional attribute.
func WithTransactional() BuildOption {
	return func(c *buildConfig) { c.attributes |= attrTransactional }
}

// WithControl sets the control attribute (transaction markers).
func WithControl() BuildOption {
	return func(c *buildConfig) { c.attributes |= attrControl }
}

// WithOffsetDeltas keeps each record's OffsetDelta as given instead of
// numbering the records 0..n-1, and sets the batch's last offset delta to
// lastOffsetDelta. Compaction uses it to rewrite a batch with fewer records
// while every survivor keeps its offset and the batch keeps its offset range
// (and so its producer's last sequence), as Kafka's cleaner does. The
// deltas must increase and none may exceed lastOffsetDelta; with no records
// the batch is an empty one that only holds its offset range.
func WithOffsetDeltas(lastOffsetDelta int32) BuildOption {
	return func(c *buildConfig) { c.keepOffsetDeltas, c.lastOffsetDelta = true, lastOffsetDelta }
}

// WithPartitionLeaderEpoch sets the partition leader epoch (default -1).
func WithPartitionLeaderEpoch(epoch int32) BuildOption {
	return func(c *buildConfig) { c.partitionLeaderEpoch = epoch }
}

// Build appends one complete v2 batch holding recs to dst and returns the
// extended slice. Records are numbered 0..len(recs)-1 (their OffsetDelta is
// ignored, unless WithOffsetDeltas says otherwise); their timestamps are firstTimestamp + TimestampDelta, and the
// batch's max timestamp is the largest of those. Without options the batch
// is uncompressed, has producer id, epoch and base sequence -1 and leader
// epoch -1. The CRC is computed.
func Build(dst []byte, baseOffset int64, firstTimestamp int64, recs []Record, opts ...BuildOption) []byte {
	cfg := buildConfig{producerID: -1, producerEpoch: -1, baseSequence: -1, partitionLeaderEpoch: -1}
	for _, o := range opts {
		o(&cfg)
	}

	start := len(dst)
	dst = append(dst, make([]byte, HeaderSize)...)
	maxTS := firstTimestamp
	if cfg.codec == None {
		dst = appendRecords(dst, recs, cfg.keepOffsetDeltas, &maxTS)
	} else {
		raw := appendRecords(nil, recs, cfg.keepOffsetDeltas, &maxTS)
		compressed, err := compress(dst, cfg.codec, raw)
		if err != nil { // in-memory encoders do not fail; fall back to no compression
			cfg.codec = None
			compressed = append(dst, raw...)
		}
		dst = compressed
	}

	b := dst[start:]
	be := binary.BigEndian
	lastOffsetDelta := int32(max(len(recs)-1, 0))
	if cfg.keepOffsetDeltas {
		lastOffsetDelta = cfg.lastOffsetDelta
	}
	be.PutUint64(b[offBaseOffset:], uint64(baseOffset))
	be.PutUint32(b[offLength:], uint32(len(b)-lengthFieldEnd))
	be.PutUint32(b[offPartitionLeaderEpoch:], uint32(cfg.partitionLeaderEpoch))
	b[offMagic] = 2
	be.PutUint16(b[offAttributes:], uint16(cfg.attributes|int16(cfg.codec)))
	be.PutUint32(b[offLastOffsetDelta:], uint32(lastOffsetDelta))
	be.PutUint64(b[offFirstTimestamp:], uint64(firstTimestamp))
	be.PutUint64(b[offMaxTimestamp:], uint64(maxTS))
	be.PutUint64(b[offProducerID:], uint64(cfg.producerID))
	be.PutUint16(b[offProducerEpoch:], uint16(cfg.producerEpoch))
	be.PutUint32(b[offBaseSequence:], uint32(cfg.baseSequence))
	be.PutUint32(b[offNumRecords:], uint32(len(recs)))
	be.PutUint32(b[offCRC:], checksum(b))
	return dst
}

// appendRecords encodes recs with offset deltas 0..n-1 (or, with keepDeltas,
// their own) and tracks the max timestamp.
func appendRecords(dst []byte, recs []Record, keepDeltas bool, maxTS *int64) []byte {
	first := *maxTS
	for i, r := range recs {
		if ts := first + r.TimestampDelta; ts > *maxTS {
			*maxTS = ts
		}
		delta := int32(i)
		if keepDeltas {
			delta = r.OffsetDelta
		}
		n := recordBodySize(r, delta)
		dst = binary.AppendVarint(dst, int64(n))
		dst = append(dst, byte(r.Attributes))
		dst = binary.AppendVarint(dst, r.TimestampDelta)
		dst = binary.AppendVarint(dst, int64(delta))
		dst = appendNullableBytes(dst, r.Key)
		dst = appendNullableBytes(dst, r.Value)
		dst = binary.AppendVarint(dst, int64(len(r.Headers)))
		for _, h := range r.Headers {
			dst = binary.AppendVarint(dst, int64(len(h.Key)))
			dst = append(dst, h.Key...)
			dst = appendNullableBytes(dst, h.Value)
		}
	}
	return dst
}

func appendNullableBytes(dst, v []byte) []byte {
	if v == nil {
		return binary.AppendVarint(dst, -1)
	}
	dst = binary.AppendVarint(dst, int64(len(v)))
	return append(dst, v...)
}

func varintSize(v int64) int {
	var buf [binary.MaxVarintLen64]byte
	return binary.PutVarint(buf[:], v)
}

func nullableBytesSize(v []byte) int {
	if v == nil {
		return 1
	}
	return varintSize(int64(len(v))) + len(v)
}

func recordBodySize(r Record, offsetDelta int32) int {
	n := 1 + varintSize(r.TimestampDelta) + varintSize(int64(offsetDelta)) +
		nullableBytesSize(r.Key) + nullableBytesSize(r.Value) + varintSize(int64(len(r.Headers)))
	for _, h := range r.Headers {
		n += varintSize(int64(len(h.Key))) + len(h.Key) + nullableBytesSize(h.Value)
	}
	return n
}
