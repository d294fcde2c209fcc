package wire

// Metadata (key 3), versions 0-12.
// v0 asks for all topics with an empty list; v1+ with a null list. Unknown
// topics are created when auto.create.topics.enable is on and the request
// allows it (always before v4); creation is synchronous, so the new topic is
// returned with its leaders rather than LEADER_NOT_AVAILABLE. Topic ids (v10+)
// may name topics instead of names.

import (
	"context"
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"

	"github.com/kspring/kspring/broker/internal/cluster"
)

func init() { register(3, 0, 12, handler((*Server).handleMetadata)) }

func (s *Server) handleMetadata(ctx context.Context, req *Request, body *kmsg.MetadataRequest) (kmsg.Response, error) {
	resp := body.ResponseKind().(*kmsg.MetadataResponse)
	resp.SetVersion(body.Version)
	st := s.meta.State()
	resp.Brokers = s.liveBrokers(st, req)
	clusterID := st.ClusterID
	resp.ClusterID = &clusterID
	resp.ControllerID = s.controllerID(st)
	resp.AuthorizedOperations = authorizedOps(body.IncludeClusterAuthorizedOperations)
	if s.authz.Enabled {
		defer s.reportAuthorizedOps(req, body, resp)
	}

	all := body.Topics == nil || (body.Version == 0 && len(body.Topics) == 0)
	if all {
		for _, t := range st.SortedTopics() {
			// As Kafka: topics the principal may not describe are left out.
			if s.authorizeTopic(req, t.Name, kmsg.ACLOperationDescribe) {
				resp.Topics = append(resp.Topics, s.topicMetadata(st, *t, body.IncludeTopicAuthorizedOperations))
			}
		}
		return resp, nil
	}
	autoCreate := s.settings.AutoCreateTopics && (body.Version < 4 || body.AllowAutoTopicCreation)
	for _, rt := range body.Topics {
		denied := func(mt kmsg.MetadataResponseTopic) kmsg.MetadataResponseTopic {
			d := kmsg.NewMetadataResponseTopic()
			d.Topic, d.TopicID, d.ErrorCode = mt.Topic, mt.TopicID, kerr.TopicAuthorizationFailed.Code
			return d
		}
		if rt.Topic != nil && !s.authorizeTopic(req, *rt.Topic, kmsg.ACLOperationDescribe) {
			resp.Topics = append(resp.Topics, denied(kmsg.MetadataResponseTopic{Topic: rt.Topic, TopicID: rt.TopicID}))
			continue
		}
		create := autoCreate && rt.Topic != nil && s.mayCreateTopic(req, *rt.Topic)
		mt := s.lookupTopic(ctx, st, rt, create, body.IncludeTopicAuthorizedOperations)
		switch {
		case rt.Topic == nil && mt.Topic != nil && !s.authorizeTopic(req, *mt.Topic, kmsg.ACLOperationDescribe):
			mt = denied(kmsg.MetadataResponseTopic{TopicID: mt.TopicID})
		case autoCreate && !create && mt.ErrorCode == kerr.UnknownTopicOrPartition.Code && !isInternalTopic(*rt.Topic):
			// Kafka: a topic the principal may not create is not there for it.
			mt = denied(mt)
		}
		resp.Topics = append(resp.Topics, mt)
	}
	return resp, nil
}

// reportAuthorizedOps sets the operations req may perform on the cluster
// and on each topic, where the request asks for them (ACLs on).
func (s *Server) reportAuthorizedOps(req *Request, body *kmsg.MetadataRequest, resp *kmsg.MetadataResponse) {
	if body.IncludeClusterAuthorizedOperations {
		resp.AuthorizedOperations = s.authorizedOperations(req, cluster.ResourceCluster, clusterName, clusterOperationsByACL)
	}
	if !body.IncludeTopicAuthorizedOperations {
		return
	}
	for i := range resp.Topics {
		if t := resp.Topics[i]; t.Topic != nil && t.ErrorCode != kerr.TopicAuthorizationFailed.Code {
			resp.Topics[i].AuthorizedOperations = s.authorizedOperations(req, cluster.ResourceTopic, *t.Topic, topicOperations)
		}
	}
}

// mayCreateTopic reports whether req may create topic name: Create on the
// cluster or on the topic.
func (s *Server) mayCreateTopic(req *Request, name string) bool {
	return s.authorizeCluster(req, kmsg.ACLOperationCreate) || s.authorizeTopic(req, name, kmsg.ACLOperationCreate)
}

