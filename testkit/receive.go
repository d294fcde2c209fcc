package testkit

import (
	"testing"
	"time"
)

// Receive returns the next value sent on ch, or fails the test if none comes
// within timeout (or ch is closed). Listener tests hand what their handler
// saw to the test this way:
//
//	got := make(chan string, 1)
//	... listener.Listen("billing", func(_ context.Context, v string) error { got <- v; return nil }, ...)
//	require.Equal(t, "42 EUR", testkit.Receive(t, got, 10*time.Second))
func Receive[T any](t testing.TB, ch <-chan T, timeout time.Duration) T {
	t.Helper()
	select {
	case v, ok := <-ch:
		if !ok {
			t.Fatalf("testkit: Receive: want a %T, the channel was closed", v)
		}
		return v
	case <-time.After(timeout):
		var zero T
		t.Fatalf("testkit: Receive: want a %T, nothing came within %v", zero, timeout)
		return zero
	}
}
