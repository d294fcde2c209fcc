package wire

// ListGroups (key 16), versions 0-4.
// Served by the group coordinator; v4 filters by state.

func init() { register(16, 0, 4, groupAPI(Groups.ListGroups)) }
