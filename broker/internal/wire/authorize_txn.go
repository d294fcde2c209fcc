package wire

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// ACL checks of the transaction APIs, as Kafka's KafkaApis makes them:
//   - InitProducerId, EndTxn: Write on the transactional id
//     (TRANSACTIONAL_ID_AUTHORIZATION_FAILED); InitProducerId without one,
//     IdempotentWrite on the cluster or Write on some topic
//     (init_producer_id.go).
//   - AddPartitionsToTxn v0-3: Write on the transactional id, then Write on
//     each topic (internal topics never): a transaction with an unauthorized
//     or unknown partition adds nothing, its other partitions answered
//     OPERATION_NOT_ATTEMPTED. v4 is for brokers: ClusterAction, else
//     CLUSTER_AUTHORIZATION_FAILED at the top level; its transactions are
//     then not checked per id or topic, as in Kafka.
//   - AddOffsetsToTxn: Write on the transactional id, Read on the group.
//   - TxnOffsetCommit: Write on the transactional id, Read on the group and
//     on each topic.
//   - DescribeTransactions: Describe on each id; the partitions of topics the
//     principal may not describe are left out. ListTransactions lists only
//     the ids the principal may describe.
//   - WriteTxnMarkers: ClusterAction (brokers send it).
//   - Produce with a transactional id: Write on it; transactional batches
//     need one (produce.go);
//     FindCoordinator of a transactional id: Describe on it
//     (find_coordinator.go).

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

// addPartitionsToTxnDenied answers body when req may not add its
// partitions (see the file comment), or returns nil to let the
// coordinator add them.
func (s *Server) addPartitionsToTxnDenied(req *Request, body *kmsg.AddPartitionsToTxnRequest) *kmsg.AddPartitionsToTxnResponse {
	resp := body.ResponseKind().(*kmsg.AddPartitionsToTxnResponse)
	resp.SetVersion(body.Version)
	if body.Version >= 4 {
		if s.authorizeCluster(req, kmsg.ACLOperationClusterAction) {
			return nil
		}
		resp.ErrorCode = kerr.ClusterAuthorizationFailed.Code
		return resp
	}
	var code func(topic string, partition int32) int16
	if !s.authorizeTransactionalID(req, body.TransactionalID, kmsg.ACLOperationWrite) {
		code = func(string, int32) int16 { return kerr.TransactionalIDAuthorizationFailed.Code }
	} else {
		writable := map[string]bool{}
		refused := false
		for _, t := range body.Topics {
			ok := !isInternalTopic(t.Topic) && s.authorizeTopic(req, t.Topic, kmsg.ACLOperationWrite)
			writable[t.Topic] = ok
			refused = refused || !ok
		}
		if !refused {
			return nil
		}
		code = func(topic string, partition int32) int16 {
			switch {
			case !writable[topic]:
				return kerr.TopicAuthorizationFailed.Code
			case partition < 0 || partition >= s.partitionCount(topic):
				return kerr.UnknownTopicOrPartition.Code
			}
			return kerr.OperationNotAttempted.Code
		}
	}
	for _, t := range body.Topics {
		rt := kmsg.NewAddPartitionsToTxnResponseTopic()
		rt.Topic = t.Topic
		for _, p := range t.Partitions {
			rp := kmsg.NewAddPartitionsToTxnResponseTopicPartition()
			rp.Partition, rp.ErrorCode = p, code(t.Topic, p)
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}

// addOffsetsToTxnCode is the code refusing body to req, or 0 if req may
// add the group's offsets to the transaction.
func (s *Server) addOffsetsToTxnCode(req *Request, body *kmsg.AddOffsetsToTxnRequest) int16 {
	switch {
	case !s.authorizeTransactionalID(req, body.TransactionalID, kmsg.ACLOperationWrite):
		return kerr.TransactionalIDAuthorizationFailed.Code
	case !s.authorizeGroup(req, body.Group, kmsg.ACLOperationRead):
		return kerr.GroupAuthorizationFailed.Code
	}
	return 0
}

// describeTransactionsAllowed asks describe for the ids of body req may
// describe and answers the others TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
// in the order asked; partitions of topics req may not describe are left
// out.
func (s *Server) describeTransactionsAllowed(req *Request, body *kmsg.DescribeTransactionsRequest,
	describe func(*kmsg.DescribeTransactionsRequest) *kmsg.DescribeTransactionsResponse) *kmsg.DescribeTransactionsResponse {
	if !s.authz.Enabled {
		return describe(body)
	}
	allowed := *body
	allowed.TransactionalIDs = nil
	may := map[string]bool{}
	for _, id := range body.TransactionalIDs {
		if s.authorizeTransactionalID(req, id, kmsg.ACLOperationDescribe) {
			allowed.TransactionalIDs = append(allowed.TransactionalIDs, id)
			may[id] = true
		}
	}
	resp := body.ResponseKind().(*kmsg.DescribeTransactionsResponse)
	resp.SetVersion(body.Version)
	var got []kmsg.DescribeTransactionsResponseTransactionState
	if len(allowed.TransactionalIDs) > 0 {
		dr := describe(&allowed)
		resp.ThrottleMillis, got = dr.ThrottleMillis, dr.TransactionStates
	}
	for _, id := range body.TransactionalIDs {
		if len(got) > 0 && got[0].TransactionalID == id && may[id] {
			st := got[0]
			got = got[1:]
			kept := st.Topics[:0]
			for _, t := range st.Topics {
				if s.authorizeTopic(req, t.Topic, kmsg.ACLOperationDescribe) {
					kept = append(kept, t)
				}
			}
			st.Topics = kept
			resp.TransactionStates = append(resp.TransactionStates, st)
			continue
		}
		st := kmsg.NewDescribeTransactionsResponseTransactionState()
		st.TransactionalID, st.ErrorCode = id, kerr.TransactionalIDAuthorizationFailed.Code
		resp.TransactionStates = append(resp.TransactionStates, st)
	}
	return resp
}

// listTransactionsAllowed leaves out of resp the transactions whose id req
// may not describe.
func (s *Server) listTransactionsAllowed(req *Request, resp *kmsg.ListTransactionsResponse) *kmsg.ListTransactionsResponse {
	if !s.authz.Enabled {
		return resp
	}
	kept := resp.TransactionStates[:0]
	for _, st := range resp.TransactionStates {
		if s.authorizeTransactionalID(req, st.TransactionalID, kmsg.ACLOperationDescribe) {
			kept = append(kept, st)
		}
	}
	resp.TransactionStates = kept
	return resp
}
