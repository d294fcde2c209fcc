package wire

// The controller's APIs, which brokers of the cluster send to the active
// controller (KRaft's broker-to-controller channel):
//   - BrokerRegistration (key 62), versions 0-4;
//   - BrokerHeartbeat (key 63), versions 0-2;
//   - AlterPartition (key 56), versions 0-3;
//   - AllocateProducerIds (key 67), version 0.
// A broker that is not the active controller answers NOT_CONTROLLER, and the
// sender finds the controller again. These are not for clients: ApiVersions
// advertises them as Kafka's controllers do.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() {
	register(62, 0, 4, handler(func(s *Server, ctx context.Context, _ *Request, r *kmsg.BrokerRegistrationRequest) (kmsg.Response, error) {
		if s.ctrl == nil {
			resp := r.ResponseKind().(*kmsg.BrokerRegistrationResponse)
			resp.SetVersion(r.Version)
			resp.ErrorCode = kerr.NotController.Code
			return resp, nil
		}
		return s.ctrl.BrokerRegistration(ctx, r), nil
	}))
	register(63, 0, 2, handler(func(s *Server, ctx context.Context, _ *Request, r *kmsg.BrokerHeartbeatRequest) (kmsg.Response, error) {
		if s.ctrl == nil {
			resp := r.ResponseKind().(*kmsg.BrokerHeartbeatResponse)
			resp.SetVersion(r.Version)
			resp.ErrorCode = kerr.NotController.Code
			return resp, nil
		}
		return s.ctrl.BrokerHeartbeat(ctx, r), nil
	}))
	register(56, 0, 3, handler(func(s *Server, ctx context.Context, _ *Request, r *kmsg.AlterPartitionRequest) (kmsg.Response, error) {
		if s.ctrl == nil {
			resp := r.ResponseKind().(*kmsg.AlterPartitionResponse)
			resp.SetVersion(r.Version)
			resp.ErrorCode = kerr.NotController.Code
			return resp, nil
		}
		return s.ctrl.AlterPartition(ctx, r), nil
	}))
	register(67, 0, 0, handler(func(s *Server, ctx context.Context, _ *Request, r *kmsg.AllocateProducerIDsRequest) (kmsg.Response, error) {
		if s.ctrl == nil {
			resp := r.ResponseKind().(*kmsg.AllocateProducerIDsResponse)
			resp.SetVersion(r.Version)
			resp.ErrorCode = kerr.NotController.Code
			return resp, nil
		}
		return s.ctrl.AllocateProducerIDs(ctx, r), nil
	}))
}
