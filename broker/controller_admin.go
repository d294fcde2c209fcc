package broker

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

// Partition administration that only the active controller does:
// preferred leader election and reassignments. A broker that is not the
// controller forwards the request to it, so any broker answers.

// forward sends req to the active controller when this node is not it.
// handled is false when this node is the controller and must answer.
func (c *controller) forward(ctx context.Context, req kmsg.Request) (resp kmsg.Response, handled bool, err error) {
	if c.meta.IsController() {
		return nil, false, nil
	}
	if c.member == nil {
		return nil, true, errNoController
	}
	resp, err = c.member.call(ctx, req)
	return resp, true, err
}

// ElectLeaders runs preferred leader elections (ElectionType 0). Unclean
// elections (type 1) are refused: unclean.leader.election.enable is off in
// kspring, as it is by default in Kafka.
func (c *controller) ElectLeaders(ctx context.Context, req *kmsg.ElectLeadersRequest) *kmsg.ElectLeadersResponse {
	resp := req.ResponseKind().(*kmsg.ElectLeadersResponse)
	resp.SetVersion(req.Version)
	if fwd, handled, err := c.forward(ctx, req); handled {
		if err != nil {
			resp.ErrorCode = kerr.NotController.Code
			return resp
		}
		return fwd.(*kmsg.ElectLeadersResponse)
	}
	if !c.isActive() {
		resp.ErrorCode = kerr.NotController.Code
		return resp
	}
	st := c.meta.State()
	topics := req.Topics
	if topics == nil { // every partition
		for _, t := range st.SortedTopics() {
			rt := kmsg.NewElectLeadersRequestTopic()
			rt.Topic = t.Name
			for i := range t.Partitions {
				rt.Partitions = append(rt.Partitions, i)
			}
			topics = append(topics, rt)
		}
	}
	for _, rt := range topics {
		st := kmsg.NewElectLeadersResponseTopic()
		st.Topic = rt.Topic
		for _, p := range rt.Partitions {
			sp := kmsg.NewElectLeadersResponseTopicPartition()
			sp.Partition = p
			code, msg := c.electPreferred(ctx, req.ElectionType, rt.Topic, p)
			sp.ErrorCode = code
			if msg != "" {
				sp.ErrorMessage = &msg
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp
}

func (c *controller) electPreferred(ctx context.Context, kind int8, topic string, index int32) (int16, string) {
	if kind != 0 {
		return kerr.InvalidRequest.Code, "unclean leader election is not supported: it loses acknowledged records"
	}
	t, ok := c.meta.State().Topics[topic]
	if !ok {
		return kerr.UnknownTopicOrPartition.Code, ""
	}
	p, ok := t.PartitionState(index)
	if !ok {
		return kerr.UnknownTopicOrPartition.Code, ""
	}
	if p.Leader == p.Replicas[0] {
		return kerr.ElectionNotNeeded.Code, fmt.Sprintf("%s-%d is led by its preferred replica %d", topic, index, p.Leader)
	}
	_, err := c.meta.ElectPreferred(ctx, topic, index)
	switch {
	case errors.Is(err, cluster.ErrIneligibleReplica):
		return kerr.PreferredLeaderNotAvailable.Code, err.Error()
	case err != nil:
		return metaErrorCode(err), err.Error()
	}
	c.logger.Info("preferred leader elected", zap.String("topic", topic), zap.Int32("partition", index), zap.Int32("leader", p.Replicas[0]))
	return 0, ""
}

// AlterPartitionAssignments starts (or, with null replicas, cancels)
// partition reassignments. New replicas catch up as followers; the
// controller completes each move once they are in sync (see
// completeReassignments).
func (c *controller) AlterPartitionAssignments(ctx context.Context, req *kmsg.AlterPartitionAssignmentsRequest) *kmsg.AlterPartitionAssignmentsResponse {
	resp := req.ResponseKind().(*kmsg.AlterPartitionAssignmentsResponse)
	resp.SetVersion(req.Version)
	if fwd, handled, err := c.forward(ctx, req); handled {
		if err != nil {
			resp.ErrorCode = kerr.NotController.Code
			return resp
		}
		return fwd.(*kmsg.AlterPartitionAssignmentsResponse)
	}
	if !c.isActive() {
		resp.ErrorCode = kerr.NotController.Code
		return resp
	}
	for _, rt := range req.Topics {
		st := kmsg.NewAlterPartitionAssignmentsResponseTopic()
		st.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			sp := kmsg.NewAlterPartitionAssignmentsResponseTopicPartition()
			sp.Partition = rp.Partition
			var err error
			if rp.Replicas == nil {
				_, err = c.meta.CancelReassignment(ctx, rt.Topic, rp.Partition)
			} else {
				err = c.checkReassignment(req, rt.Topic, rp)
				if err == nil {
					_, err = c.meta.Reassign(ctx, rt.Topic, rp.Partition, rp.Replicas)
				}
			}
			if err != nil {
				sp.ErrorCode = reassignErrorCode(err)
				msg := err.Error()
				sp.ErrorMessage = &msg
			} else {
				c.logger.Info("reassigning partition", zap.String("topic", rt.Topic), zap.Int32("partition", rp.Partition),
					zap.Int32s("replicas", rp.Replicas))
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp
}

// errRFChange: a reassignment that changes the replication factor, which
// Kafka allows only with AllowReplicationFactorChange (v1+).
var errRFChange = errors.New("the reassignment changes the replication factor")

func (c *controller) checkReassignment(req *kmsg.AlterPartitionAssignmentsRequest, topic string, rp kmsg.AlterPartitionAssignmentsRequestTopicPartition) error {
	t, ok := c.meta.State().Topics[topic]
	if !ok {
		return fmt.Errorf("topic %q: %w", topic, cluster.ErrNoSuchTopic)
	}
	p, ok := t.PartitionState(rp.Partition)
	if !ok {
		return fmt.Errorf("%s-%d: %w", topic, rp.Partition, cluster.ErrNoSuchPartition)
	}
	size := len(p.Replicas) - len(p.Adding)
	if len(rp.Replicas) != size && !(req.Version >= 1 && req.AllowReplicationFactorChange) {
		return fmt.Errorf("%s-%d has %d replicas, the target %d: %w", topic, rp.Partition, size, len(rp.Replicas), errRFChange)
	}
	return nil
}

func reassignErrorCode(err error) int16 {
	switch {
	case errors.Is(err, errRFChange):
		return kerr.InvalidReplicationFactor.Code
	case errors.Is(err, cluster.ErrNoReassignment):
		return kerr.NoReassignmentInProgress.Code
	case errors.Is(err, cluster.ErrIneligibleReplica), errors.Is(err, cluster.ErrReplicationFactor):
		return kerr.InvalidReplicaAssignment.Code
	}
	return metaErrorCode(err)
}

// ListPartitionReassignments lists the reassignments under way.
func (c *controller) ListPartitionReassignments(ctx context.Context, req *kmsg.ListPartitionReassignmentsRequest) *kmsg.ListPartitionReassignmentsResponse {
	resp := req.ResponseKind().(*kmsg.ListPartitionReassignmentsResponse)
	resp.SetVersion(req.Version)
	if fwd, handled, err := c.forward(ctx, req); handled {
		if err != nil {
			resp.ErrorCode = kerr.NotController.Code
			return resp
		}
		return fwd.(*kmsg.ListPartitionReassignmentsResponse)
	}
	st := c.meta.State()
	want := func(topic string, p int32) bool {
		if req.Topics == nil {
			return true
		}
		for _, rt := range req.Topics {
			if rt.Topic == topic && slices.Contains(rt.Partitions, p) {
				return true
			}
		}
		return false
	}
	for _, t := range st.SortedTopics() {
		var rt *kmsg.ListPartitionReassignmentsResponseTopic
		for i, p := range t.Assignment {
			if !p.Reassigning() || !want(t.Name, int32(i)) {
				continue
			}
			if rt == nil {
				resp.Topics = append(resp.Topics, kmsg.NewListPartitionReassignmentsResponseTopic())
				rt = &resp.Topics[len(resp.Topics)-1]
				rt.Topic = t.Name
			}
			sp := kmsg.NewListPartitionReassignmentsResponseTopicPartition()
			sp.Partition = int32(i)
			sp.Replicas, sp.AddingReplicas, sp.RemovingReplicas = p.Replicas, p.Adding, p.Removing
			rt.Partitions = append(rt.Partitions, sp)
		}
	}
	return resp
}

// completeReassignments ends the reassignments whose added replicas have
// all joined the ISR.
func (c *controller) completeReassignments(ctx context.Context) {
	for _, t := range c.meta.State().Topics {
		for i, p := range t.Assignment {
			if !p.Reassigning() || !isSubset(p.Adding, p.ISR) {
				continue
			}
			np, err := c.meta.CompleteReassignment(ctx, t.Name, int32(i))
			if err != nil {
				c.logger.Warn("completing a reassignment failed", zap.String("topic", t.Name), zap.Int32("partition", int32(i)), zap.Error(err))
				continue
			}
			c.logger.Info("reassignment completed", zap.String("topic", t.Name), zap.Int32("partition", int32(i)),
				zap.Int32s("replicas", np.Replicas), zap.Int32("leader", np.Leader))
		}
	}
}

func isSubset(a, b []int32) bool {
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}
