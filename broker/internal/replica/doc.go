// Package replica owns the broker's partitions: each [Partition] wraps one
// partition's log with what the network layer needs around it: the high
// watermark, notification of new data for long-polling fetches, and (with
// replication) the leader/follower role, the ISR and leader epochs.
//
// Start from [Manager]: it opens, creates and deletes partitions in the log
// directories and runs their background work: retention, time-based roll
// and flush on one goroutine, compaction on another (Kafka's log cleaner),
// so a long compaction holds up no other partition's maintenance.
//
// Concurrency: a Manager and its Partitions are safe for concurrent use.
// Partitions are independent: there is no lock shared by two partitions on the
// produce or fetch path. Lock order: Manager.mu before Partition.mu; a
// Partition never calls back into the Manager while holding its own lock.
package replica
