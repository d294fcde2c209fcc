package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kspring/kspring/bench/internal/load"
	"github.com/kspring/kspring/bench/internal/target"
)

const topic = "rss"

type config struct {
	checkpoints sizes
	recordSize  int
	partitions  int
	acks        string
	window      int
	parent      string
	keep        bool
	tolerance   float64
}

// run writes up to the last checkpoint, prints a line per checkpoint to w and
// reports whether the RSS stayed within the tolerance.
func run(ctx context.Context, w io.Writer, cfg config) (ok bool, err error) {
	total := cfg.checkpoints[len(cfg.checkpoints)-1]
	if err := checkFree(cfg.parent, total+total/10); err != nil {
		return false, err
	}
	dir, err := os.MkdirTemp(cfg.parent, "kspring-rsscheck-")
	if err != nil {
		return false, fmt.Errorf("log dir: %w", err)
	}
	if !cfg.keep {
		defer func() { err = errors.Join(err, os.RemoveAll(dir)) }()
	}
	t, err := target.Kspring(ctx, dir, topic, int32(cfg.partitions), nil)
	if err != nil {
		return false, err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		err = errors.Join(err, t.Close(cctx))
	}()
	cl, err := load.NewProducer(t.Addr, topic, load.Acks(cfg.acks), cfg.window)
	if err != nil {
		return false, err
	}
	defer cl.Close()
	p := load.NewPipeline(cl, cfg.window)

	fmt.Fprintf(w, "kspring broker at %s, log in %s; %d-byte records, acks=%s, %d partitions, window %d, GOMAXPROCS %d\n",
		t.Addr, dir, cfg.recordSize, cfg.acks, cfg.partitions, cfg.window, runtime.GOMAXPROCS(0))
	fmt.Fprintln(w, "peak: highest VmRSS sampled every 10ms since the previous line; GC'd: VmRSS after runtime GC + FreeOSMemory; live: Go heap after that GC")
	fmt.Fprintf(w, "%-10s %7s %7s %9s %9s %9s %9s %9s %9s %9s %9s\n",
		"written", "secs", "MB/s", "VmRSS", "peak", "RssAnon", "RssFile", "VmHWM", "HeapInuse", "GC'd", "live")

	sctx, stopSampler := context.WithCancel(ctx)
	peaks := startPeakSampler(sctx, 10*time.Millisecond)
	defer func() {
		stopSampler()
		peaks.Wait()
	}()
	if _, err := sample(w, peaks, 0, 0); err != nil {
		return false, err
	}

	value := make([]byte, cfg.recordSize)
	_, _ = rand.Read(value) // crypto/rand.Read never fails
	var written int64
	start := time.Now()
	var peak []int64 // peak VmRSS of each stretch
	for _, cp := range cfg.checkpoints {
		for written < cp {
			if err := p.Produce(ctx, &kgo.Record{Value: value}); err != nil {
				return false, err
			}
			written += int64(cfg.recordSize)
		}
		if err := p.Flush(ctx); err != nil {
			return false, err
		}
		pk, err := sample(w, peaks, written, time.Since(start))
		if err != nil {
			return false, err
		}
		peak = append(peak, pk)
	}

	onDisk, files, err := du(dir)
	if err != nil {
		return false, err
	}
	fmt.Fprintf(w, "on disk: %s in %d files\n", human(onDisk), files)
	first, last := peak[0], peak[len(peak)-1]
	ok = float64(last) <= float64(first)*(1+cfg.tolerance)
	verdict := "ok"
	if !ok {
		verdict = "FAIL"
	}
	fmt.Fprintf(w, "peak VmRSS up to %s: %s; from %s to %s: %s (%+.1f%%, tolerance %.0f%%): %s\n",
		human(cfg.checkpoints[0]), human(first), human(cfg.checkpoints[len(cfg.checkpoints)-2]), human(total), human(last),
		100*(float64(last)/float64(first)-1), 100*cfg.tolerance, verdict)
	return ok, nil
}

// sample prints one line: the status as read now, the peak VmRSS since the
// previous line (which it returns), and the VmRSS after a forced GC that
// returns free memory to the OS.
func sample(w io.Writer, peaks *peakSampler, written int64, elapsed time.Duration) (int64, error) {
	st, err := readStatus()
	if err != nil {
		return 0, err
	}
	peak, err := peaks.Take()
	if err != nil {
		return 0, err
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	debug.FreeOSMemory()
	gcd, err := readStatus()
	if err != nil {
		return 0, err
	}
	var live runtime.MemStats
	runtime.ReadMemStats(&live)
	if _, err := peaks.Take(); err != nil { // the GC's own work is not the workload's
		return 0, err
	}
	rate := 0.0
	if elapsed > 0 {
		rate = float64(written) / 1e6 / elapsed.Seconds()
	}
	fmt.Fprintf(w, "%-10s %7.1f %7.1f %9s %9s %9s %9s %9s %9s %9s %9s\n",
		human(written), elapsed.Seconds(), rate, human(st.VmRSS), human(peak), human(st.RssAnon), human(st.RssFile),
		human(st.VmHWM), human(int64(ms.HeapInuse)), human(gcd.VmRSS), human(int64(live.HeapAlloc)))
	return peak, nil
}

// checkFree fails when the file system holding dir has fewer than need bytes
// available.
func checkFree(dir string, need int64) error {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return fmt.Errorf("free space of %s: %w", dir, err)
	}
	if free := int64(st.Bavail) * st.Bsize; free < need {
		return fmt.Errorf("free space of %s: %s available, %s needed; use -dir or smaller -checkpoints", dir, human(free), human(need))
	}
	return nil
}

// du returns the bytes and number of regular files under dir.
func du(dir string) (bytes int64, files int, err error) {
	err = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		bytes += info.Size()
		files++
		return nil
	})
	if err != nil {
		return 0, 0, fmt.Errorf("disk usage of %s: %w", dir, err)
	}
	return bytes, files, nil
}
