// Package cluster keeps the broker's cluster metadata: the cluster id and the
// topics with their ids, partition counts and config overrides.
//
// Start from [Store]: [Open] loads it from a log directory and every change is
// persisted atomically before it is visible. On one broker the Store is the
// metadata quorum; the replication work moves it onto a replicated state machine
// (hashicorp/raft) behind the same methods.
//
// Concurrency: a Store is safe for concurrent use; readers never block each
// other, writers are serialized and hold the lock while persisting.
package cluster
