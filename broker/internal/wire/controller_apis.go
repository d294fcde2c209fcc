package wire

// The controller's APIs, answered by the active controller through the
// Controller the broker gives the Server (a broker that is not the active
// controller answers NOT_CONTROLLER, or forwards where Kafka's brokers do):
//   - BrokerRegistration (key 62), versions 0-4, BrokerHeartbeat (key 63),
//     versions 0-2, AlterPartition (key 56), versions 0-3, and
//     AllocateProducerIds (key 67), version 0: what brokers of the cluster
//     send the controller (KRaft's broker-to-controller channel);
//   - ElectLeaders (key 43), versions 0-2: preferred leader elections; an
//     unclean election is refused (INVALID_REQUEST), as
//     unclean.leader.election.enable is off;
//   - AlterPartitionReassignments (key 45), versions 0-1: new replicas catch
//     up as followers and the move completes once they are in sync; null
//     replicas cancel a move;
//   - ListPartitionReassignments (key 46), version 0.
// Any broker answers the admin APIs, forwarding them to the controller.
// With ACLs on, the brokers' APIs need ClusterAction on the cluster, the
// elections and reassignments Alter, their listing Describe
// (CLUSTER_AUTHORIZATION_FAILED otherwise).

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() {
	register(62, 0, 4, controllerAPI(Controller.BrokerRegistration))
	register(63, 0, 2, controllerAPI(Controller.BrokerHeartbeat))
	register(56, 0, 3, controllerAPI(Controller.AlterPartition))
	register(67, 0, 0, controllerAPI(Controller.AllocateProducerIDs))
	register(43, 0, 2, controllerAPI(Controller.ElectLeaders))
	register(45, 0, 1, controllerAPI(Controller.AlterPartitionAssignments))
	register(46, 0, 0, controllerAPI(Controller.ListPartitionReassignments))
}

// controllerAPI adapts a Controller method to the dispatch table. A Server
// made without a Controller closes the connection on these APIs.
func controllerAPI[R kmsg.Request, P kmsg.Response](fn func(Controller, context.Context, R) P) func(*Server, context.Context, *Request) (kmsg.Response, error) {
	return handler(func(s *Server, ctx context.Context, req *Request, body R) (kmsg.Response, error) {
		if s.ctrl == nil {
			return nil, errClose{fmt.Sprintf("%s: this server has no controller", kmsg.NameForKey(body.Key()))}
		}
		if !s.authorizeCluster(req, controllerOperation(body.Key())) {
			return clusterDenied(body), nil
		}
		return fn(s.ctrl, ctx, body), nil
	})
}

// controllerOperation is the cluster operation a controller API needs.
func controllerOperation(key int16) kmsg.ACLOperation {
	switch key {
	case 43, 45: // ElectLeaders, AlterPartitionReassignments
		return kmsg.ACLOperationAlter
	case 46: // ListPartitionReassignments
		return kmsg.ACLOperationDescribe
	}
	return kmsg.ACLOperationClusterAction
}

// clusterDenied answers a controller API with CLUSTER_AUTHORIZATION_FAILED.
func clusterDenied(body kmsg.Request) kmsg.Response {
	resp := body.ResponseKind()
	resp.SetVersion(body.GetVersion())
	code := kerr.ClusterAuthorizationFailed.Code
	switch r := resp.(type) {
	case *kmsg.BrokerRegistrationResponse:
		r.ErrorCode = code
	case *kmsg.BrokerHeartbeatResponse:
		r.ErrorCode = code
	case *kmsg.AlterPartitionResponse:
		r.ErrorCode = code
	case *kmsg.AllocateProducerIDsResponse:
		r.ErrorCode = code
	case *kmsg.ElectLeadersResponse:
		r.ErrorCode = code
	case *kmsg.AlterPartitionAssignmentsResponse:
		r.ErrorCode = code
	case *kmsg.ListPartitionReassignmentsResponse:
		r.ErrorCode = code
	}
	return resp
}
