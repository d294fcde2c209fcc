package wire

// LeaveGroup (key 13), versions 0-5.
// Served by the group coordinator; v3+ removes a batch of members.

func init() { register(13, 0, 5, groupAPI(Groups.LeaveGroup)) }
