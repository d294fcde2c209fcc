// Package spanname keeps the span names of the messaging semantic
// conventions ("<operation> <destination>"), made once per destination so
// that starting a span allocates no name. The template and the listener
// share it.
package spanname

import "sync"

// max bounds the names kept, for templates and pattern listeners that meet
// ever-new topics; past it a name is made each time.
const max = 1024

// Cache holds the names of one operation. The zero value is not usable:
// make one with [New]. Safe for concurrent use.
type Cache struct {
	op    string
	mu    sync.RWMutex
	names map[string]string
}

// New returns a cache of op's names ("publish", "process").
func New(op string) *Cache { return &Cache{op: op, names: map[string]string{}} }

// Name returns "<op> <topic>".
func (c *Cache) Name(topic string) string {
	c.mu.RLock()
	n, ok := c.names[topic]
	c.mu.RUnlock()
	if ok {
		return n
	}
	n = c.op + " " + topic
	c.mu.Lock()
	if len(c.names) < max {
		c.names[topic] = n
	}
	c.mu.Unlock()
	return n
}
