package listener

// State is a container's lifecycle state as a health check reports it.
type State string

// Container states.
const (
	StateRunning State = "RUNNING" // started, every consumer in its group (or consuming)
	StatePaused  State = "PAUSED"  // started and paused: consumers in their group, no deliveries
	StateStopped State = "STOPPED" // not started, or stopped
	StateFailed  State = "FAILED"  // started, but a consumer is out of its group or cannot consume
)

// State returns the container's state and, when it is StateFailed, why.
// It is safe for concurrent use.
func (c *Container) State() (State, error) {
	c.mu.Lock()
	running, paused := c.run != nil, c.pauseCh != nil
	c.mu.Unlock()
	switch {
	case !running:
		return StateStopped, nil
	case paused:
		return StatePaused, nil
	}
	if err := c.Health(); err != nil {
		return StateFailed, err
	}
	return StateRunning, nil
}
