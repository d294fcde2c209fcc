package wire

// DeleteGroups (key 42), versions 0-2.
// Served by the group coordinator; only empty groups are deleted.

func init() { register(42, 0, 2, groupAPI(Groups.DeleteGroups)) }
