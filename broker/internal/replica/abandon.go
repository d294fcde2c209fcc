package replica

// Abandon closes every partition's log as a crash would leave it (see
// log.Log.Abandon): nothing is flushed and no clean-shutdown marker is
// written. For tests of crash recovery.
func (m *Manager) Abandon() {
	m.stopReplication()
	m.mu.Lock()
	parts := m.parts
	m.parts = map[key]*Partition{}
	m.mu.Unlock()
	for _, p := range parts {
		p.log.Abandon()
	}
}
