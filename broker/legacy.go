package broker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"go.uber.org/zap"

	"github.com/kspring/kspring/broker/internal/cluster"
)

// legacyMetadataFile is where a single broker kept its metadata before
// the metadata quorum: cluster id, topics and the producer id high mark.
const legacyMetadataFile = "cluster-metadata.json"

type legacyMetadata struct {
	ClusterID      string          `json:"clusterId"`
	Topics         []cluster.Topic `json:"topics"`
	ProducerIDHigh int64           `json:"producerIdHigh"`
}

// importLegacy moves a single broker's metadata from before the quorum into
// a new quorum: the same cluster id, topics with their ids and configs (led
// by this broker), and producer ids above every one handed out. The old
// file is renamed so the import runs once.
func (c *controller) importLegacy(ctx context.Context, dir string, self int32) error {
	path := filepath.Join(dir, legacyMetadataFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	} else if err != nil {
		return fmt.Errorf("legacy metadata: %w", err)
	}
	var old legacyMetadata
	if err := json.Unmarshal(data, &old); err != nil {
		return fmt.Errorf("legacy metadata %s: %w", path, err)
	}
	if _, err := c.meta.Init(ctx, old.ClusterID); err != nil {
		return err
	}
	if old.ProducerIDHigh > 0 {
		if _, err := c.meta.AllocateProducerIDs(ctx, old.ProducerIDHigh); err != nil {
			return err
		}
	}
	for _, t := range old.Topics {
		t.Assignment = make([]cluster.Partition, t.Partitions)
		for i := range t.Assignment {
			t.Assignment[i] = cluster.Partition{Replicas: []int32{self}, ISR: []int32{self}, Leader: self}
		}
		if _, err := c.meta.CreateTopic(ctx, t); err != nil && !errors.Is(err, cluster.ErrTopicExists) {
			return fmt.Errorf("legacy metadata: topic %q: %w", t.Name, err)
		}
	}
	if err := os.Rename(path, path+".imported"); err != nil {
		return fmt.Errorf("legacy metadata: %w", err)
	}
	c.logger.Info("imported the metadata of a broker from before the quorum",
		zap.String("cluster.id", old.ClusterID), zap.Int("topics", len(old.Topics)))
	return nil
}
