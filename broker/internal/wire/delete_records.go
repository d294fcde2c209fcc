package wire

// DeleteRecords (key 21), versions 0-2.
// Moves a partition's log start offset up to the requested offset (-1: the
// high watermark) and answers the new low watermark; segments wholly below it
// are deleted by the log. An offset below -1 or above the high watermark
// answers OFFSET_OUT_OF_RANGE; one at or below the current start changes
// nothing and answers the current start. As in Kafka, internal topics answer
// INVALID_TOPIC_EXCEPTION and topics whose cleanup.policy does not include
// delete answer POLICY_VIOLATION. Only the leader answers
// (NOT_LEADER_OR_FOLLOWER elsewhere). Departure: the answer does not wait for
// the followers to move their log start (they follow the leader's at their
// next fetch), so TimeoutMillis is not used.

import (
	"context"
	"errors"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"

	"github.com/kspring/kspring/broker/internal/log"
	"github.com/kspring/kspring/broker/internal/replica"
)

func init() { register(21, 0, 2, handler((*Server).handleDeleteRecords)) }

func (s *Server) handleDeleteRecords(_ context.Context, req *Request, body *kmsg.DeleteRecordsRequest) (kmsg.Response, error) {
	resp := body.ResponseKind().(*kmsg.DeleteRecordsResponse)
	resp.SetVersion(body.Version)
	for _, rt := range body.Topics {
		st := kmsg.NewDeleteRecordsResponseTopic()
		st.Topic = rt.Topic
		allowed := s.authorizeTopic(req, rt.Topic, kmsg.ACLOperationDelete)
		for _, rp := range rt.Partitions {
			sp := kmsg.NewDeleteRecordsResponseTopicPartition()
			sp.Partition = rp.Partition
			sp.LowWatermark = -1
			var low int64
			err := kerr.TopicAuthorizationFailed
			if allowed {
				low, err = s.deleteRecords(rt.Topic, rp)
			}
			if err != nil {
				sp.ErrorCode = err.Code
			} else {
				sp.LowWatermark = low
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp, nil
}

// deleteRecords moves one partition's start offset and returns the new one.
func (s *Server) deleteRecords(topic string, rp kmsg.DeleteRecordsRequestTopicPartition) (int64, *kerr.Error) {
	p, kerrv := s.leaderPartition(topic, rp.Partition)
	if kerrv != nil {
		return 0, kerrv
	}
	if isInternalTopic(topic) {
		return 0, kerr.InvalidTopicException
	}
	if !slices.Contains(splitList(p.Settings().Log.CleanupPolicy), "delete") {
		return 0, kerr.PolicyViolation
	}
	hw := p.HighWatermark()
	before := rp.Offset
	if before == -1 {
		before = hw
	}
	if before < 0 || before > hw {
		return 0, kerr.OffsetOutOfRange
	}
	start, err := p.Log().DeleteRecords(before)
	switch {
	case errors.Is(err, log.ErrOffsetOutOfRange):
		return 0, kerr.OffsetOutOfRange
	case errors.Is(err, log.ErrClosed), errors.Is(err, replica.ErrDeleted):
		return 0, kerr.UnknownTopicOrPartition
	case err != nil:
		s.logger.Error("delete records failed", zap.String("topic", topic), zap.Int32("partition", rp.Partition),
			zap.Int64("offset", before), zap.Error(err))
		return 0, kerr.KafkaStorageError
	}
	s.logger.Info("deleted records", zap.String("topic", topic), zap.Int32("partition", rp.Partition),
		zap.Int64("log_start_offset", start))
	return start, nil
}
