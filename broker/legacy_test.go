package broker_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kspring/kspring/broker"
)

// TestLegacyMetadataImported: a broker whose data directory comes from
// before the metadata quorum (topics in cluster-metadata.json) keeps its
// cluster id, its topics with their ids and records, and hands out no
// producer id it handed out before.
func TestLegacyMetadataImported(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	createTopic(t, b.Addr(), "ledger", 2, map[string]string{"retention.ms": "86400000"})
	produceSync(t, newKgo(t, b.Addr()), &kgo.Record{Topic: "ledger", Partition: 0, Value: []byte("credit 10")})
	md, err := kadm.NewClient(newKgo(t, b.Addr())).Metadata(testCtx(t), "ledger")
	require.NoError(t, err)
	id := md.Topics["ledger"].ID
	cfg := b.Config()
	closeBroker(t, b)

	// Turn the directory into one of before the quorum: the metadata in
	// cluster-metadata.json, no metadata log.
	dir := cfg.LogDirs[0]
	require.NoError(t, os.RemoveAll(filepath.Join(dir, "__cluster_metadata-0")))
	idBytes := make([]int, len(id)) // the old file's form: an array of numbers
	for i, v := range id {
		idBytes[i] = int(v)
	}
	legacy := map[string]any{
		"clusterId": "legacy-cluster-id-abcdef",
		"topics": []map[string]any{{
			"name": "ledger", "id": idBytes, "partitions": 2, "replicationFactor": 1,
			"configs": map[string]string{"retention.ms": "86400000"},
		}},
		"producerIdHigh": 5000,
	}
	data, err := json.Marshal(legacy)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "cluster-metadata.json"), data, 0o644))

	b = startWith(t, cfg)
	require.Equal(t, "legacy-cluster-id-abcdef", b.ClusterID())
	md, err = kadm.NewClient(newKgo(t, b.Addr())).Metadata(testCtx(t), "ledger")
	require.NoError(t, err)
	require.Equal(t, id, md.Topics["ledger"].ID, "the topic keeps its id")
	require.Len(t, md.Topics["ledger"].Partitions, 2)
	recs := consumeAll(t, b.Addr(), "ledger", 1)
	require.Equal(t, "credit 10", string(recs[0].Value), "the records survive the upgrade")
	pid, _ := initProducerID(t, dialWire(t, b.Addr()))
	require.GreaterOrEqual(t, pid, int64(5000), "no producer id handed out before is reused")
	require.FileExists(t, filepath.Join(dir, "cluster-metadata.json.imported"))
	require.NoFileExists(t, filepath.Join(dir, "cluster-metadata.json"))

	// The import runs once: a restart keeps everything.
	b = restart(t, b)
	require.Equal(t, "legacy-cluster-id-abcdef", b.ClusterID())
	require.Len(t, consumeAll(t, b.Addr(), "ledger", 1), 1)
}

// TestLegacyMetadataUnreadable: an unreadable cluster-metadata.json stops
// the broker's start with an error naming it, rather than a new, empty
// cluster over the old data.
func TestLegacyMetadataUnreadable(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	require.NoError(t, os.WriteFile(filepath.Join(cfg.LogDirs[0], "cluster-metadata.json"), []byte("{not json"), 0o644))
	b, err := broker.New(cfg)
	require.NoError(t, err)
	err = b.Start(testCtx(t))
	require.ErrorContains(t, err, "cluster-metadata.json")
	require.NoError(t, b.Close(testCtx(t)))
}
