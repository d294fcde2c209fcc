package main

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// syncBuffer is a bytes.Buffer safe for the listeners' goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestRunsAsTheREADMESays runs the example on the embedded broker.
func TestRunsAsTheREADMESays(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var out syncBuffer
	require.NoError(t, run(ctx, "", &out)) // the embedded broker: the topics and groups have fixed names
	got := out.String()
	for _, want := range []string{
		"aborted: template: transaction aborted: changed my mind",
		"billing o-3 failed after sending its invoice: the transaction rolls back",
		"billed o-3",
		"exactly once: 5 orders, 5 invoices, each read once",
	} {
		require.Contains(t, got, want)
	}
	require.NotContains(t, got, "o-bogus", "the aborted order is never read")
}
