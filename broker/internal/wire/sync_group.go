package wire

// SyncGroup (key 14), versions 0-5.
// Served by the group coordinator; a follower waits for the leader's assignment.

func init() { register(14, 0, 5, groupAPI(Groups.SyncGroup)) }
