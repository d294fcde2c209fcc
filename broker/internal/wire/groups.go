package wire

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kspring/kspring/broker/internal/group"
)

// Groups is the group coordinator (package group) as the handlers use it.
// Each method answers one request; JoinGroup may block until the rebalance
// completes or ctx ends.
type Groups interface {
	PartitionFor(group string) int32
	JoinGroup(ctx context.Context, req *kmsg.JoinGroupRequest) *kmsg.JoinGroupResponse
	SyncGroup(ctx context.Context, req *kmsg.SyncGroupRequest) *kmsg.SyncGroupResponse
	Heartbeat(ctx context.Context, req *kmsg.HeartbeatRequest) *kmsg.HeartbeatResponse
	LeaveGroup(ctx context.Context, req *kmsg.LeaveGroupRequest) *kmsg.LeaveGroupResponse
	OffsetCommit(ctx context.Context, req *kmsg.OffsetCommitRequest) *kmsg.OffsetCommitResponse
	OffsetFetch(ctx context.Context, req *kmsg.OffsetFetchRequest) *kmsg.OffsetFetchResponse
	DescribeGroups(ctx context.Context, req *kmsg.DescribeGroupsRequest) *kmsg.DescribeGroupsResponse
	ListGroups(ctx context.Context, req *kmsg.ListGroupsRequest) *kmsg.ListGroupsResponse
	DeleteGroups(ctx context.Context, req *kmsg.DeleteGroupsRequest) *kmsg.DeleteGroupsResponse
	OffsetDelete(ctx context.Context, req *kmsg.OffsetDeleteRequest) *kmsg.OffsetDeleteResponse
	TxnOffsetCommit(ctx context.Context, req *kmsg.TxnOffsetCommitRequest) *kmsg.TxnOffsetCommitResponse
	// CompleteTxn tells the coordinator that a marker of producerID's
	// transaction is replicated on __consumer_offsets partition
	// partition: its transactional offsets there are committed or
	// dropped.
	CompleteTxn(partition int32, producerID int64, commit bool)
}

// groupAPI adapts a Groups method to the dispatch table.
func groupAPI[R kmsg.Request, P kmsg.Response](fn func(Groups, context.Context, R) P) func(*Server, context.Context, *Request) (kmsg.Response, error) {
	return handler(func(s *Server, ctx context.Context, req *Request, body R) (kmsg.Response, error) {
		// Member ids and DescribeGroups show the client's id and host.
		ctx = group.WithClient(ctx, clientID(req), req.ClientHost())
		return fn(s.groups, ctx, body), nil
	})
}
