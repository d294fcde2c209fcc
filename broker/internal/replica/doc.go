// Package replica owns the broker's partitions: each [Partition] wraps one
// partition's log with what replication needs around it: this broker's
// role (leader, follower or none) at a leader epoch, the ISR, the high
// watermark, and notification of new data for long-polling fetches.
//
// Start from [Manager]: it opens, creates and deletes partitions in the log
// directories, applies the metadata's view of each ([Manager.SetState]), and
// runs the background work: retention, time-based roll and flush on one
// goroutine, compaction on another (Kafka's log cleaner), ISR checks, and
// high watermark checkpoints (replication-offset-checkpoint per log dir).
//
// Replication works as Kafka's. A follower's partitions are fetched by one
// fetcher per leader broker (fetcher.go), with Fetch v13 and its replica
// id, naming topics by id (KIP-516, [Partition.TopicID]) so that a broker of
// another cluster reached at a dead leader's address refuses them
// (UNKNOWN_TOPIC_ID) instead of serving a same-named topic, and appended
// with the leader's offsets and epochs; a follower whose log diverged is
// told so (DivergingEpoch) and truncates. The leader
// (leader.go) learns each follower's log end from its fetch offset, moves
// the high watermark to the smallest log end of the ISR, asks the
// controller (Options.AlterISR) to add a follower that caught up and to
// drop one that has not caught up for replica.lag.time.max.ms, and counts
// the larger ISR until the controller confirms a change. acks=all waits for
// the high watermark ([Partition.WaitReplicated]); min.insync.replicas is
// checked before the append and after it.
//
// Transactions: the leader writes the coordinator's commit and abort
// markers with [Partition.WriteMarker] (acks=all), followers replicate them
// like any batch, and [Partition.LastStableOffset] bounds read_committed
// fetches. The replica tells the log each move of its high watermark
// (log.NoteHighWatermark), so that markers replicated to the ISR stop
// holding the LSO back, on leaders and followers alike.
//
// Concurrency: a Manager and its Partitions are safe for concurrent use.
// Partitions are independent: there is no lock shared by two partitions on
// the produce or fetch path. Lock order: Manager.mu before Partition.mu; a
// Partition never calls back into the Manager while holding its own lock,
// except to hand an ISR change to a goroutine (Manager.alter). Partition.mu
// may be held while calling into the log (log.Log's own lock is taken
// after it, never before).
package replica
