package replica

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"go.uber.org/zap"
)

// hwCheckpointFile is Kafka's per-log-dir file of high watermarks.
const hwCheckpointFile = "replication-offset-checkpoint"

// checkpointHW writes every partition's high watermark to its log dir's
// replication-offset-checkpoint, in Kafka's format, so that a restarted
// broker does not count as replicated what it cannot know was.
func (m *Manager) checkpointHW() {
	byDir := map[string][]*Partition{}
	for _, p := range m.All() {
		d := filepath.Dir(p.Dir)
		byDir[d] = append(byDir[d], p)
	}
	for _, d := range m.dirs {
		parts := byDir[d]
		slices.SortFunc(parts, func(a, b *Partition) int {
			if c := strings.Compare(a.Topic, b.Topic); c != 0 {
				return c
			}
			return int(a.Index - b.Index)
		})
		var b bytes.Buffer
		fmt.Fprintf(&b, "0\n%d\n", len(parts))
		for _, p := range parts {
			fmt.Fprintf(&b, "%s %d %d\n", p.Topic, p.Index, p.HighWatermark())
		}
		if err := writeFileAtomic(filepath.Join(d, hwCheckpointFile), b.Bytes()); err != nil {
			m.logger.Warn("writing the high watermark checkpoint failed", zap.String("dir", d), zap.Error(err))
		}
	}
}

// readHWCheckpoint reads a log dir's replication-offset-checkpoint; a
// missing file is empty.
func readHWCheckpoint(dir string) (map[key]int64, error) {
	data, err := os.ReadFile(filepath.Join(dir, hwCheckpointFile))
	if errors.Is(err, os.ErrNotExist) {
		return map[key]int64{}, nil
	} else if err != nil {
		return map[key]int64{}, err
	}
	return parseHWCheckpoint(data)
}

// parseHWCheckpoint parses Kafka's checkpoint format: a version line (0),
// a count line, then "topic partition offset" lines. Anything else is an
// error, with nothing returned.
func parseHWCheckpoint(data []byte) (map[key]int64, error) {
	out := map[key]int64{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	line, count := 0, -1
	for sc.Scan() {
		line++
		f := strings.Fields(sc.Text())
		switch {
		case line == 1:
			if len(f) != 1 || f[0] != "0" {
				return map[key]int64{}, fmt.Errorf("%s: unknown version %q", hwCheckpointFile, sc.Text())
			}
		case line == 2:
			n, err := strconv.Atoi(strings.TrimSpace(sc.Text()))
			if err != nil || n < 0 {
				return map[key]int64{}, fmt.Errorf("%s: entry count %q", hwCheckpointFile, sc.Text())
			}
			count = n
		default:
			if len(f) != 3 {
				return map[key]int64{}, fmt.Errorf("%s line %d: %q", hwCheckpointFile, line, sc.Text())
			}
			idx, err1 := strconv.ParseInt(f[1], 10, 32)
			hw, err2 := strconv.ParseInt(f[2], 10, 64)
			if err1 != nil || err2 != nil || idx < 0 || hw < 0 {
				return map[key]int64{}, fmt.Errorf("%s line %d: %q", hwCheckpointFile, line, sc.Text())
			}
			out[key{f[0], int32(idx)}] = hw
		}
	}
	if err := sc.Err(); err != nil {
		return map[key]int64{}, fmt.Errorf("%s: %w", hwCheckpointFile, err)
	}
	if line < 2 || line-2 != count {
		return map[key]int64{}, fmt.Errorf("%s: %d entries, the file says %d", hwCheckpointFile, max(line-2, 0), count)
	}
	return out, nil
}

// writeFileAtomic writes data to path through a synced temporary file and a rename.
func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	f, err := os.Open(tmp)
	if err == nil {
		err = f.Sync()
		f.Close()
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
