package group

// DeleteGroups (key 42), versions 0-3.
// Only an empty group can be deleted (else NON_EMPTY_GROUP); its offsets
// and metadata are tombstoned in __consumer_offsets before the answer, so a
// deleted group stays deleted across a restart.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"
)

// DeleteGroups serves a DeleteGroupsRequest.
func (c *Coordinator) DeleteGroups(ctx context.Context, req *kmsg.DeleteGroupsRequest) *kmsg.DeleteGroupsResponse {
	resp := req.ResponseKind().(*kmsg.DeleteGroupsResponse)
	resp.Groups = make([]kmsg.DeleteGroupsResponseGroup, len(req.Groups))
	for i, id := range req.Groups {
		rg := kmsg.NewDeleteGroupsResponseGroup()
		rg.Group = id
		rg.ErrorCode = c.deleteGroup(ctx, id)
		if rg.ErrorCode != 0 && req.Version >= 3 {
			if ke, ok := kerr.ErrorForCode(rg.ErrorCode).(*kerr.Error); ok {
				rg.ErrorMessage = new(ke.Description)
			}
		}
		resp.Groups[i] = rg
	}
	return resp
}

func (c *Coordinator) deleteGroup(ctx context.Context, id string) int16 {
	g, s, code := c.lookup(id, false)
	if code != 0 {
		return code
	}
	defer s.exit()
	if g == nil {
		return kerr.GroupIDNotFound.Code
	}
	g.wmu.Lock()
	defer g.wmu.Unlock()
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case g.state == stateDead:
		return kerr.GroupIDNotFound.Code
	case g.state != stateEmpty, len(g.txnOffsets) > 0:
		// Transactional offsets wait for their marker: deleting the
		// group now would lose them (or bring them back on commit).
		return kerr.NonEmptyGroup.Code
	}
	recs := make([]Record, 0, len(g.offsets)+1)
	for tp := range g.offsets {
		recs = append(recs, Record{Key: offsetCommitKey(g.id, tp.topic, tp.partition)})
	}
	if g.generation > 0 {
		// Groups that never had a generation never wrote metadata.
		recs = append(recs, Record{Key: groupMetadataKey(g.id)})
	}
	if len(recs) > 0 {
		g.mu.Unlock()
		err := c.append(ctx, g, recs)
		g.mu.Lock()
		if err != nil {
			c.logger.Warn("group deletion failed", zap.String("group", g.id), zap.Error(err))
			return commitError(err)
		}
		if g.state == stateDead {
			return kerr.NotCoordinator.Code
		}
	}
	clear(g.offsets)
	c.unload(g, kerr.CoordinatorNotAvailable.Code)
	c.drop(g)
	c.logger.Info("group deleted", zap.String("group", g.id))
	return 0
}
