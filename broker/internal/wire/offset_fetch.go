package wire

// OffsetFetch (key 9), versions 0-8.
// Served by the group coordinator; v8 fetches for several groups at once.

func init() { register(9, 0, 8, groupAPI(Groups.OffsetFetch)) }
