package wire

// DescribeUserScramCredentials (key 50), version 0.
// Lists the SCRAM mechanisms and iterations of the users asked for (null:
// every user with a credential) from this broker's metadata. A user asked
// for twice gets DUPLICATE_RESOURCE, an unknown one RESOURCE_NOT_FOUND, as
// in Kafka. Needs Describe on the cluster when ACLs are on.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() {
	register(50, 0, 0, handler((*Server).handleDescribeUserScramCredentials))
}

func (s *Server) handleDescribeUserScramCredentials(_ context.Context, req *Request, body *kmsg.DescribeUserSCRAMCredentialsRequest) (kmsg.Response, error) {
	resp := body.ResponseKind().(*kmsg.DescribeUserSCRAMCredentialsResponse)
	resp.SetVersion(body.Version)
	if !s.authorizeCluster(req, kmsg.ACLOperationDescribe) {
		resp.ErrorCode = kerr.ClusterAuthorizationFailed.Code
		return resp, nil
	}
	st := s.meta.State()
	byUser := map[string][]kmsg.DescribeUserSCRAMCredentialsResponseResultCredentialInfo{}
	var order []string
	for _, c := range st.ScramUsers() {
		if _, ok := byUser[c.User]; !ok {
			order = append(order, c.User)
		}
		ci := kmsg.NewDescribeUserSCRAMCredentialsResponseResultCredentialInfo()
		ci.Mechanism, ci.Iterations = scramMechanismCode(c.Mechanism), c.Iterations
		byUser[c.User] = append(byUser[c.User], ci)
	}
	result := func(user string) kmsg.DescribeUserSCRAMCredentialsResponseResult {
		r := kmsg.NewDescribeUserSCRAMCredentialsResponseResult()
		r.User = user
		if infos, ok := byUser[user]; ok {
			r.CredentialInfos = infos
		} else {
			r.ErrorCode = kerr.ResourceNotFound.Code
			r.ErrorMessage = kmsg.StringPtr("Attempt to describe a user credential that does not exist: " + user)
		}
		return r
	}
	if body.Users == nil {
		for _, u := range order {
			resp.Results = append(resp.Results, result(u))
		}
		return resp, nil
	}
	seen := map[string]int{}
	for _, u := range body.Users {
		seen[u.Name]++
	}
	for _, u := range body.Users {
		switch seen[u.Name] {
		case 0: // answered already
		case 1:
			resp.Results = append(resp.Results, result(u.Name))
		default:
			r := kmsg.NewDescribeUserSCRAMCredentialsResponseResult()
			r.User, r.ErrorCode = u.Name, kerr.DuplicateResource.Code
			r.ErrorMessage = kmsg.StringPtr("Cannot describe SCRAM credentials for the same user twice in a single request: " + u.Name)
			resp.Results = append(resp.Results, r)
		}
		seen[u.Name] = 0
	}
	return resp, nil
}
