package listener_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/kspring/kspring/listener"
	"github.com/kspring/kspring/observe"
	"github.com/kspring/kspring/testkit"
)

// BenchmarkListenerObserved consumes the pre-filled topic of
// BenchmarkListenerThroughput (RECORD ack mode) without observation, with
// the Prometheus timers, and with the timers and OpenTelemetry tracing
// (every span sampled, batched to an exporter that drops them; and 1%
// of traces sampled, as production often runs: the others still carry
// trace context), in one run.
//
//	go test -c -o l.test ./listener/ && for i in 1 2 3 4 5 6; do ./l.test -test.run '^$' \
//		-test.bench BenchmarkListenerObserved -listener.records=50000; done | benchstat -col /observe -
//
// 2026-12-06 23:20, 2-core VM shared with five engineers (load average
// about 2), six processes each running every arm: off 196k records/s,
// metrics 194k (-1.3%, not significant, p=0.49), metrics+tracing 104k
// (-47%), 1% sampled 171k (-13%). Metrics are within the 5% target;
// tracing is not (a span per delivery, and extracting the context of every
// record even when unsampled).
func BenchmarkListenerObserved(b *testing.B) {
	br := testkit.NewBroker(b, testkit.WithTopic("bench", benchPartitions, nil))
	topic := br.Topic("bench")
	fillBench(b, br.Addr(), topic, *benchRecords)
	n := int64(*benchRecords)
	metrics := func(b *testing.B) []listener.RegistryOption {
		m, err := observe.NewMetrics(prometheus.NewRegistry())
		require.NoError(b, err)
		return []listener.RegistryOption{listener.WithObserver(m)}
	}
	for _, arm := range []struct {
		name string
		opts func(b *testing.B) []listener.RegistryOption
	}{
		{"off", func(*testing.B) []listener.RegistryOption { return nil }},
		{"metrics", metrics},
		{"metrics+tracing", func(b *testing.B) []listener.RegistryOption {
			tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(tracetest.NewNoopExporter()))
			b.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
			return append(metrics(b), listener.WithTracerProvider(tp))
		}},
		{"metrics+tracing-1%", func(b *testing.B) []listener.RegistryOption {
			tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(tracetest.NewNoopExporter()),
				sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(0.01))))
			b.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
			return append(metrics(b), listener.WithTracerProvider(tp))
		}},
	} {
		b.Run("observe="+arm.name, func(b *testing.B) {
			opts := arm.opts(b)
			b.ReportAllocs()
			b.SetBytes(n * 100)
			for b.Loop() {
				group := fmt.Sprintf("bench-obs-%s-%d", arm.name, benchGroups.Add(1))
				if br.External() {
					group = testkit.UniqueName(b, group)
				}
				consumeListener(listener.AckRecord, opts...)(b, br.Addr(), topic, group, n)
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}
