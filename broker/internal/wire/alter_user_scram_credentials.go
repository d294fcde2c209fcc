package wire

// AlterUserScramCredentials (key 51), version 0.
// Upserts and deletes SCRAM credentials in the metadata quorum. A client
// sends the salt and the salted password (never the password); the broker
// keeps only the derived stored and server keys. On a broker that is not the
// active controller, the request goes to the controller as it is.
// Per-user errors as Kafka's: UNSUPPORTED_SASL_MECHANISM,
// UNACCEPTABLE_CREDENTIAL (iterations outside 4096-16384, empty salt or
// password), RESOURCE_NOT_FOUND (deleting a missing credential),
// DUPLICATE_RESOURCE (a user twice in one request). Needs Alter on the
// cluster when ACLs are on.

import (
	"context"
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"

	"github.com/kspring/kspring/broker/internal/cluster"
	"github.com/kspring/kspring/broker/internal/sasl"
)

func init() {
	register(51, 0, 0, handler((*Server).handleAlterUserScramCredentials))
}

func (s *Server) handleAlterUserScramCredentials(ctx context.Context, req *Request, body *kmsg.AlterUserSCRAMCredentialsRequest) (kmsg.Response, error) {
	resp := body.ResponseKind().(*kmsg.AlterUserSCRAMCredentialsResponse)
	resp.SetVersion(body.Version)
	results := map[string]*kmsg.AlterUserSCRAMCredentialsResponseResult{}
	var order []string
	set := func(user string, code int16, msg string) {
		r, ok := results[user]
		if !ok {
			nr := kmsg.NewAlterUserSCRAMCredentialsResponseResult()
			nr.User = user
			r = &nr
			results[user] = r
			order = append(order, user)
		}
		if r.ErrorCode == 0 && code != 0 {
			r.ErrorCode = code
			if msg != "" {
				r.ErrorMessage = &msg
			}
		}
	}
	finish := func() (kmsg.Response, error) {
		for _, u := range order {
			resp.Results = append(resp.Results, *results[u])
		}
		return resp, nil
	}
	count := map[string]int{}
	for _, d := range body.Deletions {
		count[d.Name]++
	}
	for _, u := range body.Upsertions {
		count[u.Name]++
	}
	if !s.authorizeCluster(req, kmsg.ACLOperationAlter) {
		for u := range count {
			set(u, kerr.ClusterAuthorizationFailed.Code, "")
		}
		return finish()
	}
	if s.admin == nil || !s.admin.Local() {
		if s.admin == nil {
			for u := range count {
				set(u, kerr.NotController.Code, "")
			}
			return finish()
		}
		fr, err := s.admin.Forward(ctx, body)
		if err != nil {
			s.logger.Warn("forwarding AlterUserScramCredentials to the controller failed", zap.Error(err))
			for u := range count {
				set(u, kerr.NotController.Code, err.Error())
			}
			return finish()
		}
		r := fr.(*kmsg.AlterUserSCRAMCredentialsResponse)
		r.SetVersion(body.Version)
		return r, nil
	}
	for u, n := range count {
		if n > 1 {
			set(u, kerr.DuplicateResource.Code, "A user credential cannot be altered twice in the same request")
		}
	}
	done := func(user string, err error) {
		switch {
		case err == nil:
			set(user, 0, "")
		case errors.Is(err, cluster.ErrNoSuchCredential):
			set(user, kerr.ResourceNotFound.Code, "Attempt to delete a user credential that does not exist")
		case errors.Is(err, cluster.ErrNotController):
			set(user, kerr.NotController.Code, "")
		default:
			set(user, kerr.UnknownServerError.Code, err.Error())
		}
	}
	for _, d := range body.Deletions {
		if count[d.Name] > 1 {
			continue
		}
		mech, ok := scramMechanism(d.Mechanism)
		switch {
		case d.Name == "":
			set(d.Name, kerr.UnacceptableCredential.Code, "Username must not be empty")
		case !ok:
			set(d.Name, kerr.UnsupportedSaslMechanism.Code, "Unknown SCRAM mechanism")
		default:
			done(d.Name, s.admin.DeleteScram(ctx, d.Name, mech))
		}
	}
	for _, u := range body.Upsertions {
		if count[u.Name] > 1 {
			continue
		}
		mech, ok := scramMechanism(u.Mechanism)
		switch {
		case u.Name == "":
			set(u.Name, kerr.UnacceptableCredential.Code, "Username must not be empty")
			continue
		case !ok:
			set(u.Name, kerr.UnsupportedSaslMechanism.Code, "Unknown SCRAM mechanism")
			continue
		case u.Iterations < sasl.MinIterations:
			set(u.Name, kerr.UnacceptableCredential.Code, "Too few iterations")
			continue
		case u.Iterations > sasl.MaxIterations:
			set(u.Name, kerr.UnacceptableCredential.Code, "Too many iterations")
			continue
		case len(u.Salt) == 0 || len(u.SaltedPassword) == 0:
			set(u.Name, kerr.UnacceptableCredential.Code, "Salt and salted password must not be empty")
			continue
		}
		cred, err := sasl.FromSaltedPassword(mech, u.Salt, u.SaltedPassword, u.Iterations)
		if err != nil {
			set(u.Name, kerr.UnsupportedSaslMechanism.Code, err.Error())
			continue
		}
		done(u.Name, s.admin.SetScram(ctx, cluster.ScramCredential{User: u.Name, Mechanism: mech,
			Salt: cred.Salt, StoredKey: cred.StoredKey, ServerKey: cred.ServerKey, Iterations: cred.Iterations}))
	}
	return finish()
}
