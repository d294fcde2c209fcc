// Package group is the broker's group coordinator: Kafka's classic consumer
// group protocol (JoinGroup, SyncGroup, Heartbeat, LeaveGroup) and the
// offset APIs (OffsetCommit, TxnOffsetCommit, OffsetFetch, OffsetDelete), with
// DescribeGroups, ListGroups and DeleteGroups, over __consumer_offsets.
//
// Start from Coordinator: New(cfg, store, logger), then Start, which replays
// __consumer_offsets through the Store. The wire layer decodes a request,
// calls the method of the same name (JoinGroup, SyncGroup, ...) and encodes
// the kmsg response it gets back, which is shaped for the request's version.
// FindCoordinator is the wire layer's: the coordinator of a group is the
// leader of partition PartitionFor(group). WithClient puts the client.id and
// host of a request into its context, for member ids and DescribeGroups.
// In a cluster, the broker calls UnloadPartition when it stops leading a
// partition of __consumer_offsets (its groups' clients then get
// NOT_COORDINATOR and look the coordinator up again) and LoadPartition when
// it becomes the leader. When partitions are deleted (DeleteTopics, or a
// topic found gone at start-up) the broker calls PartitionsDeleted, which
// removes every group's committed offsets of them, as Kafka's
// onPartitionsDeleted does.
// Transactional offsets (TxnOffsetCommit) are written to __consumer_offsets
// in the producer's transaction (a transactional batch, through TxnStore)
// and held pending until the broker reports the producer's marker with
// CompleteTxn; loading a partition resolves them by the markers in its
// log (Store.Load reports transactional records and markers, see
// BatchRecords).
// Errors are Kafka error codes (franz-go's kerr) in the responses; the
// methods never fail otherwise.
//
// # Semantics
//
// Groups move through Empty, PreparingRebalance, CompletingRebalance and
// Stable, and are Dead once deleted, expired or unloaded, as in Kafka's
// GroupCoordinator. A JoinGroup waits until every member has rejoined or
// the group's rebalance timeout passes (members that did not rejoin are
// removed), and for a new group also group.initial.rebalance.delay.ms. The
// protocol is chosen by the members' votes among the protocols all support;
// the leader gets every member's metadata and sends the assignment in its
// SyncGroup, which the others wait for. Members that do not heartbeat within
// their session timeout are removed, and so are members that do not sync
// within the rebalance timeout. Static members (group.instance.id) keep
// their assignment across a restart within their session timeout, without a
// rebalance, and fence an older process with the same instance id.
//
// # Persistence
//
// Every commit, every generation's assignment and every deletion is written
// to __consumer_offsets with Kafka's own record schemas before it is
// acknowledged; Start replays them, so a restart keeps the committed
// offsets and each group's generation and members. Offsets of groups that
// stay empty past offsets.retention.minutes are tombstoned, and so are
// those of deleted partitions; an empty group left without offsets is
// removed, with a tombstone of its metadata.
//
// # Concurrency
//
// All methods are safe for concurrent use; there is no global lock on any
// request path. Each partition of __consumer_offsets has a shard (an
// RWMutex over its map of groups, the count of requests in flight, the
// context that Close cancels), each group two mutexes. The lock order is:
//
//	group.wmu  ->  group.mu  ->  shard.mu
//
// group.wmu serializes everything that changes a group or appends its
// records, and is held across the Store append, so that records reach the
// log in the order they are applied in memory. group.mu guards the group's
// fields; a holder of wmu releases mu while it waits for the Store, so that
// heartbeats, OffsetFetch, DescribeGroups and ListGroups (which take only
// mu) are never stuck behind a disk or replication wait. shard.mu is taken
// briefly to find, create or drop a group, never while waiting.
//
// No method waits forever: JoinGroup and SyncGroup wait on a channel until
// the group answers, their context ends, or Close; Store appends are
// bounded by offsets.commit.timeout.ms and cancelled by Close. Timers
// (sessions, rebalance and sync timeouts, the initial delay) run as
// time.AfterFunc callbacks that take the group's locks like a request and
// check that they are still current. Close waits for every request and
// callback in flight (counted per shard), so no goroutine of the package
// outlives it.
package group
