package group

import (
	"math"
	"unicode/utf16"
)

// PartitionFor returns the __consumer_offsets partition of group, as Kafka
// computes it: Utils.abs(group.hashCode()) % partitions, with Java's
// String.hashCode over the UTF-16 code units of the id. Clients and other
// brokers agree on the coordinator only if this matches Kafka bit for bit.
func (c *Coordinator) PartitionFor(group string) int32 {
	return partitionFor(group, c.cfg.OffsetsTopicPartitions)
}

// Partition is PartitionFor for any key and partition count: Kafka places
// transactional ids in __transaction_state the same way.
func Partition(key string, partitions int32) int32 { return partitionFor(key, partitions) }

func partitionFor(group string, partitions int32) int32 {
	h := javaHashCode(group)
	if h == math.MinInt32 { // Kafka's Utils.abs
		h = 0
	} else if h < 0 {
		h = -h
	}
	return h % partitions
}

// javaHashCode is java.lang.String.hashCode: s[0]*31^(n-1) + ... + s[n-1]
// over UTF-16 code units, in wrapping int32 arithmetic.
func javaHashCode(s string) int32 {
	var h int32
	for _, r := range s {
		if r >= 0x10000 {
			hi, lo := utf16.EncodeRune(r)
			h = 31*h + hi
			h = 31*h + lo
			continue
		}
		h = 31*h + r
	}
	return h
}
