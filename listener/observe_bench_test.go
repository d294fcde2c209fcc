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
	"github.com/kspring/kspring/template"
	"github.com/kspring/kspring/testkit"
)

// BenchmarkListenerObserved consumes the pre-filled topic of
// BenchmarkListenerThroughput (RECORD ack mode) without observation, with
// the Prometheus timers, and with the timers and OpenTelemetry tracing, in
// one run. The records carry W3C trace context, as a traced sender's do:
// the topic is filled by a template traced with a parent-based 1% sampler,
// so about 1% of traceparent headers are sampled (flags 01) and the rest
// not (00). Tracing arms, with the SDK set up as a production service has
// it (a BatchSpanProcessor, here with an exporter that drops the spans,
// not a synchronous in-memory recorder): "metrics+tracing" samples every
// delivery (AlwaysSample, whatever the sender decided), the worst case;
// "metrics+tracing-1%" is the usual setup, a parent-based sampler with a
// 1% ratio, which follows the sender's decision. Every arm reads the same
// records.
//
//	go test -c -o l.test ./listener/ && for i in 1 2 3 4 5 6; do ./l.test -test.run '^$' \
//		-test.bench BenchmarkListenerObserved -listener.records=50000; done | benchstat -col /observe -
//
// 2026-12-06 23:37, 2-core VM shared with five engineers (load average
// 1.5-3), eight processes each running every arm, alternating with the
// code before the fast paths below: off 193k records/s, metrics 190k
// (-1.6%), metrics+tracing 117k (-39%), 1% sampled 165k (-14%). Before
// (the same run, the same records): metrics+tracing 101k (-47%), 1%
// sampled 152k (-20%); the fast paths (W3C traceparent parsed from the
// header bytes, no string conversions; span name made once per topic;
// link and attributes only for a recording span, set in one call) raise
// them by 16% and 8.6% (p<0.001) and halve the allocations per traced
// record (1%: 14 -> 4.4 more than off). Metrics are within the 5% target;
// tracing is not: an unsampled delivery's tracing still costs about 0.6
// us (BenchmarkStartRecord), most of it the SDK's (span id, sampler, the
// remote parent's and the span's contexts), and a sampled one 4-5 us.
func BenchmarkListenerObserved(b *testing.B) {
	br := testkit.NewBroker(b, testkit.WithTopic("bench", benchPartitions, nil))
	topic := br.Topic("bench")
	sender := sdktrace.NewTracerProvider(sdktrace.WithBatcher(tracetest.NewNoopExporter()),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(0.01))))
	fillBench(b, br.Addr(), topic, *benchRecords, template.WithTracerProvider(sender))
	require.NoError(b, sender.Shutdown(context.Background()))
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
			tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(tracetest.NewNoopExporter()),
				sdktrace.WithSampler(sdktrace.AlwaysSample()))
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
