package replica

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/kspring/kspring/broker/internal/log"
)

// ErrDeleted is returned for operations on a partition whose topic was deleted.
var ErrDeleted = errors.New("partition deleted")

type key struct {
	topic string
	index int32
}

// Manager owns the partitions in a set of log directories. It is safe for
// concurrent use.
type Manager struct {
	dirs   []string
	logger *zap.Logger
	opts   Options

	mu       sync.RWMutex
	parts    map[key]*Partition
	count    map[string]int // partitions per log dir, for placement
	fetchers map[int32]*fetcher
	hwCk     map[key]int64 // high watermarks read from the checkpoints at start

	ctx    context.Context // cancelled by Close and Abandon: stops fetchers and ISR changes
	cancel context.CancelFunc
	bg     sync.WaitGroup // fetchers and ISR changes in flight
}

// NewManager returns a Manager over dirs, creating them if needed.
func NewManager(dirs []string, logger *zap.Logger, opts Options) (*Manager, error) {
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("log dir %s: %w", d, err)
		}
	}
	opts = opts.withDefaults()
	m := &Manager{
		dirs: dirs, logger: logger, opts: opts, parts: map[key]*Partition{}, count: map[string]int{},
		fetchers: map[int32]*fetcher{}, hwCk: map[key]int64{},
	}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	for _, d := range dirs {
		hws, err := readHWCheckpoint(d)
		if err != nil {
			logger.Warn("ignoring unreadable high watermark checkpoint", zap.String("dir", d), zap.Error(err))
		}
		maps.Copy(m.hwCk, hws)
	}
	return m, nil
}

// DirName is the directory name of a partition, as in Kafka: "<topic>-<index>".
func DirName(topic string, index int32) string {
	return topic + "-" + strconv.Itoa(int(index))
}

// Open returns the partition, opening its log (and recovering it) or creating
// it in the log directory with the fewest partitions.
func (m *Manager) Open(topic string, index int32, id [16]byte, s Settings) (*Partition, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := key{topic, index}
	if p, ok := m.parts[k]; ok {
		return p, nil
	}
	dir := m.findLocked(topic, index)
	if err := m.checkTopicID(dir, id); err != nil {
		return nil, fmt.Errorf("open partition %s: %w", DirName(topic, index), err)
	}
	l, err := log.Open(dir, s.Log, m.logger.With(zap.String("partition", DirName(topic, index))))
	if err != nil {
		return nil, fmt.Errorf("open partition %s: %w", DirName(topic, index), err)
	}
	hw, ok := m.hwCk[k]
	if !ok {
		// No checkpoint: nothing counts as replicated until the leader
		// (this broker, if alone in the ISR) says so.
		hw = l.StartOffset()
	}
	p := newPartition(topic, index, id, dir, l, s, m.opts.NodeID, m, hw)
	m.parts[k] = p
	m.count[filepath.Dir(dir)]++
	return p, nil
}

// findLocked returns the existing directory of a partition, or a new one in the
// least used log dir.
func (m *Manager) findLocked(topic string, index int32) string {
	name := DirName(topic, index)
	for _, d := range m.dirs {
		if st, err := os.Stat(filepath.Join(d, name)); err == nil && st.IsDir() {
			return filepath.Join(d, name)
		}
	}
	best := m.dirs[0]
	for _, d := range m.dirs[1:] {
		if m.count[d] < m.count[best] {
			best = d
		}
	}
	return filepath.Join(best, name)
}

// Get returns a partition that is open.
func (m *Manager) Get(topic string, index int32) (*Partition, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	p, ok := m.parts[key{topic, index}]
	return p, ok
}

// Partitions returns the open partitions of a topic, by index.
func (m *Manager) Partitions(topic string) []*Partition {
	m.mu.RLock()
	defer m.mu.RUnlock()
	var out []*Partition
	for k, p := range m.parts {
		if k.topic == topic {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b *Partition) int { return int(a.Index - b.Index) })
	return out
}

// All returns every open partition.
func (m *Manager) All() []*Partition {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]*Partition, 0, len(m.parts))
	for _, p := range m.parts {
		out = append(out, p)
	}
	return out
}

