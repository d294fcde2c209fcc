package wire

// OffsetDelete (key 47), versions 0-0.
// Served by the group coordinator.

func init() { register(47, 0, 0, groupAPI(Groups.OffsetDelete)) }
