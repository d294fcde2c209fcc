package group

// DescribeGroups (key 15), versions 0-6.
// Members show their metadata and assignment only in a stable group, as in
// Kafka. A group this coordinator does not know is described as Dead; from
// v6 (KIP-1043) with GROUP_ID_NOT_FOUND. There are no ACLs yet, so the
// authorized operations (v3+, when asked for) are all a group has.

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// groupOperations is the bitfield of ACL operations on a group: READ (3),
// DELETE (6), DESCRIBE (8).
const groupOperations = 1<<3 | 1<<6 | 1<<8

// DescribeGroups serves a DescribeGroupsRequest.
func (c *Coordinator) DescribeGroups(_ context.Context, req *kmsg.DescribeGroupsRequest) *kmsg.DescribeGroupsResponse {
	resp := req.ResponseKind().(*kmsg.DescribeGroupsResponse)
	resp.Groups = make([]kmsg.DescribeGroupsResponseGroup, len(req.Groups))
	for i, id := range req.Groups {
		rg := &resp.Groups[i]
		*rg = kmsg.NewDescribeGroupsResponseGroup()
		rg.Group = id
		c.describe(req.Version, id, rg)
		if req.IncludeAuthorizedOperations && rg.ErrorCode == 0 {
			rg.AuthorizedOperations = groupOperations
		}
	}
	return resp
}

func (c *Coordinator) describe(version int16, id string, rg *kmsg.DescribeGroupsResponseGroup) {
	g, s, code := c.lookup(id, false)
	if code != 0 {
		rg.ErrorCode = code
		return
	}
	defer s.exit()
	if g != nil {
		g.mu.Lock()
		defer g.mu.Unlock()
	}
	if g == nil || g.state == stateDead {
		rg.State = stateDead.String()
		if version >= 6 {
			rg.ErrorCode = kerr.GroupIDNotFound.Code
			rg.ErrorMessage = new(fmt.Sprintf("Group %s not found.", id))
		}
		return
	}
	rg.State = g.state.String()
	rg.ProtocolType = g.protocolType
	stable := g.state == stateStable
	if stable {
		rg.Protocol = g.protocol
	}
	for _, m := range g.sortedMembers() {
		rm := kmsg.NewDescribeGroupsResponseGroupMember()
		rm.MemberID = m.id
		rm.InstanceID = m.instanceID
		rm.ClientID = m.clientID
		rm.ClientHost = m.clientHost
		if stable {
			rm.ProtocolMetadata = m.metadata(g.protocol)
			rm.MemberAssignment = m.assignment
		}
		rg.Members = append(rg.Members, rm)
	}
}
