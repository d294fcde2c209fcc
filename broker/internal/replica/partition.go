package replica

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/kspring/kspring/broker/internal/log"
)

// Partition is one partition led by this broker. It is safe for concurrent use.
type Partition struct {
	Topic string
	Index int32
	Dir   string // the partition's directory

	log *log.Log

	mu       sync.Mutex
	epoch    int32         // leader epoch
	changed  chan struct{} // closed and replaced when data is appended
	settings Settings
	deleted  bool
}

func newPartition(topic string, index int32, dir string, l *log.Log, s Settings) *Partition {
	return &Partition{Topic: topic, Index: index, Dir: dir, log: l, settings: s, changed: make(chan struct{})}
}

// Log returns the partition's log. Callers must not close it.
func (p *Partition) Log() *log.Log { return p.log }

// LeaderEpoch returns the current leader epoch.
func (p *Partition) LeaderEpoch() int32 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.epoch
}

// Append writes validated batches to the log at the current leader epoch and
// wakes fetches waiting for data. The caller keeps ownership of batches, which
// Append patches in place (base offset, leader epoch).
func (p *Partition) Append(batches []byte, now time.Time) (log.AppendResult, error) {
	p.mu.Lock()
	epoch, deleted := p.epoch, p.deleted
	p.mu.Unlock()
	if deleted {
		return log.AppendResult{}, fmt.Errorf("partition %s-%d: %w", p.Topic, p.Index, ErrDeleted)
	}
	res, err := p.log.Append(batches, epoch, now)
	if err != nil {
		return res, fmt.Errorf("partition %s-%d: %w", p.Topic, p.Index, p.deletedErr(err))
	}
	if !res.Duplicate {
		p.notify()
	}
	return res, nil
}

func (p *Partition) notify() {
	p.mu.Lock()
	close(p.changed)
	p.changed = make(chan struct{})
	p.mu.Unlock()
}

// Changed returns a channel closed at the next append (or deletion).
// A fetch that found too little data waits on it.
func (p *Partition) Changed() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.changed
}

// HighWatermark returns the offset up to which records are committed and
// visible to consumers. On a single replica it is the log end offset.
func (p *Partition) HighWatermark() int64 { return p.log.EndOffset() }

// LastStableOffset returns the last stable offset (no transactions yet: the
// high watermark).
func (p *Partition) LastStableOffset() int64 { return p.HighWatermark() }

// StartOffset returns the log start offset.
func (p *Partition) StartOffset() int64 { return p.log.StartOffset() }

// Read returns whole batches from offset, up to maxBytes (at least one batch),
// below the high watermark.
func (p *Partition) Read(offset int64, maxBytes int) ([]byte, error) {
	b, err := p.log.Read(offset, maxBytes, p.HighWatermark())
	return b, p.deletedErr(err)
}

// ReadChunks is Read returning the segment-file chunks that hold the
// batches, appended to dst; the caller releases each (see log.Chunk).
func (p *Partition) ReadChunks(dst []log.Chunk, offset int64, maxBytes int) ([]log.Chunk, error) {
	out, err := p.log.ReadChunks(dst, offset, maxBytes, p.HighWatermark())
	return out, p.deletedErr(err)
}

// deletedErr returns err, marked as ErrDeleted too when it is the log's
// ErrClosed because the partition's topic was deleted under the caller: a
// request racing a deletion gets UNKNOWN_TOPIC_OR_PARTITION, not a storage
// error.
func (p *Partition) deletedErr(err error) error {
	if err == nil || !errors.Is(err, log.ErrClosed) {
		return err
	}
	p.mu.Lock()
	deleted := p.deleted
	p.mu.Unlock()
	if deleted {
		return errors.Join(ErrDeleted, err)
	}
	return err
}

// Settings returns the partition's effective configuration.
func (p *Partition) Settings() Settings {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.settings
}

// SetSettings applies a changed topic config.
func (p *Partition) SetSettings(s Settings) {
	p.mu.Lock()
	p.settings = s
	p.mu.Unlock()
	p.log.SetConfig(s.Log)
}

func (p *Partition) markDeleted() {
	p.mu.Lock()
	p.deleted = true
	close(p.changed)
	p.changed = make(chan struct{})
	p.mu.Unlock()
}
