// Package txn is the broker's transaction coordinator, Kafka's
// TransactionCoordinator: it owns the transactional ids whose
// __transaction_state partition this broker leads, hands their producers
// ids and epochs (InitProducerId), records which partitions each
// transaction touches (AddPartitionsToTxn, AddOffsetsToTxn), and ends
// transactions (EndTxn) by writing commit or abort markers to those
// partitions. DescribeTransactions and ListTransactions report its state.
//
// Start from [Coordinator]: [New] over a [Store] (the broker's
// __transaction_state partitions, records in Kafka's schema, see
// [DecodeRecord]) and a [Markers] writer (WriteTxnMarkers to partition
// leaders). The broker calls [Coordinator.Load] when it becomes leader of a
// __transaction_state partition and [Coordinator.Unload] when it stops; the
// coordinator epoch of the markers is the partition's leader epoch.
//
// # State machine
//
// Each transactional id moves through Kafka's states; every transition is
// written to __transaction_state and acknowledged by the ISR before the
// request that caused it is answered:
//
//	Empty ─AddPartitions/AddOffsets─> Ongoing ─EndTxn(commit)─> PrepareCommit ─markers─> CompleteCommit
//	                                  Ongoing ─EndTxn(abort)──> PrepareAbort  ─markers─> CompleteAbort
//	                                  Ongoing ─timeout, or InitProducerId of a new incarnation
//	                                           (epoch bumped)─> PrepareAbort  ─markers─> CompleteAbort
//	Empty/CompleteCommit/CompleteAbort ─InitProducerId─> Empty (epoch bumped, or a new producer id)
//	CompleteCommit/CompleteAbort ─AddPartitions─> Ongoing
//	Empty/CompleteCommit/CompleteAbort ─transactional.id.expiration.ms─> Dead (a tombstone)
//
// Between PrepareCommit/PrepareAbort and the completion, and while any
// transition is being written, requests of the id get
// CONCURRENT_TRANSACTIONS. PrepareEpochFence is read from logs Kafka wrote
// but never written: fencing writes PrepareAbort at the bumped epoch, which
// is what Kafka's fence ends in. A partition loaded with transactions in
// PrepareCommit/PrepareAbort writes their markers again and completes them
// (a coordinator that crashed or lost leadership mid-way); Ongoing ones are
// aborted by the timeout sweep
// (transaction.abort.timed.out.transaction.cleanup.interval.ms).
//
// # Concurrency and lock order
//
// Requests of different ids run in parallel; no lock is held while
// writing to the Store or the Markers. The locks are taken in this order,
// never the other way:
//
//	txnMeta.mu (one id's state) -> Coordinator.mu (the loaded partitions)
//	shard.mu (one partition's id map) is a leaf: nothing is locked under it.
//
// Marker writes and completions run in goroutines owned by the coordinator
// and bounded by the partition's context, cancelled by Unload and Close.
package txn
