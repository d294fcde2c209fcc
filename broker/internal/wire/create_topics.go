package wire

// CreateTopics (key 19), versions 0-7.
// Validates names, partition counts, replication factors (at most the number
// of brokers), manual assignments and config overrides before anything is
// created; validate-only requests stop there. A topic named twice in one
// request gets INVALID_REQUEST. v5+ returns the created topic's effective
// configs; v7 its id.

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"

	"github.com/kspring/kspring/broker/internal/cluster"
	"github.com/kspring/kspring/broker/internal/topicconf"
)

func init() { register(19, 0, 7, handler((*Server).handleCreateTopics)) }

func (s *Server) handleCreateTopics(ctx context.Context, req *Request, body *kmsg.CreateTopicsRequest) (kmsg.Response, error) {
	resp := body.ResponseKind().(*kmsg.CreateTopicsResponse)
	resp.SetVersion(body.Version)
	seen := map[string]int{}
	for _, rt := range body.Topics {
		seen[rt.Topic]++
	}
	for _, rt := range body.Topics {
		st := kmsg.NewCreateTopicsResponseTopic()
		st.Topic = rt.Topic
		st.NumPartitions, st.ReplicationFactor = -1, -1
		fail := func(e *kerr.Error, format string, args ...any) {
			st.ErrorCode = e.Code
			msg := fmt.Sprintf(format, args...)
			st.ErrorMessage = &msg
		}
		if seen[rt.Topic] > 1 {
			fail(kerr.InvalidRequest, "topic %q appears more than once in the request", rt.Topic)
			resp.Topics = append(resp.Topics, st)
			continue
		}
		if !s.mayCreateTopic(req, rt.Topic) {
			fail(kerr.TopicAuthorizationFailed, "Authorization failed.")
			resp.Topics = append(resp.Topics, st)
			continue
		}
		n, rf, assignment, configs, kerrv, msg := s.checkNewTopic(rt)
		switch {
		case kerrv != nil:
			fail(kerrv, "%s", msg)
		case body.ValidateOnly:
			s.describeNewTopic(&st, cluster.Topic{Name: rt.Topic, Partitions: n, ReplicationFactor: rf, Configs: configs})
		default:
			t, err := s.topics.Create(ctx, cluster.Topic{Name: rt.Topic, Partitions: n, ReplicationFactor: rf, Configs: configs, Assignment: assignment})
			var ke *kerr.Error
			switch {
			case errors.Is(err, cluster.ErrTopicExists):
				fail(kerr.TopicAlreadyExists, "topic %q already exists", rt.Topic)
			case errors.Is(err, cluster.ErrReplicationFactor):
				fail(kerr.InvalidReplicationFactor, "%v", err)
			case errors.As(err, &ke):
				fail(ke, "%v", err)
			case err != nil:
				s.logger.Error("create topic failed", zap.String("topic", rt.Topic), zap.Error(err))
				fail(kerr.KafkaStorageError, "create topic %q: %v", rt.Topic, err)
			default:
				s.logger.Info("created topic", zap.String("topic", t.Name), zap.Int32("partitions", t.Partitions),
					zap.Any("configs", t.Configs))
				s.describeNewTopic(&st, t)
			}
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp, nil
}

// checkNewTopic validates one requested topic and resolves its defaults.
func (s *Server) checkNewTopic(rt kmsg.CreateTopicsRequestTopic) (int32, int16, []cluster.Partition, map[string]string, *kerr.Error, string) {
	n, rf, assignment, kerrv, msg := s.checkPlacement(rt)
	if kerrv != nil {
		return 0, 0, nil, nil, kerrv, msg
	}
	configs := map[string]string{}
	for _, c := range rt.Configs {
		if c.Value == nil {
			return 0, 0, nil, nil, kerr.InvalidConfig, fmt.Sprintf("config %q has a null value", c.Name)
		}
		if err := topicconf.Validate(c.Name, *c.Value); err != nil {
			return 0, 0, nil, nil, kerr.InvalidConfig, err.Error()
		}
		configs[c.Name] = *c.Value
	}
	return n, rf, assignment, configs, nil, ""
}

// checkPlacement validates the name, partitions, replication factor and
// manual replica assignment of a requested topic.
func (s *Server) checkPlacement(rt kmsg.CreateTopicsRequestTopic) (int32, int16, []cluster.Partition, *kerr.Error, string) {
	if err := validateTopicName(rt.Topic); err != nil {
		return 0, 0, nil, kerr.InvalidTopicException, err.Error()
	}
	if isInternalTopic(rt.Topic) {
		return 0, 0, nil, kerr.InvalidRequest, fmt.Sprintf("topic %q is internal and created by the broker", rt.Topic)
	}
	st := s.meta.State()
	if _, ok := st.Topics[rt.Topic]; ok {
		return 0, 0, nil, kerr.TopicAlreadyExists, fmt.Sprintf("topic %q already exists", rt.Topic)
	}
	n, rf := rt.NumPartitions, rt.ReplicationFactor
	var assignment []cluster.Partition
	if len(rt.ReplicaAssignment) > 0 {
		if n != -1 || rf != -1 {
			return 0, 0, nil, kerr.InvalidRequest, "give either replica assignments or partitions and replication factor, not both"
		}
		n, rf = int32(len(rt.ReplicaAssignment)), int16(len(rt.ReplicaAssignment[0].Replicas))
		for i, a := range rt.ReplicaAssignment {
			if a.Partition != int32(i) {
				return 0, 0, nil, kerr.InvalidReplicaAssignment, "replica assignments must list partitions 0..n-1 in order"
			}
			if len(a.Replicas) != int(rf) {
				return 0, 0, nil, kerr.InvalidReplicaAssignment, "every partition must have the same number of replicas"
			}
			seen := map[int32]bool{}
			var isr []int32
			for _, r := range a.Replicas {
				b, ok := st.Brokers[r]
				if !ok || seen[r] {
					return 0, 0, nil, kerr.InvalidReplicaAssignment, fmt.Sprintf("unknown or repeated broker %d in replica assignment", r)
				}
				seen[r] = true
				if !b.Fenced {
					isr = append(isr, r)
				}
			}
			if len(isr) == 0 {
				return 0, 0, nil, kerr.InvalidReplicaAssignment, fmt.Sprintf("no broker of partition %d's replicas %v is alive", i, a.Replicas)
			}
			leader := cluster.NoLeader
			for _, r := range a.Replicas {
				if !st.Brokers[r].Fenced {
					leader = r
					break
				}
			}
			slices.Sort(isr)
			assignment = append(assignment, cluster.Partition{Replicas: slices.Clone(a.Replicas), ISR: isr, Leader: leader})
		}
	}
	if n == -1 {
		n = s.settings.NumPartitions
	}
	if rf == -1 {
		rf = s.settings.DefaultReplicationFactor
	}
	if n < 1 || n > MaxPartitionsPerTopic {
		return 0, 0, nil, kerr.InvalidPartitions,
			fmt.Sprintf("number of partitions %d must be between 1 and %d", n, MaxPartitionsPerTopic)
	}
	if rf < 1 {
		return 0, 0, nil, kerr.InvalidReplicationFactor, fmt.Sprintf("replication factor %d must be at least 1", rf)
	}
	if live := len(st.LiveBrokers()); assignment == nil && int(rf) > max(live, 1) {
		return 0, 0, nil, kerr.InvalidReplicationFactor,
			fmt.Sprintf("replication factor %d is larger than the %d available brokers", rf, max(live, 1))
	}
	return n, rf, assignment, nil, ""
}

// describeNewTopic fills the v5+ fields of a created (or validated) topic.
func (s *Server) describeNewTopic(st *kmsg.CreateTopicsResponseTopic, t cluster.Topic) {
	st.TopicID = t.ID
	st.NumPartitions, st.ReplicationFactor = t.Partitions, t.ReplicationFactor
	for _, v := range topicconf.Resolve(t.Configs, s.brokerConfigs()) {
		c := kmsg.NewCreateTopicsResponseTopicConfig()
		c.Name = v.Name
		val := v.Value
		c.Value = &val
		c.Source = int8(v.Source)
		st.Configs = append(st.Configs, c)
	}
}
