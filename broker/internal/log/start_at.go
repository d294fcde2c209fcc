package log

import (
	"fmt"
	"time"
)

// TruncateFullyAndStartAt empties the log and starts it again at offset,
// for a follower whose leader's log starts beyond this log's end (Kafka's
// truncateFullyAndStartAt). Producer state and the leader epoch cache go
// with the data.
func (l *Log) TruncateFullyAndStartAt(offset int64) error {
	l.flushMu.Lock()
	defer l.flushMu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrClosed
	}
	if offset < 0 {
		return fmt.Errorf("log %s: start at %d: %w", l.dir, offset, ErrOffsetOutOfRange)
	}
	if err := l.resetTo(offset, time.Now()); err != nil {
		return fmt.Errorf("log %s: start at %d: %w", l.dir, offset, err)
	}
	return nil
}
