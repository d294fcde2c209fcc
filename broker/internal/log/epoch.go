package log

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"

	"go.uber.org/zap"
)

// The leader epoch cache, Kafka's LeaderEpochFileCache: for every leader
// epoch that wrote to the partition (or took it over), the offset where the
// epoch starts. A follower asks its leader where the follower's latest
// epoch ends (OffsetForLeaderEpoch, answered by EndOffsetForEpoch) and
// truncates whatever it holds past that. Entries are strictly increasing in
// both epoch and start offset.
//
// The cache lives in the partition directory as leader-epoch-checkpoint, in
// Kafka's text format: a version line "0", a line with the number of
// entries, then a line "<epoch> <startOffset>" per entry. It is rewritten
// atomically and fsynced whenever the cache changes, which is rare (once
// per leader change), and a new epoch is made durable before the batches
// that start it are written, so after a crash the file never lacks an epoch
// of the log. Open reads it and makes it agree with the recovered log, as
// Kafka's LogLoader does: entries at or past the log end go (a crash or
// Truncate cut their batches), the first is moved up to the log start. A
// missing or unreadable checkpoint is rebuilt from the batches' partition
// leader epochs; after compaction such a rebuild can start an epoch later
// than it really started, or miss an epoch whose batches were all cleaned
// away. Compaction keeps batches' epochs and does not change the cache.
//
// Departures from Kafka:
//   - an epoch at or below the latest is ignored by AssignEpoch and by
//     appends (Kafka's assign would drop the newer entries to make room);
//   - Truncate drops the entries from the new log end on, which is at or
//     below the requested offset since Truncate cuts whole batches (Kafka:
//     from the requested offset; its loader then drops the same entries);
//   - an empty checkpoint file counts as unreadable and is rebuilt (Kafka
//     reads it as an empty cache).

// leaderEpochFile holds the leader epoch cache.
const leaderEpochFile = "leader-epoch-checkpoint"

// EpochEntry is one entry of the leader epoch cache: leader epoch Epoch
// starts at offset StartOffset.
type EpochEntry struct {
	Epoch       int32
	StartOffset int64
}

type epochCache struct {
	entries []EpochEntry // oldest first
	latest  int32        // the last entry's epoch, -1 if none: Append compares with it
}

func newEpochCache(entries []EpochEntry) epochCache {
	c := epochCache{entries: entries}
	c.setLatest()
	return c
}

func (c *epochCache) setLatest() {
	c.latest = -1
	if n := len(c.entries); n > 0 {
		c.latest = c.entries[n-1].Epoch
	}
}

func (c epochCache) clone() epochCache {
	return epochCache{entries: slices.Clone(c.entries), latest: c.latest}
}

// assign records that epoch starts at start if epoch is newer than the
// latest. Entries starting at or after start are dropped first, so offsets
// keep increasing (Kafka's maybeTruncateNonMonotonicEntries); dropped
// returns them.
func (c *epochCache) assign(epoch int32, start int64) (changed bool, dropped []EpochEntry) {
	if epoch < 0 || epoch <= c.latest || start < 0 {
		return false, nil
	}
	n := len(c.entries)
	for n > 0 && c.entries[n-1].StartOffset >= start {
		n--
	}
	dropped = slices.Clone(c.entries[n:])
	c.entries = append(c.entries[:n], EpochEntry{Epoch: epoch, StartOffset: start})
	c.latest = epoch
	return true, dropped
}

// truncateFromEnd drops the entries starting at or after end.
func (c *epochCache) truncateFromEnd(end int64) bool {
	n := len(c.entries)
	for n > 0 && c.entries[n-1].StartOffset >= end {
		n--
	}
	if n == len(c.entries) {
		return false
	}
	c.entries = c.entries[:n]
	c.setLatest()
	return true
}

// truncateFromStart drops the entries wholly below start and moves the last
// one starting at or below it to start at start, as Kafka's
// truncateFromStart.
func (c *epochCache) truncateFromStart(start int64) bool {
	k := 0
	for k < len(c.entries) && c.entries[k].StartOffset <= start {
		k++
	}
	if k == 0 || (k == 1 && c.entries[0].StartOffset == start) {
		return false
	}
	c.entries = slices.Delete(c.entries, 0, k-1)
	c.entries[0].StartOffset = start
	return true
}

// endOffsetFor mirrors Kafka's LeaderEpochFileCache.endOffsetFor; see
// EndOffsetForEpoch.
func (c *epochCache) endOffsetFor(requested int32, logEnd int64) (epoch int32, endOffset int64) {
	if requested == -1 {
		return -1, -1
	}
	if len(c.entries) > 0 && c.latest == requested {
		return requested, logEnd
	}
	higher := sort.Search(len(c.entries), func(i int) bool { return c.entries[i].Epoch > requested })
	switch higher {
	case len(c.entries):
		return -1, -1
	case 0:
		return requested, c.entries[0].StartOffset
	}
	return c.entries[higher-1].Epoch, c.entries[higher].StartOffset
}

