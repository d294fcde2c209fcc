package cluster

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// The security part of the metadata: SCRAM credentials (Kafka's
// UserScramCredentialRecord) and ACLs (AccessControlEntryRecord), applied
// alike on every node.

// ScramCredential is a user's SCRAM credential for one mechanism. It holds
// the salted keys, never the password.
type ScramCredential struct {
	User       string `json:"user"`
	Mechanism  string `json:"mechanism"` // SCRAM-SHA-256 or SCRAM-SHA-512
	Salt       []byte `json:"salt,omitempty"`
	StoredKey  []byte `json:"storedKey,omitempty"`
	ServerKey  []byte `json:"serverKey,omitempty"`
	Iterations int32  `json:"iterations,omitempty"`
}

// Kafka's bounds on SCRAM iterations.
const (
	minScramIterations = 4096
	maxScramIterations = 16384
)

func scramKey(user, mechanism string) string { return user + "\x00" + mechanism }

// ACL is one access control entry: Kafka's ACL binding, with kmsg's enum
// values for the resource type (2 topic, 3 group, 4 cluster, 5
// transactional id), pattern type (3 literal, 4 prefixed), operation (2 all
// ... 12 idempotent write) and permission (2 deny, 3 allow).
type ACL struct {
	ResourceType int8   `json:"resourceType"`
	ResourceName string `json:"resourceName"`
	PatternType  int8   `json:"patternType"`
	Principal    string `json:"principal"`
	Host         string `json:"host"`
	Operation    int8   `json:"operation"`
	Permission   int8   `json:"permission"`
}

// ACL enum values (Kafka's).
const (
	ResourceTopic           int8 = 2
	ResourceGroup           int8 = 3
	ResourceCluster         int8 = 4
	ResourceTransactionalID int8 = 5
	ResourceDelegationToken int8 = 6
	ResourceUser            int8 = 7

	PatternLiteral  int8 = 3
	PatternPrefixed int8 = 4

	OpAll int8 = 2

	PermissionDeny  int8 = 2
	PermissionAllow int8 = 3
)

// checkACL refuses an ACL binding that no Kafka client could create.
func checkACL(a ACL) error {
	switch {
	case a.ResourceType < ResourceTopic || a.ResourceType > ResourceUser:
		return fmt.Errorf("ACL resource type %d: %w", a.ResourceType, ErrInvalidRequest)
	case a.PatternType != PatternLiteral && a.PatternType != PatternPrefixed:
		return fmt.Errorf("ACL pattern type %d: %w", a.PatternType, ErrInvalidRequest)
	case a.Operation < OpAll || a.Operation > 14:
		return fmt.Errorf("ACL operation %d: %w", a.Operation, ErrInvalidRequest)
	case a.Permission != PermissionDeny && a.Permission != PermissionAllow:
		return fmt.Errorf("ACL permission %d: %w", a.Permission, ErrInvalidRequest)
	case a.ResourceName == "" || a.Host == "":
		return fmt.Errorf("ACL with an empty resource name or host: %w", ErrInvalidRequest)
	case !strings.Contains(a.Principal, ":") || strings.HasPrefix(a.Principal, ":"):
		return fmt.Errorf("ACL principal %q: want Type:name: %w", a.Principal, ErrInvalidRequest)
	case a.ResourceType == ResourceCluster && a.ResourceName != "kafka-cluster":
		return fmt.Errorf("ACL on cluster %q: the cluster resource is kafka-cluster: %w", a.ResourceName, ErrInvalidRequest)
	}
	return nil
}

func checkScram(c *ScramCredential, upsert bool) error {
	switch {
	case c == nil:
		return fmt.Errorf("SCRAM credential missing: %w", ErrInvalidRequest)
	case c.User == "":
		return fmt.Errorf("SCRAM credential without a user: %w", ErrInvalidRequest)
	case c.Mechanism != "SCRAM-SHA-256" && c.Mechanism != "SCRAM-SHA-512":
		return fmt.Errorf("SCRAM mechanism %q: %w", c.Mechanism, ErrInvalidRequest)
	case !upsert:
		return nil
	case c.Iterations < minScramIterations || c.Iterations > maxScramIterations:
		return fmt.Errorf("SCRAM iterations %d: want %d to %d: %w", c.Iterations, minScramIterations, maxScramIterations, ErrInvalidRequest)
	case len(c.Salt) == 0 || len(c.StoredKey) == 0 || len(c.ServerKey) == 0:
		return fmt.Errorf("SCRAM credential of %q without salt or keys: %w", c.User, ErrInvalidRequest)
	}
	return nil
}

