package cluster

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestStoreSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, "")
	require.NoError(t, err)
	id := s.ClusterID()
	require.Len(t, id, 22)

	orders, err := s.CreateTopic(Topic{Name: "orders", Partitions: 3, ReplicationFactor: 1, Configs: map[string]string{"retention.ms": "1000"}})
	require.NoError(t, err)
	_, err = s.CreateTopic(Topic{Name: "audit", Partitions: 1, ReplicationFactor: 1})
	require.NoError(t, err)
	_, err = s.SetPartitions("orders", 5)
	require.NoError(t, err)
	_, err = s.DeleteTopic("audit")
	require.NoError(t, err)
	pid, err := s.NextProducerID()
	require.NoError(t, err)

	s, err = Open(dir, id)
	require.NoError(t, err)
	got, ok := s.Topic("orders")
	require.True(t, ok)
	require.Equal(t, orders.ID, got.ID)
	require.Equal(t, int32(5), got.Partitions)
	require.Equal(t, "1000", got.Configs["retention.ms"])
	_, ok = s.Topic("audit")
	require.False(t, ok)
	byID, ok := s.TopicByID(orders.ID)
	require.True(t, ok)
	require.Equal(t, "orders", byID.Name)

	next, err := s.NextProducerID()
	require.NoError(t, err)
	require.Greater(t, next, pid, "producer ids must never be reused across restarts")
}

func TestStoreErrors(t *testing.T) {
	s, err := Open(t.TempDir(), "")
	require.NoError(t, err)
	_, err = s.CreateTopic(Topic{Name: "t", Partitions: 2})
	require.NoError(t, err)
	_, err = s.CreateTopic(Topic{Name: "t", Partitions: 2})
	require.ErrorIs(t, err, ErrTopicExists)
	_, err = s.CreateTopic(Topic{Name: "zero", Partitions: 0})
	require.ErrorIs(t, err, ErrInvalidCount)
	_, err = s.SetPartitions("t", 1)
	require.ErrorIs(t, err, ErrInvalidCount)
	_, err = s.DeleteTopic("nope")
	require.ErrorIs(t, err, ErrNoSuchTopic)
}

func TestStoreRejectsOtherCluster(t *testing.T) {
	dir := t.TempDir()
	_, err := Open(dir, "cluster-a")
	require.NoError(t, err)
	_, err = Open(dir, "cluster-b")
	require.ErrorContains(t, err, "does not match")
}

func TestStoreRejectsCorruptFile(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "cluster-metadata.json"), []byte("{not json"), 0o644))
	_, err := Open(dir, "")
	require.ErrorContains(t, err, "cluster-metadata.json")
}
