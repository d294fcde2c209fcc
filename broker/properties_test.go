package broker

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestLoadProperties(t *testing.T) {
	const file = `
# a Kafka server.properties
node.id=3
broker.rack=eu-west-1a
listeners=PLAINTEXT://127.0.0.1:19092
log.dirs = /data/a, /data/b
num.partitions: 6
auto.create.topics.enable=false
log.retention.hours=24
log.segment.bytes=\
  1048576
producer.id.expiration.ms=3600000
socket.send.buffer.bytes=-1
socket.receive.buffer.bytes=65536
process.roles=broker,controller
some.plugin.setting=1
`
	cfg := DefaultConfig()
	unknown, err := cfg.LoadProperties(strings.NewReader(file))
	require.NoError(t, err)
	require.Equal(t, []string{"some.plugin.setting"}, unknown)
	require.Equal(t, int32(3), cfg.NodeID)
	require.Equal(t, "eu-west-1a", cfg.Rack)
	require.Equal(t, []string{"PLAINTEXT://127.0.0.1:19092"}, cfg.Listeners)
	require.Equal(t, []string{"/data/a", "/data/b"}, cfg.LogDirs)
	require.Equal(t, int32(6), cfg.NumPartitions)
	require.False(t, cfg.AutoCreateTopicsEnable)
	require.Equal(t, 24*time.Hour, cfg.LogRetentionMs)
	require.Equal(t, int64(1048576), cfg.LogSegmentBytes)
	require.Equal(t, time.Hour, cfg.ProducerIDExpirationMs)
	require.Equal(t, int32(-1), cfg.SocketSendBufferBytes)
	require.Equal(t, int32(65536), cfg.SocketReceiveBufferBytes)
}

func TestSetRejectsBadValues(t *testing.T) {
	for _, tc := range []struct{ key, value, want string }{
		{"num.partitions", "many", `property num.partitions="many"`},
		{"auto.create.topics.enable", "perhaps", "auto.create.topics.enable"},
		{"no.such.key", "1", "unknown property"},
	} {
		t.Run(tc.key, func(t *testing.T) {
			cfg := DefaultConfig()
			err := cfg.Set(tc.key, tc.value)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func TestLoadPropertiesNamesBadLine(t *testing.T) {
	cfg := DefaultConfig()
	_, err := cfg.LoadProperties(strings.NewReader("node.id=1\njust-a-word\n"))
	require.ErrorContains(t, err, "line 2")
}

func TestRetentionNegativeMeansForever(t *testing.T) {
	cfg := DefaultConfig()
	require.NoError(t, cfg.Set("log.retention.ms", "-1"))
	require.Equal(t, time.Duration(-1), cfg.LogRetentionMs)
	require.Equal(t, "-1", cfg.topicDefaults()["log.retention.ms"])
}

func TestWithDefaultsValidates(t *testing.T) {
	_, err := Config{}.withDefaults()
	require.ErrorContains(t, err, "log.dirs")
	_, err = Config{LogDirs: []string{"x"}, LogMessageTimestampType: "Sometimes"}.withDefaults()
	require.ErrorContains(t, err, "log.message.timestamp.type")
	c, err := Config{LogDirs: []string{"x"}}.withDefaults()
	require.NoError(t, err)
	require.Equal(t, int32(1), c.NumPartitions)
	require.Equal(t, int32(104857600), c.SocketRequestMaxBytes)
	require.Equal(t, [2]int32{102400, -1}, [2]int32{c.SocketSendBufferBytes, c.SocketReceiveBufferBytes})
	_, err = Config{LogDirs: []string{"x"}, SocketSendBufferBytes: -2}.withDefaults()
	require.ErrorContains(t, err, "socket.send.buffer.bytes")
	_, err = Config{LogDirs: []string{"x"}, SocketReceiveBufferBytes: -5}.withDefaults()
	require.ErrorContains(t, err, "socket.receive.buffer.bytes")
}
