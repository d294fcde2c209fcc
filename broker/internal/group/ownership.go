package group

// WithoutInitialLoad makes Start load no partition: in a cluster, the
// broker loads the __consumer_offsets partitions it leads with
// LoadPartition as leadership arrives, and the others stay unowned (their
// groups get NOT_COORDINATOR).
func WithoutInitialLoad() Option { return func(c *Coordinator) { c.noInitialLoad = true } }

// BeginLoad marks __consumer_offsets partition p as loading, so that its
// groups' requests get COORDINATOR_LOAD_IN_PROGRESS (and are retried)
// rather than NOT_COORDINATOR until LoadPartition, which the caller runs
// next, completes.
func (c *Coordinator) BeginLoad(p int32) {
	if p < 0 || int(p) >= len(c.shards) {
		return
	}
	s := c.shards[p]
	s.mu.Lock()
	if s.state == shardUnowned {
		s.state = shardLoading
	}
	s.mu.Unlock()
}
