package wire

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// ACL checks of the transaction APIs, as Kafka makes them: WriteTxnMarkers
// needs ClusterAction (brokers send it); TxnOffsetCommit needs Write on the
// transactional id, Read on the group and Read on each topic.

// writeTxnMarkersDenied answers every partition of body with
// CLUSTER_AUTHORIZATION_FAILED, or returns nil if req may send it.
func (s *Server) writeTxnMarkersDenied(req *Request, body *kmsg.WriteTxnMarkersRequest) *kmsg.WriteTxnMarkersResponse {
	if s.authorizeCluster(req, kmsg.ACLOperationClusterAction) {
		return nil
	}
	resp := body.ResponseKind().(*kmsg.WriteTxnMarkersResponse)
	for _, m := range body.Markers {
		rm := kmsg.NewWriteTxnMarkersResponseMarker()
		rm.ProducerID = m.ProducerID
		for _, t := range m.Topics {
			rt := kmsg.NewWriteTxnMarkersResponseMarkerTopic()
			rt.Topic = t.Topic
			for _, p := range t.Partitions {
				rp := kmsg.NewWriteTxnMarkersResponseMarkerTopicPartition()
				rp.Partition, rp.ErrorCode = p, kerr.ClusterAuthorizationFailed.Code
				rt.Partitions = append(rt.Partitions, rp)
			}
			rm.Topics = append(rm.Topics, rt)
		}
		resp.Markers = append(resp.Markers, rm)
	}
	return resp
}

// txnOffsetCommitDenied answers every partition of body with
// TRANSACTIONAL_ID_AUTHORIZATION_FAILED or GROUP_AUTHORIZATION_FAILED, or
// returns nil if req may commit for the transactional id and the group.
func (s *Server) txnOffsetCommitDenied(req *Request, body *kmsg.TxnOffsetCommitRequest) *kmsg.TxnOffsetCommitResponse {
	var e *kerr.Error
	switch {
	case !s.authorizeTransactionalID(req, body.TransactionalID, kmsg.ACLOperationWrite):
		e = kerr.TransactionalIDAuthorizationFailed
	case !s.authorizeGroup(req, body.Group, kmsg.ACLOperationRead):
		e = kerr.GroupAuthorizationFailed
	default:
		return nil
	}
	resp := body.ResponseKind().(*kmsg.TxnOffsetCommitResponse)
	for _, t := range body.Topics {
		rt := kmsg.NewTxnOffsetCommitResponseTopic()
		rt.Topic = t.Topic
		for _, p := range t.Partitions {
			rp := kmsg.NewTxnOffsetCommitResponseTopicPartition()
			rp.Partition, rp.ErrorCode = p.Partition, e.Code
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}

// readablePartitions is a topic's partition count for a commit of req's:
// 0 if req may not read the topic, so that none of its partitions is
// committed; missingCode is then the code they get.
func (s *Server) readablePartitions(req *Request, topic string) (count int32, missingCode int16) {
	if !s.authorizeTopic(req, topic, kmsg.ACLOperationRead) {
		return 0, kerr.TopicAuthorizationFailed.Code
	}
	return s.partitionCount(topic), kerr.UnknownTopicOrPartition.Code
}
