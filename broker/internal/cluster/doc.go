// Package cluster keeps the cluster's metadata in a replicated state
// machine on github.com/hashicorp/raft, in the role of Kafka's KRaft
// quorum: the cluster id, the registered brokers (endpoint, incarnation,
// broker epoch, fenced or shutting down), the topics with their ids,
// configs and, per partition, the replicas, leader, leader epoch, ISR,
// partition epoch and any reassignment under way, and the producer id
// blocks handed out.
//
// Start from [Node] ([OpenNode]): this broker's member of the quorum,
// configured as KRaft is (node.id, controller.quorum.voters). Every node
// applies the committed metadata log to its own [State]; [Node.State] and
// the readers built on it (Topic, Topics, ...) never block and never touch
// the network. Changes are commands appended to the log through the quorum's
// leader, the active controller: on any other node they fail with
// [ErrNotController] and the broker sends them to the controller instead.
// A command's effect is computed by every node alike (see apply): anything
// random or time-based, like a topic id or a replica placement, is chosen
// by the proposer and carried in the command.
//
// One broker is a one-voter quorum on an in-memory transport that elects
// itself at once. Several voters talk over the controller listener with
// raft's network transport; the metadata log and snapshots live in the
// first log dir's __cluster_metadata-0, in a bbolt file (raft-boltdb).
// Every quorum connection opens with a hello naming the quorum (a digest
// of controller.quorum.voters, which must be the same on every voter), and
// a node drops a connection from another quorum (handshake.go): raft alone
// would follow any leader with a higher term.
//
// Concurrency: a Node is safe for concurrent use. States are immutable once
// published: a reader may keep one as long as it likes; a change builds a
// new one sharing what it did not change. Raft applies commands on one
// goroutine.
package cluster
