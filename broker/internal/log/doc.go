// Package log is one partition's durable log, laid out like Kafka's: a
// directory per partition holding segment files named by their 20-digit base
// offset (00000000000000000000.log), each with a sparse offset index
// (.index: relative offset and byte position, an entry every
// IndexIntervalBytes) and a time index (.timeindex: the largest timestamp so
// far and the batch that holds it). The active segment's indexes are kept
// in memory; an inactive segment keeps one entry per 4 KiB page of each
// index file and reads the page a lookup needs, so the heap does not grow
// with the data on disk.
//
// Start from [Open] and [Log]. Batches are stored exactly as producers send
// them (RecordBatch v2, see package batch): [Log.Append] assigns offsets by
// patching each batch's base offset and leader epoch in place and writes
// them with one write to the active segment's page cache. A fetch asks
// [Log.ReadChunks] where its whole batches are: [Chunk]s, ranges of segment
// files that hold a reference on their file, so the broker can send them
// with sendfile and retention or the cleaner can drop the segment
// meanwhile; [Log.Read] copies the same batches out. Idempotent producers
// are checked and deduplicated as Kafka's ProducerStateManager does, and their state
// survives restarts through snapshot files.
//
// Transactions: transactional producers' batches open a transaction per
// producer; [Log.AppendMarker] (on a follower, a replicated control batch)
// commits or aborts it. [Log.LastStableOffset] bounds read_committed
// fetches, [Log.AbortedTransactions] lists the aborted transactions a fetch
// range overlaps, from each segment's aborted transaction index
// (<base>.txnindex, Kafka's format, written when an abort marker is
// appended and rebuilt by recovery). Open transactions are kept in
// producer snapshots (version 3) and survive restarts.
//
// Replication: a follower writes the batches it fetched from the leader
// with [Log.AppendReplicated], which keeps their offsets and leader epochs
// and updates producer state without refusing anything, and cuts what
// diverged with [Log.Truncate]. The leader epoch cache (Kafka's
// LeaderEpochFileCache) records where each leader epoch starts; see
// [Log.AssignEpoch] and [Log.EndOffsetForEpoch].
//
// Durability follows Kafka's flush policy (FlushIntervalMessages,
// FlushIntervalMs; by default the log never fsyncs on its own and relies on
// replication, except when segments are rolled and at Close). Open recovers
// after a crash: it scans the segments written since the last fsync, cuts
// the first torn or corrupt batch and everything after it, and rebuilds
// indexes and producer state.
//
// The log starts no goroutines. The broker calls [Log.Maintain]
// periodically for time-based rolls, retention, time-based flushes and
// delayed file deletion, and [Log.Compact] for compaction.
//
// Compaction (cleanup.policy "compact" or "compact,delete") works as
// Kafka's log cleaner: [Log.Compact] keeps the latest record per key in the
// inactive segments, drops tombstones once they are DeleteRetentionMs old,
// and leaves survivors at their offsets, so a compacted log has gaps that
// Read, OffsetForTimestamp and retention step over. Cleaned segments are
// written to .cleaned files, renamed to .swap and swapped in; Open
// completes or discards a swap a crash interrupted. See [Log.Compact] and
// [CleanStats].
//
// Concurrency: a Log is safe for concurrent use. Writes (Append,
// AppendReplicated, AssignEpoch, Maintain, DeleteRecords, Truncate,
// SetConfig, Close, Delete) are serialized by an internal lock; reads
// (Read, OffsetForTimestamp, MaxTimestamp, StartOffset, EndOffset, Size,
// ProducerState, LatestEpoch, EndOffsetForEpoch) run concurrently with each
// other and wait only for a write's in-memory critical section. fsync
// happens outside that critical section, except the leader epoch
// checkpoint's when a leader change alters it. Compact runs one at a time and holds no lock while it
// reads and writes; it takes the write lock only to swap a cleaned segment
// in.
//
// Files in a partition directory besides segments: <offset>.snapshot
// (producer state), <offset>.txnindex (aborted transactions), log-start-offset (moved by DeleteRecords),
// recovery-point (offset below which everything was fsynced),
// cleaner-offset-checkpoint (where compaction's dirty tail starts),
// leader-epoch-checkpoint (the leader epoch cache, in Kafka's format) and
// clean-shutdown (written last by Close, removed by Open).
package log
