package wire

// OffsetForLeaderEpoch (key 23), versions 0-4.
// Consumers (KIP-320) ask for the end offset of the leader epoch they last
// fetched in, to detect a log truncated under them; followers ask it after a
// leader change. CurrentLeaderEpoch (v2+) is checked first as Fetch checks
// it: older than ours FENCED_LEADER_EPOCH, newer UNKNOWN_LEADER_EPOCH.
// The answer follows Kafka's leader epoch cache rules:
//   - the current epoch: (current epoch, log end offset);
//   - an epoch newer than the current one, or -1: (-1, -1);
//   - an older epoch: (requested epoch, start offset of the first later
//     epoch), which is Kafka's answer for an epoch older than any it knows.
//
// Departure: there is no leader epoch cache yet. A partition's leader epoch
// does not change on one broker, so the current epoch is the only one the log
// holds and it starts at the log start offset; an older epoch is answered
// with the log start offset. When leader elections arrive, the answer for
// older epochs must come from the epochs recorded in the stored batches.
// Every broker leads its own partitions, so ReplicaID (v3+) changes nothing.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(23, 0, 4, handler((*Server).handleOffsetForLeaderEpoch)) }

func (s *Server) handleOffsetForLeaderEpoch(_ context.Context, _ *Request, body *kmsg.OffsetForLeaderEpochRequest) (kmsg.Response, error) {
	resp := body.ResponseKind().(*kmsg.OffsetForLeaderEpochResponse)
	resp.SetVersion(body.Version)
	for _, rt := range body.Topics {
		st := kmsg.NewOffsetForLeaderEpochResponseTopic()
		st.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			sp := kmsg.NewOffsetForLeaderEpochResponseTopicPartition() // epoch and offset -1
			sp.Partition = rp.Partition
			p, ok := s.parts.Get(rt.Topic, rp.Partition)
			switch {
			case !ok:
				sp.ErrorCode = kerr.UnknownTopicOrPartition.Code
			default:
				current := p.LeaderEpoch()
				if e := checkLeaderEpoch(rp.CurrentLeaderEpoch, current); e != nil {
					sp.ErrorCode = e.Code
					break
				}
				sp.LeaderEpoch, sp.EndOffset = epochEndOffset(rp.LeaderEpoch, current, p.StartOffset(), p.Log().EndOffset())
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp, nil
}

// epochEndOffset answers a request for the end of epoch requested, for a log
// whose only epoch is current, starting at start and ending at end.
func epochEndOffset(requested, current int32, start, end int64) (int32, int64) {
	switch {
	case requested < 0 || requested > current:
		return -1, -1
	case requested == current:
		return current, end
	}
	return requested, start
}
