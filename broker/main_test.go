package broker_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if a test leaves goroutines behind: every broker
// and client a test starts must be closed by its cleanup.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// sarama records metrics with rcrowley/go-metrics, whose first meter
		// starts one process-wide ticker goroutine (meterArbiter.tick) that
		// by design is never stopped. It belongs to the library, not to a
		// broker or client a test forgot to close.
		goleak.IgnoreTopFunction("github.com/rcrowley/go-metrics.(*meterArbiter).tick"),
	)
}
