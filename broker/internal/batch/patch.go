package batch

import "encoding/binary"

// The setters below patch a complete batch in place. They assume b holds at
// least a header (callers have run Validate) and do nothing if it does not.

// SetBaseOffset writes the base offset. The field is outside the CRC.
func SetBaseOffset(b []byte, off int64) {
	if len(b) < HeaderSize {
		return
	}
	binary.BigEndian.PutUint64(b[offBaseOffset:], uint64(off))
}

// SetPartitionLeaderEpoch writes the partition leader epoch. The field is
// outside the CRC.
func SetPartitionLeaderEpoch(b []byte, epoch int32) {
	if len(b) < HeaderSize {
		return
	}
	binary.BigEndian.PutUint32(b[offPartitionLeaderEpoch:], uint32(epoch))
}

// SetLogAppendTime marks the batch as using LogAppendTime, sets its max
// timestamp to ts and recomputes the CRC, as Kafka does for topics with
// message.timestamp.type=LogAppendTime. b must hold exactly one batch.
func SetLogAppendTime(b []byte, ts int64) {
	if len(b) < HeaderSize {
		return
	}
	attrs := binary.BigEndian.Uint16(b[offAttributes:])
	binary.BigEndian.PutUint16(b[offAttributes:], attrs|attrLogAppendTime)
	binary.BigEndian.PutUint64(b[offMaxTimestamp:], uint64(ts))
	binary.BigEndian.PutUint32(b[offCRC:], checksum(b))
}
