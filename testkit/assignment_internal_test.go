package testkit

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kspring/kspring/framework"
	"github.com/kspring/kspring/listener"
)

// A failed wait names the container and what it had, not just "timeout".
func TestWaitForAssignmentNamesWhatItHad(t *testing.T) {
	t.Parallel()
	topic := UniqueName(t, "orders")
	app := NewApp(t,
		framework.Topic(framework.NewTopic{Name: topic, Partitions: 2}),
		framework.Listener(func() listener.Endpoint {
			return listener.Listen("billing", func(context.Context, string) error { return nil },
				listener.Topics(topic), listener.GroupID(UniqueName(t, "billing")))
		}),
	)
	c := app.Container(t, "billing")
	waitForAssignment(t, c, 2, WaitTimeout)

	rec := &failRecorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		waitForAssignment(rec, c, 3, 100*time.Millisecond)
	}()
	<-done
	require.Contains(t, rec.msg, `listener container "billing"`)
	require.Contains(t, rec.msg, "want 3 partitions assigned, has 2: map["+topic+":[0 1]]")
}

// failRecorder keeps the message of a Fatalf and ends the goroutine.
type failRecorder struct {
	testing.TB
	msg string
}

func (r *failRecorder) Helper() {}

func (r *failRecorder) Fatalf(format string, args ...any) {
	r.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}
