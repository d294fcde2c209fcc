package testkit

import (
	"fmt"
	"testing"
	"time"

	"github.com/kspring/kspring/listener"
)

// WaitForAssignment waits until the listener container has exactly
// partitions partitions assigned across its consumers, as Spring's
// ContainerTestUtils.waitForAssignment does, so that what the test produces
// next is consumed by it. It fails the test after WaitTimeout, naming what
// the container had.
func WaitForAssignment(t testing.TB, c *listener.Container, partitions int) {
	t.Helper()
	waitForAssignment(t, c, partitions, WaitTimeout)
}

func waitForAssignment(t testing.TB, c *listener.Container, partitions int, timeout time.Duration) {
	t.Helper()
	Eventually(t, timeout, func() error {
		got := c.Assignments()
		n := 0
		for _, ps := range got {
			n += len(ps)
		}
		if n != partitions {
			return fmt.Errorf("listener container %q (group %q, topics %q): want %d partitions assigned, has %d: %v",
				c.ID(), c.GroupID(), c.Topics(), partitions, n, got)
		}
		return nil
	})
}
