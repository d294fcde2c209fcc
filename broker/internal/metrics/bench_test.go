package metrics

import (
	"testing"
	"time"

	"github.com/kspring/kspring/broker/internal/replica"
)

// BenchmarkHotPath is what a produce and a fetch of one partition add to
// the request path: no allocation, no lock once the series exist.
func BenchmarkHotPath(b *testing.B) {
	m := New(nil)
	p := &replica.Partition{Topic: "orders"}
	b.ReportAllocs()
	for b.Loop() {
		m.Request(0, 9, time.Millisecond)
		m.Produced(p, 1024, 10, false)
		m.Request(1, 13, time.Millisecond)
		m.Fetched(p, 1024, false, false)
	}
}
