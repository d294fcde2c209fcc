package wire

// ListOffsets (key 2), versions 0-7.
// Timestamps -2 (earliest: the log start offset), -1 (latest: the high
// watermark, or the last stable offset for read_committed), -3 (the record
// with the largest timestamp, KIP-734, v7), or a time: the first offset whose
// timestamp is at or after it, found through the time index; none answers
// offset -1. read_committed (isolation level 1, v2+) bounds every answer by
// the last stable offset instead of the high watermark. v0 answers in its old form (a list of offsets). Only the
// partition's leader answers (NOT_LEADER_OR_FOLLOWER elsewhere).

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(2, 0, 7, handler((*Server).handleListOffsets)) }

func (s *Server) handleListOffsets(_ context.Context, _ *Request, body *kmsg.ListOffsetsRequest) (kmsg.Response, error) {
	resp := body.ResponseKind().(*kmsg.ListOffsetsResponse)
	resp.SetVersion(body.Version)
	for _, rt := range body.Topics {
		st := kmsg.NewListOffsetsResponseTopic()
		st.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			sp := kmsg.NewListOffsetsResponseTopicPartition()
			sp.Partition = rp.Partition
			sp.Timestamp, sp.Offset = -1, -1
			s.listOffset(body, rt.Topic, rp, &sp)
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp, nil
}

func (s *Server) listOffset(body *kmsg.ListOffsetsRequest, topic string, rp kmsg.ListOffsetsRequestTopicPartition, sp *kmsg.ListOffsetsResponseTopicPartition) {
	p, kerrv := s.leaderPartition(topic, rp.Partition)
	if kerrv != nil {
		sp.ErrorCode = kerrv.Code
		return
	}
	if e := checkLeaderEpoch(rp.CurrentLeaderEpoch, p.LeaderEpoch()); e != nil {
		sp.ErrorCode = e.Code
		return
	}
	sp.LeaderEpoch = p.LeaderEpoch()
	switch rp.Timestamp {
	case -2:
		sp.Offset = p.StartOffset()
	case -1:
		sp.Offset = p.HighWatermark()
		if body.IsolationLevel == 1 {
			sp.Offset = p.LastStableOffset()
		}
	case -3:
		sp.Timestamp, sp.Offset = p.Log().MaxTimestamp()
	default:
		if rp.Timestamp < 0 {
			sp.ErrorCode = kerr.InvalidRequest.Code // unknown special timestamp
			return
		}
		bound := p.HighWatermark()
		if body.IsolationLevel == 1 {
			bound = p.LastStableOffset()
		}
		if off, ts, found := p.Log().OffsetForTimestamp(rp.Timestamp); found && off < bound {
			sp.Offset, sp.Timestamp = off, ts
		}
	}
	if body.Version == 0 {
		// v0: up to MaxNumOffsets offsets; we report the one we found.
		if sp.Offset >= 0 && rp.MaxNumOffsets > 0 {
			sp.OldStyleOffsets = []int64{sp.Offset}
		}
	}
}
