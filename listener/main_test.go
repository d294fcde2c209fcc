package listener_test

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// sarama's circuit breaker (go-resiliency) sleeps 10s in a goroutine
		// after it opens, whatever happens to the producer.
		goleak.IgnoreAnyFunction("github.com/eapache/go-resiliency/breaker.(*Breaker).timer"),
		// go-metrics starts one process-wide ticker goroutine for all meters
		// the first time sarama's consumer registers one; it is not per client.
		goleak.IgnoreTopFunction("github.com/rcrowley/go-metrics.(*meterArbiter).tick"))
}
