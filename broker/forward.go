package broker

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kspring/kspring/broker/internal/cluster"
	"github.com/kspring/kspring/broker/internal/wire"
)

// Topic changes asked of a broker that is not the active controller go to
// the controller as the admin request a client would send (as Kafka brokers
// forward them); the controller's answer is this broker's.

// forwardError returns the error of a forwarded request's answer.
func forwardError(code int16, msg *string) error {
	err := kerr.ErrorForCode(code)
	if err == nil {
		return nil
	}
	if msg != nil && *msg != "" {
		return fmt.Errorf("controller: %s: %w", *msg, err)
	}
	return fmt.Errorf("controller: %w", err)
}

func (t *topics) forwardCreate(ctx context.Context, spec cluster.Topic) error {
	if spec.Internal {
		// Clients cannot create internal topics; the controller makes
		// __consumer_offsets when a FindCoordinator asks for a group.
		return t.forwardInternal(ctx, spec.Name)
	}
	req := kmsg.NewPtrCreateTopicsRequest()
	req.Version = 7
	req.TimeoutMillis = 30000
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic = spec.Name
	rt.NumPartitions, rt.ReplicationFactor = spec.Partitions, spec.ReplicationFactor
	for i, p := range spec.Assignment {
		a := kmsg.NewCreateTopicsRequestTopicReplicaAssignment()
		a.Partition, a.Replicas = int32(i), p.Replicas
		rt.ReplicaAssignment = append(rt.ReplicaAssignment, a)
	}
	if len(rt.ReplicaAssignment) > 0 {
		rt.NumPartitions, rt.ReplicationFactor = -1, -1
	}
	for k, v := range spec.Configs {
		c := kmsg.NewCreateTopicsRequestTopicConfig()
		c.Name, c.Value = k, &v
		rt.Configs = append(rt.Configs, c)
	}
	req.Topics = append(req.Topics, rt)
	resp, err := t.member.call(ctx, req)
	if err != nil {
		return err
	}
	r := resp.(*kmsg.CreateTopicsResponse)
	if len(r.Topics) != 1 {
		return fmt.Errorf("controller: malformed CreateTopics response")
	}
	return forwardError(r.Topics[0].ErrorCode, r.Topics[0].ErrorMessage)
}

// forwardInternal asks the controller to create an internal topic: a
// FindCoordinator for a group makes it create __consumer_offsets, one for a
// transactional id __transaction_state.
func (t *topics) forwardInternal(ctx context.Context, name string) error {
	req := kmsg.NewPtrFindCoordinatorRequest()
	req.Version = 3
	req.CoordinatorKey = "kspring-internal-topic-creation"
	if name == wire.TransactionTopic {
		req.CoordinatorType = 1
	}
	resp, err := t.member.call(ctx, req)
	if err != nil {
		return err
	}
	r := resp.(*kmsg.FindCoordinatorResponse)
	if code := r.ErrorCode; code != 0 && code != kerr.CoordinatorNotAvailable.Code && code != kerr.CoordinatorLoadInProgress.Code {
		return forwardError(code, r.ErrorMessage)
	}
	return nil
}

func (t *topics) forwardDelete(ctx context.Context, name string) error {
	req := kmsg.NewPtrDeleteTopicsRequest()
	req.Version = 5
	req.TimeoutMillis = 30000
	req.TopicNames = []string{name}
	resp, err := t.member.call(ctx, req)
	if err != nil {
		return err
	}
	r := resp.(*kmsg.DeleteTopicsResponse)
	if len(r.Topics) != 1 {
		return fmt.Errorf("controller: malformed DeleteTopics response")
	}
	return forwardError(r.Topics[0].ErrorCode, r.Topics[0].ErrorMessage)
}

func (t *topics) forwardCreatePartitions(ctx context.Context, name string, n int32) error {
	req := kmsg.NewPtrCreatePartitionsRequest()
	req.Version = 3
	req.TimeoutMillis = 30000
	rt := kmsg.NewCreatePartitionsRequestTopic()
	rt.Topic, rt.Count = name, n
	req.Topics = append(req.Topics, rt)
	resp, err := t.member.call(ctx, req)
	if err != nil {
		return err
	}
	r := resp.(*kmsg.CreatePartitionsResponse)
	if len(r.Topics) != 1 {
		return fmt.Errorf("controller: malformed CreatePartitions response")
	}
	return forwardError(r.Topics[0].ErrorCode, r.Topics[0].ErrorMessage)
}

func (t *topics) forwardConfigs(ctx context.Context, name string, configs map[string]string) error {
	req := kmsg.NewPtrAlterConfigsRequest()
	req.Version = 2
	res := kmsg.NewAlterConfigsRequestResource()
	res.ResourceType, res.ResourceName = kmsg.ConfigResourceTypeTopic, name
	for k, v := range configs {
		c := kmsg.NewAlterConfigsRequestResourceConfig()
		c.Name, c.Value = k, &v
		res.Configs = append(res.Configs, c)
	}
	req.Resources = append(req.Resources, res)
	resp, err := t.member.call(ctx, req)
	if err != nil {
		return err
	}
	r := resp.(*kmsg.AlterConfigsResponse)
	if len(r.Resources) != 1 {
		return fmt.Errorf("controller: malformed AlterConfigs response")
	}
	return forwardError(r.Resources[0].ErrorCode, r.Resources[0].ErrorMessage)
}
