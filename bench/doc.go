// Package bench measures kspring's broker against franz-go's in-memory kfake
// cluster, side by side in one run, through franz-go's kgo client.
//
// It is a module of its own (github.com/kspring/kspring/bench) so that the
// peer, github.com/twmb/franz-go/pkg/kfake, never enters the main module's
// go.mod. The benchmarks live in the _test.go files of this package:
//
//   - BenchmarkProduce pipelines records with kgo's Produce and a callback,
//     keeping a bounded window in flight, with acks=1 (non-idempotent) and
//     acks=all (kgo's idempotent default).
//   - BenchmarkConsume pre-produces a fixed amount of data once and then, per
//     iteration, consumes all of it from the start with a fresh client.
//   - BenchmarkFetch reads the same data with raw Fetch requests, checking
//     each batch's CRC without decoding its records: the broker's side of
//     consuming.
//   - BenchmarkReplication, BenchmarkReplicationLatency and
//     BenchmarkFailover measure kspring alone, on a three-broker cluster
//     (target kspring-cluster, all three brokers in one child process):
//     acks=all throughput and latency with replication factor 1 against 3,
//     and how long a partition's crashed leader keeps producers waiting.
//
// Each broker runs in a child process of its own; the benchmark process is
// the client, the load generator, and runs at GOGC=400 (-client.gogc) so
// that its own garbage collection is not the bottleneck.
//
// Every benchmark against kfake has sub-benchmarks named target=kspring and
// target=kfake so benchstat can put them in columns (benchstat -col /target);
// the replication ones are named rf=1 and rf=3 (benchstat -col /rf). The README in
// this directory has the commands and the figures.
//
// The helpers start from [github.com/kspring/kspring/bench/internal/target]
// (start and stop a broker with a seeded topic) and
// [github.com/kspring/kspring/bench/internal/load] (the produce pipeline and
// the consume-everything reader); cmd/rsscheck uses the same helpers to check
// that the broker's memory stays bounded while it writes gigabytes.
//
// Concurrency: nothing here is shared between benchmarks; each sub-benchmark
// starts its own broker in its own temporary directory and closes it.
package bench
