package wire

// CreateAcls (key 30), versions 0-3.
// Adds ACL bindings to the metadata quorum; a binding that exists stays
// one. Each creation is checked as Kafka checks it (INVALID_REQUEST with the
// reason). On a broker that is not the active controller the request goes
// to the controller as it is. Needs Alter on the cluster. v0 creations are
// LITERAL.

import (
	"context"
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"

	"github.com/kspring/kspring/broker/internal/cluster"
)

func init() { register(30, 0, 3, handler((*Server).handleCreateAcls)) }

func (s *Server) handleCreateAcls(ctx context.Context, req *Request, body *kmsg.CreateACLsRequest) (kmsg.Response, error) {
	resp := body.ResponseKind().(*kmsg.CreateACLsResponse)
	resp.SetVersion(body.Version)
	results := make([]kmsg.CreateACLsResponseResult, len(body.Creations))
	for i := range results {
		results[i] = kmsg.NewCreateACLsResponseResult()
	}
	fail := func(i int, e *kerr.Error, msg string) {
		results[i].ErrorCode, results[i].ErrorMessage = e.Code, &msg
	}
	finish := func() (kmsg.Response, error) {
		resp.Results = results
		return resp, nil
	}
	if !s.authorizeCluster(req, kmsg.ACLOperationAlter) {
		for i := range results {
			fail(i, kerr.ClusterAuthorizationFailed, "Authorization failed.")
		}
		return finish()
	}
	if s.admin == nil || !s.admin.Local() {
		return s.forwardACLs(ctx, body, func(msg string) (kmsg.Response, error) {
			for i := range results {
				fail(i, kerr.NotController, msg)
			}
			return finish()
		})
	}
	var valid []cluster.ACL
	var at []int
	for i, c := range body.Creations {
		if body.Version == 0 {
			c.ResourcePatternType = kmsg.ACLResourcePatternTypeLiteral
		}
		a, why := newBinding(c)
		if why != "" {
			fail(i, kerr.InvalidRequest, why)
			continue
		}
		valid, at = append(valid, a), append(at, i)
	}
	if len(valid) == 0 {
		return finish()
	}
	if err := s.admin.CreateACLs(ctx, valid); err != nil {
		e := kerr.UnknownServerError
		if errors.Is(err, cluster.ErrNotController) {
			e = kerr.NotController
		}
		s.logger.Warn("creating ACLs failed", zap.Error(err))
		for _, i := range at {
			fail(i, e, err.Error())
		}
	}
	return finish()
}

// forwardACLs sends an ACL change to the active controller and answers
// with its response; failed answers the request if that cannot be done.
func (s *Server) forwardACLs(ctx context.Context, body kmsg.Request, failed func(msg string) (kmsg.Response, error)) (kmsg.Response, error) {
	if s.admin == nil {
		return failed("this broker cannot change ACLs")
	}
	fr, err := s.admin.Forward(ctx, body)
	if err != nil {
		s.logger.Warn("forwarding an ACL change to the controller failed", zap.Error(err))
		return failed(err.Error())
	}
	fr.SetVersion(body.GetVersion())
	return fr, nil
}
