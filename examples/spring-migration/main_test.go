package main

import (
	"bytes"
	"context"
	"os"
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
	for _, env := range []string{"KAFKA_BOOTSTRAP", "SPRING_PROFILES_ACTIVE", "APP_ENV", "ORDERS_TOPIC"} {
		t.Setenv(env, "") // restored after the test
		require.NoError(t, os.Unsetenv(env))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out syncBuffer
	require.NoError(t, run(ctx, ".", &out))
	got := out.String()
	for _, want := range []string{
		"billed o-1: book for 12.50", "billed o-2: lamp", "billed o-3: pen",
		"__TypeId__ order",
		`dead letter "this is not JSON"`,
		"active profiles [local], billing concurrency 1",
	} {
		require.Contains(t, got, want)
	}
}
