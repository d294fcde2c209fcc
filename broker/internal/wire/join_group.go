package wire

// JoinGroup (key 11), versions 0-9.
// Served by the group coordinator; blocks until the join phase completes.

func init() { register(11, 0, 9, groupAPI(Groups.JoinGroup)) }
