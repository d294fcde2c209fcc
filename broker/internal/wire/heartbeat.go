package wire

// Heartbeat (key 12), versions 0-4.
// Served by the group coordinator.

func init() { register(12, 0, 4, groupAPI(Groups.Heartbeat)) }