func (c epochCache) encode() []byte {
	b := make([]byte, 0, 8+24*len(c.entries))
	b = append(b, "0\n"...)
	b = strconv.AppendInt(b, int64(len(c.entries)), 10)
	b = append(b, '\n')
	for _, e := range c.entries {
		b = strconv.AppendInt(b, int64(e.Epoch), 10)
		b = append(b, ' ')
		b = strconv.AppendInt(b, e.StartOffset, 10)
		b = append(b, '\n')
	}
	return b
}

var errBadEpochCheckpoint = errors.New("leader epoch checkpoint corrupt")

// parseEpochCheckpoint reads a leader-epoch-checkpoint file. Like Kafka's
// reader it takes any whitespace between the two fields of an entry; it
// also requires non-negative, strictly increasing entries.
func parseEpochCheckpoint(b []byte) ([]EpochEntry, error) {
	lines := strings.Split(string(b), "\n")
	if n := len(lines); n > 0 && lines[n-1] == "" {
		lines = lines[:n-1]
	}
	if len(lines) < 2 || strings.TrimSpace(lines[0]) != "0" {
		return nil, fmt.Errorf("%w: no version 0 header", errBadEpochCheckpoint)
	}
	n, err := strconv.Atoi(strings.TrimSpace(lines[1]))
	if err != nil || n != len(lines)-2 {
		return nil, fmt.Errorf("%w: count %q, %d entries", errBadEpochCheckpoint, lines[1], len(lines)-2)
	}
	entries := make([]EpochEntry, 0, n)
	for _, line := range lines[2:] {
		f := strings.Fields(line)
		if len(f) != 2 {
			return nil, fmt.Errorf("%w: line %q", errBadEpochCheckpoint, line)
		}
		epoch, err1 := strconv.ParseInt(f[0], 10, 32)
		start, err2 := strconv.ParseInt(f[1], 10, 64)
		if err1 != nil || err2 != nil || epoch < 0 || start < 0 {
			return nil, fmt.Errorf("%w: line %q", errBadEpochCheckpoint, line)
		}
		if k := len(entries); k > 0 && (int32(epoch) <= entries[k-1].Epoch || start <= entries[k-1].StartOffset) {
			return nil, fmt.Errorf("%w: line %q does not follow the one before", errBadEpochCheckpoint, line)
		}
		entries = append(entries, EpochEntry{Epoch: int32(epoch), StartOffset: start})
	}
	return entries, nil
}

// LatestEpoch returns the newest leader epoch in the leader epoch cache; ok
// is false, and epoch -1, when the cache is empty.
func (l *Log) LatestEpoch() (epoch int32, ok bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.epochs.latest, len(l.epochs.entries) > 0
}

// EndOffsetForEpoch answers an OffsetForLeaderEpoch request for this log
// as Kafka's LeaderEpochFileCache.endOffsetFor does:
//   - requested is the latest epoch: (requested, EndOffset);
//   - requested is -1 (UNDEFINED_EPOCH), the cache is empty, or requested
//     is newer than every epoch: (-1, -1);
//   - requested is older than every epoch: (requested, start offset of the
//     first epoch), the data of older epochs being gone;
//   - otherwise: the largest epoch at or below requested, and the start
//     offset of the first epoch above it.
func (l *Log) EndOffsetForEpoch(requested int32) (epoch int32, endOffset int64) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.epochs.endOffsetFor(requested, l.endOffset())
}

// EpochEntries returns a copy of the leader epoch cache, oldest first (nil
// if it is empty).
func (l *Log) EpochEntries() []EpochEntry {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if len(l.epochs.entries) == 0 {
		return nil
	}
	return slices.Clone(l.epochs.entries)
}

// AssignEpoch records that leader epoch epoch starts at startOffset, which
// must be within [StartOffset, EndOffset]: a new leader calls it with its
// log end offset when it takes over, as Kafka's does, so the epoch is known
// before it writes a batch. An epoch at or below the latest is ignored.
// Entries starting at or after startOffset are replaced (an epoch that
// wrote nothing), as in Kafka. The checkpoint is fsynced before
// AssignEpoch returns.
func (l *Log) AssignEpoch(epoch int32, startOffset int64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrClosed
	}
	if epoch < 0 {
		return fmt.Errorf("log %s: assign epoch %d: negative epoch", l.dir, epoch)
	}
	if end := l.endOffset(); startOffset < l.start || startOffset > end {
		return fmt.Errorf("log %s: assign epoch %d at %d, log has [%d, %d]: %w", l.dir, epoch, startOffset, l.start, end, ErrOffsetOutOfRange)
	}
	if epoch <= l.epochs.latest {
		return nil
	}
	c := l.epochs.clone()
	l.assignEpoch(&c, epoch, startOffset)
	if err := l.installEpochs(c); err != nil {
		return fmt.Errorf("log %s: assign epoch %d: %w", l.dir, epoch, err)
	}
	return nil
}

