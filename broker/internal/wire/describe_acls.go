package wire

// DescribeAcls (key 29), versions 0-3.
// Lists the ACLs of the metadata quorum that pass the filter (see
// aclFilter), grouped by resource. Needs Describe on the cluster. v0
// filters have no pattern type and match LITERAL bindings, as Kafka's.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(29, 0, 3, handler((*Server).handleDescribeAcls)) }

func (s *Server) handleDescribeAcls(_ context.Context, req *Request, body *kmsg.DescribeACLsRequest) (kmsg.Response, error) {
	resp := body.ResponseKind().(*kmsg.DescribeACLsResponse)
	resp.SetVersion(body.Version)
	if !s.authorizeCluster(req, kmsg.ACLOperationDescribe) {
		resp.ErrorCode = kerr.ClusterAuthorizationFailed.Code
		resp.ErrorMessage = kmsg.StringPtr("Authorization failed.")
		return resp, nil
	}
	f := aclFilter{resourceType: body.ResourceType, name: body.ResourceName, pattern: body.ResourcePatternType,
		principal: body.Principal, host: body.Host, operation: body.Operation, permission: body.PermissionType}
	if body.Version == 0 {
		f.pattern = kmsg.ACLResourcePatternTypeLiteral
	}
	if why := f.invalid(); why != "" {
		resp.ErrorCode = kerr.InvalidRequest.Code
		resp.ErrorMessage = kmsg.StringPtr("invalid filter: " + why)
		return resp, nil
	}
	index := map[[3]string]int{}
	for _, a := range s.meta.State().ACLs {
		if !f.matches(a) {
			continue
		}
		k := [3]string{string(rune(a.ResourceType)), a.ResourceName, string(rune(a.PatternType))}
		i, ok := index[k]
		if !ok {
			r := kmsg.NewDescribeACLsResponseResource()
			r.ResourceType, r.ResourceName = kmsg.ACLResourceType(a.ResourceType), a.ResourceName
			r.ResourcePatternType = kmsg.ACLResourcePatternType(a.PatternType)
			i = len(resp.Resources)
			index[k] = i
			resp.Resources = append(resp.Resources, r)
		}
		ra := kmsg.NewDescribeACLsResponseResourceACL()
		ra.Principal, ra.Host = a.Principal, a.Host
		ra.Operation, ra.PermissionType = kmsg.ACLOperation(a.Operation), kmsg.ACLPermissionType(a.Permission)
		resp.Resources[i].ACLs = append(resp.Resources[i].ACLs, ra)
	}
	return resp, nil
}
