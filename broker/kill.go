package broker

import "context"

// Kill stops the broker the way a crash would, for tests of recovery (the
// testkit's Cluster.Kill): it drops every connection and listener at once
// without answering requests in flight, stops the background work, and
// abandons the logs without flushing them or writing the clean-shutdown
// marker, so the next [New] on the same log.dirs runs crash recovery.
//
// Unlike a real crash, Kill waits for the request handlers and background
// goroutines to return, so nothing touches the files once it returns and
// the process leaks no goroutine. Bytes already written stay in the page
// cache. Kill after Close (or Kill) does nothing. Production code uses Close.
func (b *Broker) Kill() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	b.closed = true
	if b.srv != nil {
		// A done context makes Close cut the connections instead of
		// letting them finish; it reports that as an error, which is the
		// point here.
		ctx, stop := context.WithCancel(context.Background())
		stop()
		_ = b.srv.Close(ctx)
	}
	_ = b.stopLocked(false)
	b.parts.Abandon()
	b.logger.Info("kspring broker killed")
}
