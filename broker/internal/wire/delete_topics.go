package wire

// DeleteTopics (key 20), versions 0-6.
// Topics are named by name (v0-5) or, from v6, by name or by id. With
// delete.topic.enable=false every topic is answered TOPIC_DELETION_DISABLED
// (INVALID_REQUEST before v3), as Kafka does. A name or id given twice, an
// entry with both or neither, get INVALID_REQUEST; an unknown name gets
// UNKNOWN_TOPIC_OR_PARTITION, an unknown id UNKNOWN_TOPIC_ID. Deletion is
// synchronous: when the response is sent, the topic is gone from the metadata,
// its partitions are closed and removed, and every group's committed offsets
// of it are tombstoned (as Kafka's group coordinator does when partitions are
// deleted), so it can be created again at once and is read from its start.
// Departure: Kafka's protocol lets an admin delete __consumer_offsets (only
// its command-line tool refuses); here the group coordinator keeps its state
// in it, so internal topics are refused with INVALID_TOPIC_EXCEPTION, the code
// Kafka uses for DeleteRecords on an internal topic.

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"

	"github.com/kspring/kspring/broker/internal/cluster"
)

func init() { register(20, 0, 6, handler((*Server).handleDeleteTopics)) }

func (s *Server) handleDeleteTopics(ctx context.Context, req *Request, body *kmsg.DeleteTopicsRequest) (kmsg.Response, error) {
	resp := body.ResponseKind().(*kmsg.DeleteTopicsResponse)
	resp.SetVersion(body.Version)
	requested := body.Topics
	if body.Version < 6 {
		requested = make([]kmsg.DeleteTopicsRequestTopic, 0, len(body.TopicNames))
		for _, name := range body.TopicNames {
			rt := kmsg.NewDeleteTopicsRequestTopic()
			rt.Topic = &name
			requested = append(requested, rt)
		}
	}
	names, ids := map[string]int{}, map[[16]byte]int{}
	for _, rt := range requested {
		if rt.Topic != nil {
			names[*rt.Topic]++
		} else {
			ids[rt.TopicID]++
		}
	}
	for _, rt := range requested {
		st := kmsg.NewDeleteTopicsResponseTopic()
		st.Topic, st.TopicID = rt.Topic, rt.TopicID
		fail := func(e *kerr.Error, format string, args ...any) {
			st.ErrorCode = e.Code
			msg := fmt.Sprintf(format, args...)
			st.ErrorMessage = &msg
		}
		switch {
		case !s.settings.DeleteTopicEnable && body.Version < 3:
			fail(kerr.InvalidRequest, "topic deletion is disabled (delete.topic.enable=false)")
		case !s.settings.DeleteTopicEnable:
			fail(kerr.TopicDeletionDisabled, "topic deletion is disabled (delete.topic.enable=false)")
		case rt.Topic != nil && rt.TopicID != [16]byte{}:
			fail(kerr.InvalidRequest, "give a topic name or a topic id, not both")
		case rt.Topic == nil && rt.TopicID == [16]byte{}:
			fail(kerr.InvalidRequest, "neither topic name nor topic id was given")
		case rt.Topic != nil && names[*rt.Topic] > 1:
			fail(kerr.InvalidRequest, "topic %q appears more than once in the request", *rt.Topic)
		case rt.Topic == nil && ids[rt.TopicID] > 1:
			fail(kerr.InvalidRequest, "topic id %s appears more than once in the request", topicIDString(rt.TopicID))
		case !s.mayDeleteTopic(req, rt):
			fail(kerr.TopicAuthorizationFailed, "Authorization failed.")
		default:
			s.deleteTopic(ctx, &st, fail)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp, nil
}

// mayDeleteTopic reports whether req may delete the topic rt names (by
// name or id): Delete on the topic.
func (s *Server) mayDeleteTopic(req *Request, rt kmsg.DeleteTopicsRequestTopic) bool {
	if rt.Topic != nil {
		return s.authorizeTopic(req, *rt.Topic, kmsg.ACLOperationDelete)
	}
	t, ok := s.meta.State().TopicByID(rt.TopicID)
	return !ok || s.authorizeTopic(req, t.Name, kmsg.ACLOperationDelete)
}

// deleteTopic deletes the topic st names (by name or id) and fills in the
// name and id of what was deleted.
func (s *Server) deleteTopic(ctx context.Context, st *kmsg.DeleteTopicsResponseTopic, fail func(*kerr.Error, string, ...any)) {
	var (
		t  cluster.Topic
		ok bool
	)
	if st.Topic != nil {
		t, ok = s.meta.Topic(*st.Topic)
		if !ok {
			fail(kerr.UnknownTopicOrPartition, "topic %q does not exist", *st.Topic)
			return
		}
	} else {
		t, ok = s.meta.TopicByID(st.TopicID)
		if !ok {
			fail(kerr.UnknownTopicID, "no topic has id %s", topicIDString(st.TopicID))
			return
		}
	}
	name := t.Name
	st.Topic, st.TopicID = &name, t.ID
	if t.Internal || isInternalTopic(name) {
		fail(kerr.InvalidTopicException, "topic %q is internal to the broker and cannot be deleted", name)
		return
	}
	err := s.topics.Delete(ctx, name)
	switch {
	case errors.Is(err, cluster.ErrNoSuchTopic):
		fail(kerr.UnknownTopicOrPartition, "topic %q does not exist", name)
	case err != nil:
		s.logger.Error("delete topic failed", zap.String("topic", name), zap.Error(err))
		fail(kerr.KafkaStorageError, "delete topic %q: %v", name, err)
	default:
		s.logger.Info("deleted topic", zap.String("topic", name))
	}
}

// topicIDString renders a topic id the way Kafka prints it.
func topicIDString(id [16]byte) string {
	return base64.RawURLEncoding.EncodeToString(id[:])
}
