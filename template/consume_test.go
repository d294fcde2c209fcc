package template_test

import (
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/stretchr/testify/require"
)

// consumer reads back what a test wrote, with sarama, over the wire.
func consumer(t *testing.T, addr string) sarama.Consumer {
	t.Helper()
	cfg := sarama.NewConfig()
	cfg.Version = sarama.DefaultVersion
	cfg.Consumer.Return.Errors = true
	c, err := sarama.NewConsumer([]string{addr}, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, c.Close()) })
	return c
}

// consume reads n records of a partition from offset.
func consume(t *testing.T, c sarama.Consumer, topic string, partition int32, offset int64, n int) []*sarama.ConsumerMessage {
	t.Helper()
	pc, err := c.ConsumePartition(topic, partition, offset)
	require.NoError(t, err)
	defer func() { require.NoError(t, pc.Close()) }()
	var out []*sarama.ConsumerMessage
	timeout := time.After(30 * time.Second)
	for len(out) < n {
		select {
		case m := <-pc.Messages():
			out = append(out, m)
		case err := <-pc.Errors():
			t.Fatalf("consume %s-%d: %v", topic, partition, err)
		case <-timeout:
			t.Fatalf("consume %s-%d from %d: got %d of %d records", topic, partition, offset, len(out), n)
		}
	}
	return out
}

// consumeOne reads the record at offset.
func consumeOne(t *testing.T, c sarama.Consumer, topic string, partition int32, offset int64) *sarama.ConsumerMessage {
	t.Helper()
	m := consume(t, c, topic, partition, offset, 1)[0]
	require.Equal(t, offset, m.Offset)
	return m
}

// highWater returns the next offset of every partition of topic.
func highWater(t *testing.T, addr, topic string) map[int32]int64 {
	t.Helper()
	cfg := sarama.NewConfig()
	cfg.Version = sarama.DefaultVersion
	c, err := sarama.NewClient([]string{addr}, cfg)
	require.NoError(t, err)
	defer func() { require.NoError(t, c.Close()) }()
	parts, err := c.Partitions(topic)
	require.NoError(t, err)
	out := map[int32]int64{}
	for _, p := range parts {
		off, err := c.GetOffset(topic, p, sarama.OffsetNewest)
		require.NoError(t, err)
		out[p] = off
	}
	return out
}
