package template_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/IBM/sarama"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.uber.org/zap"

	"github.com/kspring/kspring/observe"
	"github.com/kspring/kspring/template"
	"github.com/kspring/kspring/testkit"
)

// BenchmarkSendObserved compares Template.Send without observation, with
// the Prometheus timers (observe.Metrics), and with the timers and
// OpenTelemetry tracing (every span sampled, batched to an exporter that
// drops them), in one run; otherwise as BenchmarkSend (100-byte values,
// null keys, an op is a record sent and acknowledged).
//
//	go test -run '^$' -bench BenchmarkSendObserved -benchtime 100000x -count 6 ./template/ | benchstat -col /observe -
func BenchmarkSendObserved(b *testing.B) {
	const topic = "bench"
	br := testkit.NewBroker(b, testkit.WithTopic(topic, 4, nil))
	addrs := []string{br.Addr()}
	value := bytes.Repeat([]byte("v"), 100)
	cfg := template.Config{}
	warmUp(b, addrs, topic, value, cfg)

	metrics := func(b *testing.B) []template.Option {
		m, err := observe.NewMetrics(prometheus.NewRegistry())
		require.NoError(b, err)
		return []template.Option{template.WithObserver(m)}
	}
	for _, arm := range []struct {
		name string
		opts func(b *testing.B) []template.Option
	}{
		{"off", func(*testing.B) []template.Option { return nil }},
		{"metrics", metrics},
		{"metrics+tracing", func(b *testing.B) []template.Option {
			tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(tracetest.NewNoopExporter()))
			b.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
			return append(metrics(b), template.WithTracerProvider(tp))
		}},
	} {
		b.Run("observe="+arm.name, func(b *testing.B) {
			sc, err := cfg.Sarama()
			require.NoError(b, err)
			client, err := sarama.NewClient(addrs, sc)
			require.NoError(b, err)
			tp, err := template.New[[]byte, []byte](client,
				append([]template.Option{template.WithConfig(cfg), template.WithLogger(zap.NewNop())}, arm.opts(b)...)...)
			require.NoError(b, err)
			ctx := context.Background()
			b.ReportAllocs()
			b.SetBytes(int64(len(value)))
			cpu := startCPU(b, sc)
			for range b.N {
				tp.Send(ctx, topic, value)
			}
			require.NoError(b, tp.Flush(ctx))
			cpu.stop()
			require.NoError(b, tp.Close(ctx))
			require.NoError(b, client.Close())
		})
	}
}
