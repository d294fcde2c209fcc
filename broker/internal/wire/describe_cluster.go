package wire

// DescribeCluster (key 60), versions 0-1.
// Answers the cluster id, the active controller (the metadata quorum's
// leader) and the live brokers with their advertised hosts, ports and racks.
// v1's EndpointType must be brokers (1): controllers (2) answer
// MISMATCHED_ENDPOINT_TYPE, anything else UNSUPPORTED_ENDPOINT_TYPE, as in
// Kafka. There is no authorizer, so asking for the cluster's authorized
// operations returns every operation Kafka defines on a cluster.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kspring/kspring/broker/internal/cluster"
)

func init() { register(60, 0, 1, handler((*Server).handleDescribeCluster)) }

// Endpoint types of DescribeCluster v1 (KIP-919).
const (
	endpointBrokers     = 1
	endpointControllers = 2
)

// clusterOperations is the authorized-operations bitfield of a cluster
// resource with no authorizer: every operation Kafka supports on a cluster.
const clusterOperations int32 = 1<<kmsg.ACLOperationCreate | 1<<kmsg.ACLOperationAlter |
	1<<kmsg.ACLOperationDescribe | 1<<kmsg.ACLOperationClusterAction | 1<<kmsg.ACLOperationDescribeConfigs |
	1<<kmsg.ACLOperationAlterConfigs | 1<<kmsg.ACLOperationIdempotentWrite

func (s *Server) handleDescribeCluster(_ context.Context, req *Request, body *kmsg.DescribeClusterRequest) (kmsg.Response, error) {
	resp := body.ResponseKind().(*kmsg.DescribeClusterResponse)
	resp.SetVersion(body.Version)
	resp.EndpointType = body.EndpointType
	if !s.authorizeCluster(req, kmsg.ACLOperationDescribe) {
		resp.ErrorCode = kerr.ClusterAuthorizationFailed.Code
		return resp, nil
	}
	switch body.EndpointType {
	case endpointBrokers:
	case endpointControllers:
		resp.ErrorCode = kerr.MismatchedEndpointType.Code
		resp.ErrorMessage = kmsg.StringPtr("this is a broker endpoint; controllers are not exposed separately (send endpoint type 1)")
		return resp, nil
	default:
		resp.ErrorCode = kerr.UnsupportedEndpointType.Code
		resp.ErrorMessage = kmsg.StringPtr("unsupported endpoint type")
		return resp, nil
	}
	st := s.meta.State()
	resp.ClusterID = st.ClusterID
	resp.ControllerID = s.controllerID(st)
	for _, mb := range s.liveBrokers(st, req) {
		b := kmsg.NewDescribeClusterResponseBroker()
		b.NodeID, b.Host, b.Port, b.Rack = mb.NodeID, mb.Host, mb.Port, mb.Rack
		resp.Brokers = append(resp.Brokers, b)
	}
	if body.IncludeClusterAuthorizedOperations {
		resp.ClusterAuthorizedOperations = clusterOperations
		if s.authz.Enabled {
			resp.ClusterAuthorizedOperations = s.authorizedOperations(req, cluster.ResourceCluster, clusterName, clusterOperationsByACL)
		}
	}
	return resp, nil
}