func (s *Server) lookupTopic(ctx context.Context, st *cluster.State, rt kmsg.MetadataRequestTopic, autoCreate, ops bool) kmsg.MetadataResponseTopic {
	if rt.Topic == nil {
		t, ok := st.TopicByID(rt.TopicID)
		if !ok {
			mt := kmsg.NewMetadataResponseTopic()
			mt.TopicID = rt.TopicID
			mt.ErrorCode = kerr.UnknownTopicID.Code
			return mt
		}
		return s.topicMetadata(st, *t, ops)
	}
	name := *rt.Topic
	errTopic := func(err *kerr.Error) kmsg.MetadataResponseTopic {
		mt := kmsg.NewMetadataResponseTopic()
		mt.Topic = &name
		mt.ErrorCode = err.Code
		mt.IsInternal = isInternalTopic(name)
		return mt
	}
	if t, ok := st.Topics[name]; ok {
		return s.topicMetadata(st, *t, ops)
	}
	if err := validateTopicName(name); err != nil {
		return errTopic(kerr.InvalidTopicException)
	}
	if !autoCreate || isInternalTopic(name) {
		return errTopic(kerr.UnknownTopicOrPartition)
	}
	t, err := s.topics.Create(ctx, cluster.Topic{Name: name, Partitions: s.settings.NumPartitions, ReplicationFactor: s.settings.DefaultReplicationFactor})
	switch {
	case errors.Is(err, cluster.ErrTopicExists), errors.Is(err, kerr.TopicAlreadyExists):
		st = s.meta.State()
		if t, ok := st.Topics[name]; ok {
			return s.topicMetadata(st, *t, ops)
		}
		return errTopic(kerr.LeaderNotAvailable)
	case errors.Is(err, cluster.ErrReplicationFactor), errors.Is(err, kerr.InvalidReplicationFactor):
		s.logger.Warn("auto topic creation failed", zap.String("topic", name), zap.Error(err))
		return errTopic(kerr.InvalidReplicationFactor)
	case err != nil:
		s.logger.Warn("auto topic creation failed", zap.String("topic", name), zap.Error(err))
		return errTopic(kerr.LeaderNotAvailable)
	}
	s.logger.Info("auto-created topic", zap.String("topic", name), zap.Int32("partitions", t.Partitions))
	return s.topicMetadata(s.meta.State(), t, ops)
}

// self is this broker as Metadata describes it.
func (s *Server) self() kmsg.MetadataResponseBroker {
	return kmsg.MetadataResponseBroker{
		NodeID: s.settings.NodeID,
		Host:   s.settings.AdvertisedHost,
		Port:   s.settings.AdvertisedPort,
		Rack:   s.settings.Rack,
	}
}

func (s *Server) topicMetadata(st *cluster.State, t cluster.Topic, ops bool) kmsg.MetadataResponseTopic {
	mt := kmsg.NewMetadataResponseTopic()
	name := t.Name
	mt.Topic = &name
	mt.TopicID = t.ID
	mt.IsInternal = t.Internal
	mt.AuthorizedOperations = authorizedOps(ops)
	for i, ps := range t.Assignment {
		mp := kmsg.NewMetadataResponseTopicPartition()
		mp.Partition = int32(i)
		mp.Leader = ps.Leader
		mp.LeaderEpoch = ps.LeaderEpoch
		mp.Replicas = ps.Replicas
		mp.ISR = ps.ISR
		for _, r := range ps.Replicas {
			if b, ok := st.Brokers[r]; !ok || b.Fenced {
				mp.OfflineReplicas = append(mp.OfflineReplicas, r)
			}
		}
		if _, _, alive := s.broker(st, ps.Leader); !alive {
			mp.Leader = -1
			mp.ErrorCode = kerr.LeaderNotAvailable.Code
		}
		mt.Partitions = append(mt.Partitions, mp)
	}
	return mt
}

// authorizedOps returns the operations bitfield: all operations when asked (no
// authorizer), else Kafka's "not requested" value.
func authorizedOps(requested bool) int32 {
	if requested {
		// Every ACL operation from READ (3) to IDEMPOTENT_WRITE (12).
		return 0b1_1111_1111_1000
	}
	return -2147483648
}
