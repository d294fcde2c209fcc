package wire

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kspring/kspring/broker/internal/cluster"
)

// SecurityAdmin changes the SCRAM credentials and ACLs of the metadata
// quorum. Changes are made where Local reports true (the active
// controller); elsewhere the handlers Forward the client's request to the
// controller and answer with its response. Implementations must be safe for
// concurrent use.
type SecurityAdmin interface {
	Local() bool
	Forward(ctx context.Context, req kmsg.Request) (kmsg.Response, error)
	SetScram(ctx context.Context, c cluster.ScramCredential) error
	DeleteScram(ctx context.Context, user, mechanism string) error
	CreateACLs(ctx context.Context, acls []cluster.ACL) error
	DeleteACLs(ctx context.Context, acls []cluster.ACL) ([]cluster.ACL, error)
}

// WithSecurityAdmin serves DescribeUserScramCredentials,
// AlterUserScramCredentials and the ACL APIs through a; without it the
// changing APIs answer NOT_CONTROLLER.
func WithSecurityAdmin(a SecurityAdmin) Option { return func(s *Server) { s.admin = a } }

// scramMechanism maps kmsg's SCRAM mechanism numbers to names.
func scramMechanism(m int8) (string, bool) {
	switch m {
	case 1:
		return "SCRAM-SHA-256", true
	case 2:
		return "SCRAM-SHA-512", true
	}
	return "", false
}

func scramMechanismCode(name string) int8 {
	if name == "SCRAM-SHA-512" {
		return 2
	}
	return 1
}
