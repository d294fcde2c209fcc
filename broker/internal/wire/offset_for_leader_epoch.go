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
// The answer comes from the partition's leader epoch cache (the log's
// leader-epoch-checkpoint), as Kafka's does; only the leader answers
// (NOT_LEADER_OR_FOLLOWER elsewhere), for consumers and followers alike.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(23, 0, 4, handler((*Server).handleOffsetForLeaderEpoch)) }

func (s *Server) handleOffsetForLeaderEpoch(_ context.Context, req *Request, body *kmsg.OffsetForLeaderEpochRequest) (kmsg.Response, error) {
	resp := body.ResponseKind().(*kmsg.OffsetForLeaderEpochResponse)
	resp.SetVersion(body.Version)
	replica := body.Version >= 3 && body.ReplicaID >= 0
	clusterOK := !replica || s.authorizeCluster(req, kmsg.ACLOperationClusterAction)
	for _, rt := range body.Topics {
		st := kmsg.NewOffsetForLeaderEpochResponseTopic()
		st.Topic = rt.Topic
		allowed := clusterOK && (replica || s.authorizeTopic(req, rt.Topic, kmsg.ACLOperationDescribe))
		for _, rp := range rt.Partitions {
			sp := kmsg.NewOffsetForLeaderEpochResponseTopicPartition() // epoch and offset -1
			sp.Partition = rp.Partition
			p, kerrv := s.leaderPartition(rt.Topic, rp.Partition)
			switch {
			case !allowed && !clusterOK:
				sp.ErrorCode = kerr.ClusterAuthorizationFailed.Code
			case !allowed:
				sp.ErrorCode = kerr.TopicAuthorizationFailed.Code
			case kerrv != nil:
				sp.ErrorCode = kerrv.Code
			default:
				if e := checkLeaderEpoch(rp.CurrentLeaderEpoch, p.LeaderEpoch()); e != nil {
					sp.ErrorCode = e.Code
					break
				}
				sp.LeaderEpoch, sp.EndOffset = p.Log().EndOffsetForEpoch(rp.LeaderEpoch)
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp, nil
}
