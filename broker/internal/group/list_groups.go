package group

// ListGroups (key 16), versions 0-5.
// v4+ filter by state, v5+ by type; every group here is "classic". While a
// partition of __consumer_offsets is loading the answer carries
// COORDINATOR_LOAD_IN_PROGRESS with the groups already loaded, as in Kafka.

import (
	"cmp"
	"context"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// ListGroups serves a ListGroupsRequest.
func (c *Coordinator) ListGroups(_ context.Context, req *kmsg.ListGroupsRequest) *kmsg.ListGroupsResponse {
	resp := req.ResponseKind().(*kmsg.ListGroupsResponse)
	if c.closed.Load() {
		resp.ErrorCode = kerr.CoordinatorNotAvailable.Code
		return resp
	}
	if req.Version >= 5 && len(req.TypesFilter) > 0 &&
		!slices.ContainsFunc(req.TypesFilter, func(t string) bool { return strings.EqualFold(t, "classic") }) {
		resp.Groups = []kmsg.ListGroupsResponseGroup{}
		return resp
	}
	var states []string
	if req.Version >= 4 {
		states = req.StatesFilter
	}

	resp.Groups = []kmsg.ListGroupsResponseGroup{}
	for _, s := range c.shards {
		s.mu.RLock()
		st := s.state
		groups := make([]*group, 0, len(s.groups))
		for _, g := range s.groups {
			groups = append(groups, g)
		}
		s.mu.RUnlock()
		switch st {
		case shardLoading:
			resp.ErrorCode = kerr.CoordinatorLoadInProgress.Code
			continue
		case shardUnowned, shardClosed:
			continue
		}
		for _, g := range groups {
			g.mu.Lock()
			st, protocolType := g.state, g.protocolType
			g.mu.Unlock()
			if st == stateDead {
				continue
			}
			if len(states) > 0 && !slices.ContainsFunc(states, func(f string) bool { return strings.EqualFold(f, st.String()) }) {
				continue
			}
			lg := kmsg.NewListGroupsResponseGroup()
			lg.Group, lg.ProtocolType, lg.GroupState, lg.GroupType = g.id, protocolType, st.String(), "classic"
			resp.Groups = append(resp.Groups, lg)
		}
	}
	slices.SortFunc(resp.Groups, func(a, b kmsg.ListGroupsResponseGroup) int { return cmp.Compare(a.Group, b.Group) })
	return resp
}
