package wire

// OffsetCommit (key 8), versions 0-8.
// Served by the group coordinator; acknowledged once the commit is in __consumer_offsets.

func init() { register(8, 0, 8, groupAPI(Groups.OffsetCommit)) }
