package wire

// CreatePartitions (key 37), versions 0-3.
// Grows a topic to Count partitions; the same count or fewer answers
// INVALID_PARTITIONS, as in Kafka. A manual assignment must list one replica
// set per new partition, each non-empty, without repeats, on registered
// brokers and with the topic's replication factor, else
// INVALID_REPLICA_ASSIGNMENT. A topic named twice gets INVALID_REQUEST.
// Validate-only requests stop after the checks. New partitions are placed
// on the live brokers as new topics are (departure: a valid manual
// assignment is checked, not followed; AlterPartitionReassignments moves
// them). On the controller they are open and writable when the response is
// sent; other brokers learn of them as the metadata reaches them.
// Departure: Kafka lets an admin add partitions to __consumer_offsets, which
// silently moves groups to other coordinator partitions; here internal topics
// answer INVALID_REQUEST.

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"

	"github.com/kspring/kspring/broker/internal/cluster"
)

func init() { register(37, 0, 3, handler((*Server).handleCreatePartitions)) }

func (s *Server) handleCreatePartitions(ctx context.Context, req *Request, body *kmsg.CreatePartitionsRequest) (kmsg.Response, error) {
	resp := body.ResponseKind().(*kmsg.CreatePartitionsResponse)
	resp.SetVersion(body.Version)
	seen := map[string]int{}
	for _, rt := range body.Topics {
		seen[rt.Topic]++
	}
	for _, rt := range body.Topics {
		st := kmsg.NewCreatePartitionsResponseTopic()
		st.Topic = rt.Topic
		fail := func(e *kerr.Error, msg string) {
			st.ErrorCode = e.Code
			st.ErrorMessage = &msg
		}
		if seen[rt.Topic] > 1 {
			fail(kerr.InvalidRequest, fmt.Sprintf("topic %q appears more than once in the request", rt.Topic))
			resp.Topics = append(resp.Topics, st)
			continue
		}
		if !s.authorizeTopic(req, rt.Topic, kmsg.ACLOperationAlter) {
			fail(kerr.TopicAuthorizationFailed, "Authorization failed.")
			resp.Topics = append(resp.Topics, st)
			continue
		}
		t, e, msg := s.checkNewPartitions(rt)
		switch {
		case e != nil:
			fail(e, msg)
		case body.ValidateOnly:
		default:
			err := s.topics.AddPartitions(ctx, rt.Topic, rt.Count)
			switch {
			case errors.Is(err, cluster.ErrNoSuchTopic):
				fail(kerr.UnknownTopicOrPartition, fmt.Sprintf("topic %q does not exist", rt.Topic))
			case errors.Is(err, cluster.ErrInvalidCount):
				// Another request grew the topic since the check.
				fail(kerr.InvalidPartitions, err.Error())
			case err != nil:
				s.logger.Error("add partitions failed", zap.String("topic", rt.Topic), zap.Error(err))
				fail(kerr.KafkaStorageError, fmt.Sprintf("add partitions to %q: %v", rt.Topic, err))
			default:
				s.logger.Info("added partitions", zap.String("topic", rt.Topic),
					zap.Int32("from", t.Partitions), zap.Int32("to", rt.Count))
			}
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp, nil
}

// checkNewPartitions validates one topic's request the way Kafka's controller
// does, in the same order.
func (s *Server) checkNewPartitions(rt kmsg.CreatePartitionsRequestTopic) (cluster.Topic, *kerr.Error, string) {
	t, ok := s.meta.Topic(rt.Topic)
	if !ok {
		return t, kerr.UnknownTopicOrPartition, fmt.Sprintf("topic %q does not exist", rt.Topic)
	}
	if t.Internal || isInternalTopic(t.Name) {
		return t, kerr.InvalidRequest, fmt.Sprintf("topic %q is internal: its partition count is fixed by the broker", t.Name)
	}
	switch {
	case rt.Count == t.Partitions:
		return t, kerr.InvalidPartitions, fmt.Sprintf("topic %q already has %d partitions", t.Name, t.Partitions)
	case rt.Count < t.Partitions:
		return t, kerr.InvalidPartitions, fmt.Sprintf("topic %q has %d partitions; %d would not be an increase",
			t.Name, t.Partitions, rt.Count)
	case rt.Count > MaxPartitionsPerTopic:
		return t, kerr.InvalidPartitions, fmt.Sprintf("topic %q: %d partitions is more than the %d allowed",
			t.Name, rt.Count, MaxPartitionsPerTopic)
	}
	if rt.Assignment == nil {
		return t, nil, ""
	}
	if add := rt.Count - t.Partitions; int(add) != len(rt.Assignment) {
		return t, kerr.InvalidReplicaAssignment, fmt.Sprintf("adding %d partitions needs %d replica assignments, got %d",
			add, add, len(rt.Assignment))
	}
	for i, a := range rt.Assignment {
		p := t.Partitions + int32(i)
		if len(a.Replicas) == 0 {
			return t, kerr.InvalidReplicaAssignment, fmt.Sprintf("assignment for partition %d has no replicas", p)
		}
		sorted := slices.Sorted(slices.Values(a.Replicas))
		for j, r := range sorted {
			if _, ok := s.meta.State().Brokers[r]; !ok {
				return t, kerr.InvalidReplicaAssignment, fmt.Sprintf("assignment for partition %d names broker %d, which is not registered", p, r)
			}
			if j > 0 && sorted[j-1] == r {
				return t, kerr.InvalidReplicaAssignment, fmt.Sprintf("assignment for partition %d names broker %d more than once", p, r)
			}
		}
		if len(a.Replicas) != int(t.ReplicationFactor) {
			return t, kerr.InvalidReplicaAssignment, fmt.Sprintf("assignment for partition %d has %d replicas; the topic's partitions have %d",
				p, len(a.Replicas), t.ReplicationFactor)
		}
	}
	return t, nil, ""
}
