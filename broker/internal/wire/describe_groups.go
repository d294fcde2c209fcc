package wire

// DescribeGroups (key 15), versions 0-5.
// Served by the group coordinator.

func init() { register(15, 0, 5, groupAPI(Groups.DescribeGroups)) }
