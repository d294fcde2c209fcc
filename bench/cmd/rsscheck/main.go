// Command rsscheck checks that kspring's broker keeps its memory bounded while
// it writes gigabytes: data lives on disk, so the process's resident set after
// writing 5 GB should be no larger than after 500 MB.
//
// It starts the broker in-process with its log in a fresh directory, produces
// records through franz-go's kgo client (pipelined, a bounded window in
// flight, no compression), and at each checkpoint waits for every
// acknowledgement and prints the process's memory from /proc/self/status:
// VmRSS as read, the peak VmRSS sampled every 10ms since the previous
// checkpoint, and VmRSS after a forced GC that returns free memory to the OS.
// A single reading lands anywhere on the GC's sawtooth; the peak of a stretch
// does not, so the verdict compares peaks. The producing client runs in the
// same process, so its memory is counted too; its buffer is bounded by
// -window records. The data directory is removed at the end unless -keep is
// set.
//
// Usage:
//
//	go run ./cmd/rsscheck [-checkpoints 500MB,5GB] [-record-size 1024] [-acks all] [-dir /tmp]
//
// Sizes take decimal (KB, MB, GB) or binary (KiB, MiB, GiB) suffixes. It
// refuses to start when the file system holding -dir has less free space than
// the last checkpoint plus 10%. The exit status is 1 when the peak RSS of the
// last stretch (between the last two checkpoints) exceeds the peak of the
// first (up to the first checkpoint) by more than -tolerance. Its default,
// 30%, leaves room for the GC's sawtooth: with the default GOGC the heap
// swings between its live size and about twice that plus the buffers in
// flight, and the peaks of two stretches of the same steady state differed by
// up to 23% in our runs. The "live" column (Go heap after a full GC) is the
// figure that would grow if memory grew with the data written.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	var cfg config
	flag.Var(&cfg.checkpoints, "checkpoints", "comma-separated amounts of record bytes after which to print RSS; the last is the total written")
	flag.IntVar(&cfg.recordSize, "record-size", 1024, "bytes per record value")
	flag.IntVar(&cfg.partitions, "partitions", 6, "partitions of the topic written")
	flag.StringVar(&cfg.acks, "acks", "all", `producer acks: "all" (idempotent) or "1"`)
	flag.IntVar(&cfg.window, "window", 10_000, "records in flight at most")
	flag.StringVar(&cfg.parent, "dir", os.TempDir(), "directory in which to create the broker's log directory")
	flag.BoolVar(&cfg.keep, "keep", false, "keep the log directory instead of removing it")
	flag.Float64Var(&cfg.tolerance, "tolerance", 0.30, "allowed growth of the peak RSS from the first stretch to the last, as a fraction")
	flag.Parse()
	if len(cfg.checkpoints) == 0 {
		cfg.checkpoints = sizes{500e6, 5e9}
	}
	if len(cfg.checkpoints) < 2 {
		fmt.Fprintln(os.Stderr, "rsscheck: -checkpoints needs at least two amounts to compare")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ok, err := run(ctx, os.Stdout, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "rsscheck:", err)
		os.Exit(2)
	}
	if !ok {
		os.Exit(1)
	}
}
