package listener

import (
	"encoding/binary"
	"math/big"
)

// Header names written and read by the listener: Spring for Apache Kafka's
// KafkaHeaders and RetryTopicHeaders, so Java services read them.
const (
	HeaderCorrelationID  = "kafka_correlationId"
	HeaderReplyTopic     = "kafka_replyTopic"
	HeaderReplyPartition = "kafka_replyPartition"

	HeaderDLTOriginalTopic         = "kafka_dlt-original-topic"
	HeaderDLTOriginalPartition     = "kafka_dlt-original-partition"
	HeaderDLTOriginalOffset        = "kafka_dlt-original-offset"
	HeaderDLTOriginalTimestamp     = "kafka_dlt-original-timestamp"
	HeaderDLTOriginalTimestampType = "kafka_dlt-original-timestamp-type"
	HeaderDLTOriginalConsumerGroup = "kafka_dlt-original-consumer-group"
	HeaderDLTExceptionFQCN         = "kafka_dlt-exception-fqcn"
	HeaderDLTExceptionCauseFQCN    = "kafka_dlt-exception-cause-fqcn"
	HeaderDLTExceptionMessage      = "kafka_dlt-exception-message"
	HeaderDLTExceptionStacktrace   = "kafka_dlt-exception-stacktrace"

	HeaderRetryAttempts          = "retry_topic-attempts"
	HeaderRetryBackoffTimestamp  = "retry_topic-backoff-timestamp"
	HeaderRetryOriginalTimestamp = "retry_topic-original-timestamp"
)

// Header encodings, as Java writes them.

// Int32Header is Java's ByteBuffer.putInt: 4 bytes, big-endian.
func Int32Header(v int32) []byte { return binary.BigEndian.AppendUint32(nil, uint32(v)) }

// Int64Header is Java's ByteBuffer.putLong: 8 bytes, big-endian.
func Int64Header(v int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(v)) }

// BigIntHeader is Java's BigInteger.valueOf(v).toByteArray(): the shortest
// big-endian two's complement form, as Spring writes the retry-topic
// attempts and timestamps.
func BigIntHeader(v int64) []byte {
	b := big.NewInt(v)
	if v >= 0 {
		out := b.Bytes()
		if len(out) == 0 || out[0]&0x80 != 0 {
			out = append([]byte{0}, out...)
		}
		return out
	}
	// Two's complement of a negative number in the fewest bytes.
	n := 1
	for ; n < 8; n++ {
		if v >= -(int64(1) << (8*n - 1)) {
			break
		}
	}
	full := binary.BigEndian.AppendUint64(nil, uint64(v))
	return full[8-n:]
}

// ParseBigIntHeader reads a BigInteger.toByteArray value of up to 8 bytes;
// it also reads Spring's older 4-byte int form of the attempts header.
func ParseBigIntHeader(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 8 {
		return 0, false
	}
	var v int64
	if b[0]&0x80 != 0 {
		v = -1
	}
	for _, c := range b {
		v = v<<8 | int64(c)
	}
	return v, true
}
