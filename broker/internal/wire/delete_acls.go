package wire

// DeleteAcls (key 31), versions 0-3.
// Deletes the ACLs of the metadata quorum that pass each filter (see
// aclFilter) and returns them per filter. On a broker that is not the
// active controller the request goes to the controller as it is. Needs
// Alter on the cluster. v0 filters match LITERAL bindings.

import (
	"context"
	"errors"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"

	"github.com/kspring/kspring/broker/internal/cluster"
)

func init() { register(31, 0, 3, handler((*Server).handleDeleteAcls)) }

func (s *Server) handleDeleteAcls(ctx context.Context, req *Request, body *kmsg.DeleteACLsRequest) (kmsg.Response, error) {
	resp := body.ResponseKind().(*kmsg.DeleteACLsResponse)
	resp.SetVersion(body.Version)
	results := make([]kmsg.DeleteACLsResponseResult, len(body.Filters))
	for i := range results {
		results[i] = kmsg.NewDeleteACLsResponseResult()
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
	acls := s.meta.State().ACLs
	var doomed []cluster.ACL
	matched := make([][]cluster.ACL, len(body.Filters))
	for i, rf := range body.Filters {
		f := aclFilter{resourceType: rf.ResourceType, name: rf.ResourceName, pattern: rf.ResourcePatternType,
			principal: rf.Principal, host: rf.Host, operation: rf.Operation, permission: rf.PermissionType}
		if body.Version == 0 {
			f.pattern = kmsg.ACLResourcePatternTypeLiteral
		}
		if why := f.invalid(); why != "" {
			fail(i, kerr.InvalidRequest, "invalid filter: "+why)
			continue
		}
		for _, a := range acls {
			if f.matches(a) {
				matched[i] = append(matched[i], a)
				if !slices.Contains(doomed, a) {
					doomed = append(doomed, a)
				}
			}
		}
	}
	if len(doomed) > 0 {
		deleted, err := s.admin.DeleteACLs(ctx, doomed)
		if err != nil {
			e := kerr.UnknownServerError
			if errors.Is(err, cluster.ErrNotController) {
				e = kerr.NotController
			}
			s.logger.Warn("deleting ACLs failed", zap.Error(err))
			for i := range results {
				if results[i].ErrorCode == 0 {
					fail(i, e, err.Error())
				}
			}
			return finish()
		}
		for i, m := range matched {
			for _, a := range m {
				if !slices.Contains(deleted, a) {
					continue // deleted by a request in between
				}
				ma := kmsg.NewDeleteACLsResponseResultMatchingACL()
				ma.ResourceType, ma.ResourceName = kmsg.ACLResourceType(a.ResourceType), a.ResourceName
				ma.ResourcePatternType = kmsg.ACLResourcePatternType(a.PatternType)
				ma.Principal, ma.Host = a.Principal, a.Host
				ma.Operation, ma.PermissionType = kmsg.ACLOperation(a.Operation), kmsg.ACLPermissionType(a.Permission)
				results[i].MatchingACLs = append(results[i].MatchingACLs, ma)
			}
		}
	}
	return finish()
}
