package testkit

import (
	"testing"
	"time"
)

// Eventually calls check until it returns nil, and fails the test if it still
// returns an error after timeout, reporting that last error: the thing the
// test waited for and what it saw instead. Polls start 1 ms apart and back
// off to 100 ms. Call it from the test's goroutine.
//
//	testkit.Eventually(t, 10*time.Second, func() error {
//		if got := testkit.CommittedOffsets(t, addr, "billing", "orders")[0]; got != 3 {
//			return fmt.Errorf("committed offset %d, want 3", got)
//		}
//		return nil
//	})
func Eventually(t testing.TB, timeout time.Duration, check func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	wait := time.Millisecond
	for attempt := 1; ; attempt++ {
		err := check()
		if err == nil {
			return
		}
		left := time.Until(deadline)
		if left <= 0 {
			t.Fatalf("testkit: Eventually: still failing after %v (%d attempts): %v", timeout, attempt, err)
		}
		<-time.After(min(wait, left))
		wait = min(2*wait, 100*time.Millisecond)
	}
}
