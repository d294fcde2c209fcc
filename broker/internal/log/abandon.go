package log

// Abandon closes the files the way a crash leaves them: no flush, no index
// ends, no producer snapshot, no recovery point and no clean-shutdown marker,
// so the next Open recovers the tail. Bytes already written stay in the page
// cache and reach the files as the OS writes them back. It exists for tests of
// crash recovery (the broker's Kill). Later calls, and Close after it, do
// nothing; other methods return ErrClosed.
func (l *Log) Abandon() {
	l.flushMu.Lock()
	defer l.flushMu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	l.closeFiles()
	l.closed = true
}
