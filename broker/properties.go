package broker

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// property binds one server.properties key to a Config field.
type property struct {
	set func(c *Config, v string) error
}

func intProp[T ~int16 | ~int32 | ~int64](field func(*Config) *T, bits int) property {
	return property{set: func(c *Config, v string) error {
		n, err := strconv.ParseInt(v, 10, bits)
		if err != nil {
			return err
		}
		*field(c) = T(n)
		return nil
	}}
}

func msProp(field func(*Config) *time.Duration, unit time.Duration) property {
	return property{set: func(c *Config, v string) error {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return err
		}
		if n < 0 {
			*field(c) = -1
			return nil
		}
		*field(c) = time.Duration(n) * unit
		return nil
	}}
}

func boolProp(field func(*Config) *bool) property {
	return property{set: func(c *Config, v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return err
		}
		*field(c) = b
		return nil
	}}
}

func stringProp(field func(*Config) *string) property {
	return property{set: func(c *Config, v string) error { *field(c) = v; return nil }}
}

func listProp(field func(*Config) *[]string) property {
	return property{set: func(c *Config, v string) error {
		var out []string
		for s := range strings.SplitSeq(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
		*field(c) = out
		return nil
	}}
}

// properties maps Kafka's server.properties keys to Config fields.
var properties = map[string]property{
	"node.id":                                       intProp(func(c *Config) *int32 { return &c.NodeID }, 32),
	"broker.id":                                     intProp(func(c *Config) *int32 { return &c.NodeID }, 32),
	"broker.rack":                                   stringProp(func(c *Config) *string { return &c.Rack }),
	"cluster.id":                                    stringProp(func(c *Config) *string { return &c.ClusterID }),
	"listeners":                                     listProp(func(c *Config) *[]string { return &c.Listeners }),
	"advertised.listeners":                          listProp(func(c *Config) *[]string { return &c.AdvertisedListeners }),
	"log.dirs":                                      listProp(func(c *Config) *[]string { return &c.LogDirs }),
	"log.dir":                                       listProp(func(c *Config) *[]string { return &c.LogDirs }),
	"num.partitions":                                intProp(func(c *Config) *int32 { return &c.NumPartitions }, 32),
	"default.replication.factor":                    intProp(func(c *Config) *int16 { return &c.DefaultReplicationFactor }, 16),
	"auto.create.topics.enable":                     boolProp(func(c *Config) *bool { return &c.AutoCreateTopicsEnable }),
	"delete.topic.enable":                           boolProp(func(c *Config) *bool { return &c.DeleteTopicEnable }),
	"log.segment.bytes":                             intProp(func(c *Config) *int64 { return &c.LogSegmentBytes }, 64),
	"log.roll.ms":                                   msProp(func(c *Config) *time.Duration { return &c.LogRollMs }, time.Millisecond),
	"log.roll.hours":                                msProp(func(c *Config) *time.Duration { return &c.LogRollMs }, time.Hour),
	"log.retention.ms":                              msProp(func(c *Config) *time.Duration { return &c.LogRetentionMs }, time.Millisecond),
	"log.retention.minutes":                         msProp(func(c *Config) *time.Duration { return &c.LogRetentionMs }, time.Minute),
	"log.retention.hours":                           msProp(func(c *Config) *time.Duration { return &c.LogRetentionMs }, time.Hour),
	"log.retention.bytes":                           intProp(func(c *Config) *int64 { return &c.LogRetentionBytes }, 64),
	"log.retention.check.interval.ms":               msProp(func(c *Config) *time.Duration { return &c.LogRetentionCheckIntervalMs }, time.Millisecond),
	"log.flush.interval.messages":                   intProp(func(c *Config) *int64 { return &c.LogFlushIntervalMessages }, 64),
	"log.flush.interval.ms":                         msProp(func(c *Config) *time.Duration { return &c.LogFlushIntervalMs }, time.Millisecond),
	"log.index.interval.bytes":                      intProp(func(c *Config) *int32 { return &c.LogIndexIntervalBytes }, 32),
	"log.segment.delete.delay.ms":                   msProp(func(c *Config) *time.Duration { return &c.LogSegmentDeleteDelayMs }, time.Millisecond),
	"log.cleanup.policy":                            stringProp(func(c *Config) *string { return &c.LogCleanupPolicy }),
	"log.cleaner.backoff.ms":                        msProp(func(c *Config) *time.Duration { return &c.LogCleanerBackoffMs }, time.Millisecond),
	"log.message.timestamp.type":                    stringProp(func(c *Config) *string { return &c.LogMessageTimestampType }),
	"message.max.bytes":                             intProp(func(c *Config) *int32 { return &c.MessageMaxBytes }, 32),
	"min.insync.replicas":                           intProp(func(c *Config) *int16 { return &c.MinInsyncReplicas }, 16),
	"socket.request.max.bytes":                      intProp(func(c *Config) *int32 { return &c.SocketRequestMaxBytes }, 32),
	"socket.send.buffer.bytes":                      intProp(func(c *Config) *int32 { return &c.SocketSendBufferBytes }, 32),
	"socket.receive.buffer.bytes":                   intProp(func(c *Config) *int32 { return &c.SocketReceiveBufferBytes }, 32),
	"offsets.topic.num.partitions":                  intProp(func(c *Config) *int32 { return &c.OffsetsTopicNumPartitions }, 32),
	"offsets.topic.replication.factor":              intProp(func(c *Config) *int16 { return &c.OffsetsTopicReplicationFactor }, 16),
	"offsets.retention.minutes":                     intProp(func(c *Config) *int32 { return &c.OffsetsRetentionMinutes }, 32),
	"offsets.retention.check.interval.ms":           msProp(func(c *Config) *time.Duration { return &c.OffsetsRetentionCheckIntervalMs }, time.Millisecond),
	"group.initial.rebalance.delay.ms":              msProp(func(c *Config) *time.Duration { return &c.GroupInitialRebalanceDelayMs }, time.Millisecond),
	"group.min.session.timeout.ms":                  msProp(func(c *Config) *time.Duration { return &c.GroupMinSessionTimeoutMs }, time.Millisecond),
	"group.max.session.timeout.ms":                  msProp(func(c *Config) *time.Duration { return &c.GroupMaxSessionTimeoutMs }, time.Millisecond),
	"connections.max.idle.ms":                       msProp(func(c *Config) *time.Duration { return &c.ConnectionsMaxIdleMs }, time.Millisecond),
	"producer.id.expiration.ms":                     msProp(func(c *Config) *time.Duration { return &c.ProducerIDExpirationMs }, time.Millisecond),
	"process.roles":                                 listProp(func(c *Config) *[]string { return &c.ProcessRoles }),
	"controller.quorum.voters":                      listProp(func(c *Config) *[]string { return &c.ControllerQuorumVoters }),
	"controller.listener.names":                     listProp(func(c *Config) *[]string { return &c.ControllerListenerNames }),
	"controller.quorum.election.timeout.ms":         msProp(func(c *Config) *time.Duration { return &c.ControllerQuorumElectionTimeoutMs }, time.Millisecond),
	"controller.quorum.fetch.timeout.ms":            msProp(func(c *Config) *time.Duration { return &c.ControllerQuorumFetchTimeoutMs }, time.Millisecond),
	"broker.heartbeat.interval.ms":                  msProp(func(c *Config) *time.Duration { return &c.BrokerHeartbeatIntervalMs }, time.Millisecond),
	"broker.session.timeout.ms":                     msProp(func(c *Config) *time.Duration { return &c.BrokerSessionTimeoutMs }, time.Millisecond),
	"replica.lag.time.max.ms":                       msProp(func(c *Config) *time.Duration { return &c.ReplicaLagTimeMaxMs }, time.Millisecond),
	"replica.fetch.wait.max.ms":                     msProp(func(c *Config) *time.Duration { return &c.ReplicaFetchWaitMaxMs }, time.Millisecond),
	"replica.fetch.backoff.ms":                      msProp(func(c *Config) *time.Duration { return &c.ReplicaFetchBackoffMs }, time.Millisecond),
	"replica.high.watermark.checkpoint.interval.ms": msProp(func(c *Config) *time.Duration { return &c.ReplicaHighWatermarkCheckpointMs }, time.Millisecond),
	"unclean.leader.election.enable":                boolProp(func(c *Config) *bool { return &c.UncleanLeaderElectionEnable }),

	"transaction.state.log.num.partitions":     intProp(func(c *Config) *int32 { return &c.TransactionStateLogNumPartitions }, 32),
	"transaction.state.log.replication.factor": intProp(func(c *Config) *int16 { return &c.TransactionStateLogReplicationFactor }, 16),
	"transaction.state.log.min.isr":            intProp(func(c *Config) *int16 { return &c.TransactionStateLogMinISR }, 16),
	"transaction.state.log.segment.bytes":      intProp(func(c *Config) *int32 { return &c.TransactionStateLogSegmentBytes }, 32),
	"transaction.max.timeout.ms":               msProp(func(c *Config) *time.Duration { return &c.TransactionMaxTimeoutMs }, time.Millisecond),
	"transactional.id.expiration.ms":           msProp(func(c *Config) *time.Duration { return &c.TransactionalIDExpirationMs }, time.Millisecond),
	"transaction.abort.timed.out.transaction.cleanup.interval.ms": msProp(func(c *Config) *time.Duration {
		return &c.TransactionAbortTimedOutCleanupIntervalMs
	}, time.Millisecond),
	"transaction.remove.expired.transaction.cleanup.interval.ms": msProp(func(c *Config) *time.Duration {
		return &c.TransactionRemoveExpiredCleanupIntervalMs
	}, time.Millisecond),
}

// ignoredProperties are common server.properties keys that a single-process
// broker accepts and has no use for (KRaft roles, thread counts).
var ignoredProperties = []string{
	"controller.quorum.bootstrap.servers",
	"inter.broker.listener.name", "listener.security.protocol.map",
	"num.network.threads", "num.io.threads",
	"num.recovery.threads.per.data.dir", "zookeeper.connect", "zookeeper.connection.timeout.ms",
	"share.coordinator.state.topic.replication.factor", "share.coordinator.state.topic.min.isr",
}

// ErrUnknownProperty is returned by [Config.Set] for a key kspring does not know.
var ErrUnknownProperty = errors.New("unknown property")

// Set applies one server.properties entry, e.g. Set("log.retention.ms", "60000").
// Keys are Kafka's; keys that only matter to a multi-process Kafka deployment are
// accepted and ignored. An unknown key returns an error wrapping
// [ErrUnknownProperty]; callers loading a file may log it and go on, as Kafka does.
func (c *Config) Set(key, value string) error {
	key, value = strings.TrimSpace(key), strings.TrimSpace(value)
	p, ok := properties[key]
	if !ok {
		if slices.Contains(ignoredProperties, key) {
			return nil
		}
		return fmt.Errorf("property %q: %w", key, ErrUnknownProperty)
	}
	if err := p.set(c, value); err != nil {
		return fmt.Errorf("property %s=%q: %w", key, value, err)
	}
	return nil
}

// LoadProperties reads a Java properties file (key=value or key: value lines,
// '#' and '!' comments, '\' line continuations) and applies each entry to c with
// [Config.Set]. Unknown keys are collected and returned in unknown, not treated
// as errors; a malformed value is an error naming its line.
func (c *Config) LoadProperties(r io.Reader) (unknown []string, err error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	lineNo, pending := 0, ""
	for sc.Scan() {
		lineNo++
		line := strings.TrimSpace(sc.Text())
		if pending == "" && (line == "" || line[0] == '#' || line[0] == '!') {
			continue
		}
		if strings.HasSuffix(line, `\`) {
			pending += strings.TrimSuffix(line, `\`)
			continue
		}
		line, pending = pending+line, ""
		key, value, ok := cutProperty(line)
		if !ok {
			return unknown, fmt.Errorf("properties line %d: %q is not key=value", lineNo, line)
		}
		if err := c.Set(key, value); err != nil {
			if errors.Is(err, ErrUnknownProperty) {
				unknown = append(unknown, key)
				continue
			}
			return unknown, fmt.Errorf("properties line %d: %w", lineNo, err)
		}
	}
	if err := sc.Err(); err != nil {
		return unknown, fmt.Errorf("properties: %w", err)
	}
	return unknown, nil
}

func cutProperty(line string) (key, value string, ok bool) {
	i := strings.IndexAny(line, "=:")
	if i <= 0 {
		return "", "", false
	}
	return strings.TrimSpace(line[:i]), strings.TrimSpace(line[i+1:]), true
}