// DeleteTopic closes and removes every partition of topic. Fetches waiting on
// them wake up.
func (m *Manager) DeleteTopic(topic string) error {
	m.mu.Lock()
	var doomed []*Partition
	for k, p := range m.parts {
		if k.topic == topic {
			doomed = append(doomed, p)
			delete(m.parts, k)
			m.count[filepath.Dir(p.Dir)]--
		}
	}
	m.mu.Unlock()
	var errs []error
	for _, p := range doomed {
		p.markDeleted()
		if err := p.log.Delete(); err != nil {
			errs = append(errs, fmt.Errorf("delete partition %s-%d: %w", p.Topic, p.Index, err))
		}
	}
	return errors.Join(errs...)
}

// RemoveStray deletes partition directories whose topic is not in keep, such as
// those of a topic deleted while the broker was down. Non-partition entries are
// left alone.
func (m *Manager) RemoveStray(keep func(topic string, index int32) bool) error {
	var errs []error
	for _, d := range m.dirs {
		entries, err := os.ReadDir(d)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, e := range entries {
			topic, index, ok := parseDirName(e.Name())
			if !e.IsDir() || !ok || keep(topic, index) {
				continue
			}
			m.logger.Info("removing partition directory of a deleted topic", zap.String("dir", filepath.Join(d, e.Name())))
			if err := os.RemoveAll(filepath.Join(d, e.Name())); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

func parseDirName(name string) (string, int32, bool) {
	i := strings.LastIndexByte(name, '-')
	if i <= 0 {
		return "", 0, false
	}
	n, err := strconv.ParseInt(name[i+1:], 10, 32)
	if err != nil || n < 0 {
		return "", 0, false
	}
	return name[:i], int32(n), true
}

// Run does the partitions' background work until ctx ends, on two
// goroutines so that a long compaction does not hold up the rest: every
// interval, retention, time-based segment rolls and flushes; every
// cleanerBackoff (Kafka's log.cleaner.backoff.ms), compaction of the
// compacted topics that are due, as Kafka's log cleaner thread does. Run
// returns when both have stopped; a compaction under way is finished first.
func (m *Manager) Run(ctx context.Context, interval, cleanerBackoff time.Duration) {
	var wg sync.WaitGroup
	wg.Go(func() { every(ctx, interval, m.maintain) })
	wg.Go(func() { every(ctx, cleanerBackoff, m.clean) })
	wg.Go(func() {
		every(ctx, max(m.opts.ReplicaLagMax/2, time.Millisecond), func(now time.Time) {
			for _, p := range m.All() {
				p.CheckISR(now, m.opts.ReplicaLagMax)
			}
		})
	})
	wg.Go(func() { every(ctx, m.opts.HWCheckpointInterval, func(time.Time) { m.checkpointHW() }) })
	wg.Wait()
}

// every calls fn every d until ctx ends.
func every(ctx context.Context, d time.Duration, fn func(time.Time)) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			fn(now)
		}
	}
}

func (m *Manager) maintain(now time.Time) {
	for _, p := range m.All() {
		if err := p.log.Maintain(now); err != nil {
			m.logger.Warn("log maintenance failed", zap.String("topic", p.Topic),
				zap.Int32("partition", p.Index), zap.Error(err))
		}
	}
}

func (m *Manager) clean(now time.Time) {
	for _, p := range m.All() {
		// A no-op unless cleanup.policy includes compact and the log is due.
		if _, err := p.log.Compact(now); err != nil && !errors.Is(err, log.ErrClosed) {
			m.logger.Warn("log compaction failed", zap.String("topic", p.Topic),
				zap.Int32("partition", p.Index), zap.Error(err))
		}
	}
}

// Close stops replication, checkpoints the high watermarks, and flushes
// and closes every partition's log.
func (m *Manager) Close() error {
	m.stopReplication()
	m.checkpointHW()
	m.mu.Lock()
	parts := m.parts
	m.parts = map[key]*Partition{}
	m.mu.Unlock()
	var errs []error
	for _, p := range parts {
		if err := p.log.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close partition %s-%d: %w", p.Topic, p.Index, err))
		}
	}
	return errors.Join(errs...)
}

// DeletePartition deletes one partition (its replica moved to other
// brokers).
func (m *Manager) DeletePartition(topic string, index int32) error {
	m.mu.Lock()
	k := key{topic, index}
	p, ok := m.parts[k]
	if ok {
		delete(m.parts, k)
		m.count[filepath.Dir(p.Dir)]--
	}
	m.mu.Unlock()
	if !ok {
		return nil
	}
	p.markDeleted()
	if err := p.log.Delete(); err != nil {
		return fmt.Errorf("delete partition %s-%d: %w", topic, index, err)
	}
	return nil
}
