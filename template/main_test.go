package template

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// sarama's circuit breaker (go-resiliency) sleeps 10s in a goroutine
		// after it opens, whatever happens to the producer.
		goleak.IgnoreAnyFunction("github.com/eapache/go-resiliency/breaker.(*Breaker).timer"),
		// go-metrics, which sarama uses, starts one process-wide meter
		// goroutine on first use and never stops it.
		goleak.IgnoreTopFunction("github.com/rcrowley/go-metrics.(*meterArbiter).tick"))
}
