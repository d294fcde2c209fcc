// Package wire is the broker's network layer: it accepts TCP connections,
// frames Kafka requests, decodes them with franz-go's kmsg, dispatches each to
// the handler of its API key and writes the response.
//
// Each Kafka API is served in its own file named after it (produce.go,
// fetch.go, join_group.go, ...), which opens with the versions it serves and
// where it departs from Kafka. A reader looking for what happens on a Fetch
// opens fetch.go; the data path reads wire -> replica -> log.
//
// Start from [Server]: [New] takes the broker's state (cluster metadata,
// partitions, group coordinator; the transaction coordinator with
// [WithTransactions]) and [Server.Serve] runs the accept loop.
//
// Concurrency: one goroutine per connection reads, handles and answers its
// requests in order, one at a time, as Kafka does (a connection is muted while
// its request is in flight). Handlers of different connections run in
// parallel and share no lock on the produce or fetch path; partitions,
// metadata and groups synchronize themselves. Lock order, top down:
// Server.mu (connection set) -> replica.Manager ->
// replica.Partition -> log.Log. Handlers take Server.mu only to copy the
// listener list (DescribeConfigs), calling nothing while they hold it.
//
// Record data is not copied through the broker on the way out: a fetch
// response is encoded with placeholders for its large batch sets, which go
// to the socket from the segment files with sendfile(2) on Linux (see
// fetch_write.go), as Kafka's zero-copy transfer does. Elsewhere, and for
// small sets, the batches are read into a reused buffer and written with
// the rest in one writev.
//
// Malformed input never crashes the broker: a frame over
// socket.request.max.bytes, a truncated or undecodable request, or an unknown
// API key is logged with the peer's address and the connection is closed, as
// Kafka does; an ApiVersions request at a version too new is answered at v0
// with UNSUPPORTED_VERSION and the supported range (KIP-511).
package wire