func applySetScram(s *State, c ScramCredential) (*State, any, error) {
	n := s.shallow()
	n.Scram = maps.Clone(s.Scram)
	if n.Scram == nil {
		n.Scram = map[string]ScramCredential{}
	}
	n.Scram[scramKey(c.User, c.Mechanism)] = c
	return n, nil, nil
}

func applyDeleteScram(s *State, c ScramCredential) (*State, any, error) {
	k := scramKey(c.User, c.Mechanism)
	if _, ok := s.Scram[k]; !ok {
		return s, nil, fmt.Errorf("no %s credential for user %q: %w", c.Mechanism, c.User, ErrNoSuchCredential)
	}
	n := s.shallow()
	n.Scram = maps.Clone(s.Scram)
	delete(n.Scram, k)
	return n, nil, nil
}

// ErrNoSuchCredential: deleting a SCRAM credential that does not exist.
var ErrNoSuchCredential = fmt.Errorf("no such SCRAM credential")

func applyCreateACLs(s *State, acls []ACL) (*State, any, error) {
	n := s.shallow()
	n.ACLs = slices.Clone(s.ACLs)
	for _, a := range acls {
		if !slices.Contains(n.ACLs, a) {
			n.ACLs = append(n.ACLs, a)
		}
	}
	return n, nil, nil
}

// applyDeleteACLs deletes the exact bindings given; it returns those that
// existed.
func applyDeleteACLs(s *State, acls []ACL) (*State, any, error) {
	n := s.shallow()
	var deleted []ACL
	n.ACLs = slices.DeleteFunc(slices.Clone(s.ACLs), func(a ACL) bool {
		if slices.Contains(acls, a) {
			deleted = append(deleted, a)
			return true
		}
		return false
	})
	return n, deleted, nil
}

// ScramCredential returns user's credential for mechanism.
func (s *State) ScramCredential(user, mechanism string) (ScramCredential, bool) {
	c, ok := s.Scram[scramKey(user, mechanism)]
	return c, ok
}

// ScramUsers returns every credential, sorted by user then mechanism
// (shared, read-only).
func (s *State) ScramUsers() []ScramCredential {
	out := slices.Collect(maps.Values(s.Scram))
	slices.SortFunc(out, func(a, b ScramCredential) int {
		return strings.Compare(scramKey(a.User, a.Mechanism), scramKey(b.User, b.Mechanism))
	})
	return out
}

// SetScramCredential creates or replaces a SCRAM credential. Controller only.
func (n *Node) SetScramCredential(ctx context.Context, c ScramCredential) error {
	_, err := n.propose(ctx, command{Op: opSetScram, Scram: &c})
	return err
}

// DeleteScramCredential deletes user's credential for mechanism; it
// returns ErrNoSuchCredential if there is none. Controller only.
func (n *Node) DeleteScramCredential(ctx context.Context, user, mechanism string) error {
	_, err := n.propose(ctx, command{Op: opDeleteScram, Scram: &ScramCredential{User: user, Mechanism: mechanism}})
	return err
}

// CreateACLs adds ACL bindings (those that exist already stay one).
// Controller only.
func (n *Node) CreateACLs(ctx context.Context, acls []ACL) error {
	_, err := n.propose(ctx, command{Op: opCreateACLs, ACLs: acls})
	return err
}

// DeleteACLs deletes the given bindings and returns those that existed.
// Controller only.
func (n *Node) DeleteACLs(ctx context.Context, acls []ACL) ([]ACL, error) {
	v, err := n.propose(ctx, command{Op: opDeleteACLs, ACLs: acls})
	if err != nil {
		return nil, err
	}
	d, _ := v.([]ACL)
	return d, nil
}
