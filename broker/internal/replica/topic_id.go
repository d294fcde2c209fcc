package replica

import (
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"go.uber.org/zap"
)

// partitionMetadataFile names the topic a partition directory belongs to,
// in Kafka's format, so that the directory of a deleted topic is never
// taken for a new topic of the same name.
const partitionMetadataFile = "partition.metadata"

// checkTopicID makes dir the directory of topic id: a directory left by
// another topic of the same name (deleted while this broker was down) is
// removed first. A zero id checks nothing.
func (m *Manager) checkTopicID(dir string, id [16]byte) error {
	if id == ([16]byte{}) {
		return nil
	}
	want := base64.RawURLEncoding.EncodeToString(id[:])
	path := filepath.Join(dir, partitionMetadataFile)
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return err
	default:
		var got string
		for line := range strings.SplitSeq(string(data), "\n") {
			if v, ok := strings.CutPrefix(line, "topic_id: "); ok {
				got = strings.TrimSpace(v)
			}
		}
		if got == want {
			return nil
		}
		if got != "" {
			m.logger.Info("removing the partition directory of an older topic of the same name",
				zap.String("dir", dir), zap.String("its topic id", got), zap.String("topic id", want))
			if err := os.RemoveAll(dir); err != nil {
				return err
			}
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := writeFileAtomic(path, fmt.Appendf(nil, "version: 0\ntopic_id: %s\n", want)); err != nil {
		return fmt.Errorf("%s: %w", partitionMetadataFile, err)
	}
	return nil
}
