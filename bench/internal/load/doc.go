// Package load drives a broker through franz-go's kgo client the way the
// benchmarks and cmd/rsscheck need: [Pipeline] produces records
// asynchronously with a bounded number in flight, and [ConsumeAll] reads a
// topic from the start with a fresh client until it has seen a given number
// of records.
//
// A broker's address is host:port, or for a cluster several of them
// comma-separated, as target.Target's Addr has them.
//
// Concurrency: a Pipeline is used by one producing goroutine; its callbacks
// run on kgo's goroutines and only touch the window and the first error.
// ConsumeAll owns its client from start to end.
package load