// assignEpoch assigns in c and logs it.
func (l *Log) assignEpoch(c *epochCache, epoch int32, start int64) bool {
	changed, dropped := c.assign(epoch, start)
	if !changed {
		return false
	}
	l.logger.Info("new leader epoch", zap.String("dir", l.dir), zap.Int32("epoch", epoch), zap.Int64("start_offset", start))
	// Dropping one entry that starts where the new one does is expected:
	// that epoch wrote nothing.
	if len(dropped) > 1 || (len(dropped) == 1 && dropped[0].StartOffset != start) {
		l.logger.Warn("new leader epoch truncated conflicting entries", zap.String("dir", l.dir),
			zap.Int32("epoch", epoch), zap.Int64("start_offset", start), zap.Any("dropped", dropped))
	}
	return true
}

// noteEpochs records the epochs of batches about to be written that are
// newer than the latest, and makes them durable first. Callers hold mu.
func (l *Log) noteEpochs(list []appendBatch) error {
	c := l.epochs.clone()
	changed := false
	for _, ab := range list {
		if l.assignEpoch(&c, ab.h.PartitionLeaderEpoch, ab.h.BaseOffset) {
			changed = true
		}
	}
	if !changed {
		return nil
	}
	return l.installEpochs(c)
}

// installEpochs writes c to the checkpoint and, once it is durable, makes
// it the cache. Callers hold mu.
func (l *Log) installEpochs(c epochCache) error {
	if err := writeFileAtomic(l.dir, leaderEpochFile, c.encode(), true); err != nil {
		return err
	}
	l.epochs = c
	return nil
}

// setEpochs makes c the cache and writes the checkpoint, for changes the
// log has already made (truncations): c is kept even if the write fails,
// so the cache agrees with the log, and Open repairs the file. Callers hold
// mu.
func (l *Log) setEpochs(c epochCache) error {
	l.epochs = c
	if err := writeFileAtomic(l.dir, leaderEpochFile, c.encode(), true); err != nil {
		return fmt.Errorf("leader epoch checkpoint: %w", err)
	}
	return nil
}

// epochsToEnd drops the entries at or past the log end, after the log was
// cut. Callers hold mu.
func (l *Log) epochsToEnd() error {
	c := l.epochs.clone()
	if !c.truncateFromEnd(l.endOffset()) {
		return nil
	}
	return l.setEpochs(c)
}

// epochsToStart fits the cache to a moved log start. Callers hold mu.
func (l *Log) epochsToStart() error {
	c := l.epochs.clone()
	if !c.truncateFromStart(l.start) {
		return nil
	}
	return l.setEpochs(c)
}

// dropEpochsPastEnd undoes noteEpochs for batches a failed write did not
// write: entries starting past the log end. One starting at the end stays,
// as AssignEpoch would have left it.
func (l *Log) dropEpochsPastEnd() {
	c := l.epochs.clone()
	if !c.truncateFromEnd(l.endOffset() + 1) {
		return
	}
	if err := l.setEpochs(c); err != nil {
		l.logger.Warn("leader epoch checkpoint", zap.String("dir", l.dir), zap.Error(err))
	}
}

// loadEpochs loads the leader epoch cache at Open, after recovery: from the
// checkpoint plus the batches recovery scanned (from rp, the recovery
// point, on), or from every batch if the checkpoint is missing or
// unreadable; then fitted to the log's start and end.
func (l *Log) loadEpochs(rp int64) error {
	var saved []EpochEntry
	scanFrom := min(rp, l.endOffset())
	b, err := os.ReadFile(l.path(leaderEpochFile))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		scanFrom = l.segs[0].base
	case err != nil:
		return err
	default:
		if saved, err = parseEpochCheckpoint(b); err != nil {
			l.logger.Warn("rebuilding leader epoch checkpoint from the log", zap.String("dir", l.dir), zap.Error(err))
			saved, scanFrom = nil, l.segs[0].base
			b = nil
		}
	}
	c := newEpochCache(slices.Clone(saved))
	if err := l.scanEpochs(&c, scanFrom); err != nil {
		return err
	}
	c.truncateFromEnd(l.endOffset())
	c.truncateFromStart(l.start)
	l.epochs = c
	if b != nil && slices.Equal(c.entries, saved) {
		return nil
	}
	return writeFileAtomic(l.dir, leaderEpochFile, c.encode(), true)
}

// scanEpochs assigns in c the partition leader epochs of the batches from
// offset from on that are newer than its latest.
func (l *Log) scanEpochs(c *epochCache, from int64) error {
	for i := l.segmentFor(from); i < len(l.segs); i++ {
		s := l.segs[i]
		if s.next <= from {
			continue
		}
		pos, _, found, err := s.findBatch(from)
		if err != nil || !found {
			if err != nil {
				return err
			}
			continue
		}
		br := newHeaderReader(s.file, s.size)
		for pos < s.size {
			h, _, err := br.at(pos, false)
			if err != nil {
				br.release()
				return err
			}
			if h.PartitionLeaderEpoch > c.latest {
				c.assign(h.PartitionLeaderEpoch, h.BaseOffset)
			}
			pos += int64(h.Size())
		}
		br.release()
	}
	return nil
}
