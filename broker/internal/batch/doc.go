// Package batch reads, checks and patches Kafka RecordBatch v2 (magic 2)
// bytes without decoding the records inside.
//
// The broker keeps batches as producers send them, from the request to the
// segment file to the fetch response. On the produce path it calls [Split]
// to walk the batches of a request, [Validate] on each (magic, length,
// CRC-32C, record count), and then patches the fields that live outside the
// CRC in place: [SetBaseOffset] and [SetPartitionLeaderEpoch]. For topics
// with message.timestamp.type=LogAppendTime, [SetLogAppendTime] rewrites the
// max timestamp and recomputes the CRC. [ParseHeader] reads the 61-byte
// header of a batch (for example from a segment file) into a [Header].
//
// The rarer code paths that need keys and values (compaction, finding an
// offset by timestamp inside a batch, loading group state) call [Records],
// which decompresses the records section if needed (gzip, snappy in raw or
// xerial framing, lz4 frames, zstd) and decodes the varint records. [Build]
// writes batches the broker produces itself, such as group offset commits,
// and the batches compaction rewrites with fewer records ([WithOffsetDeltas]
// keeps the survivors' offsets).
//
// Errors are sentinels that wrap franz-go's kerr values, so a caller can both
// branch with errors.Is(err, batch.ErrCorrupt) and find the Kafka error code
// with errors.As(err, new(*kerr.Error)).
//
// Concurrency: every function works only on the slices it is given and keeps
// no state between calls except shared, concurrency-safe codec instances, so
// all functions are safe for concurrent use as long as callers do not share a
// slice that one of them modifies. The package starts no goroutines.
package batch
