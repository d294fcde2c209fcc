package listener

// FreezeCommits makes the running container drop every commit from now on,
// as a process that crashed would: its last commits never reach the broker.
func FreezeCommits(c *Container) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.run != nil {
		c.run.frozen.Store(true)
	}
}
