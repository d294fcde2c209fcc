package broker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"

	"github.com/kspring/kspring/broker/internal/cluster"
	"github.com/kspring/kspring/broker/internal/metrics"
)

// The broker's Prometheus metrics (see METRICS.md for the names) live on a
// registry of the broker's own, served at /metrics on
// metrics.prometheus.listener when that is set.

// MetricsAddr returns the host:port the Prometheus endpoint listens on
// (metrics.prometheus.listener, whose port may be 0), or "" when it is off
// or the broker is not started.
func (b *Broker) MetricsAddr() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.metricsLn == nil {
		return ""
	}
	return b.metricsLn.Addr().String()
}

// MetricsRegistry returns the registry holding the broker's metrics, for
// an application that serves them on an endpoint of its own; nil before
// Start. The broker owns it; gather from it, register nothing in it.
func (b *Broker) MetricsRegistry() *prometheus.Registry {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.metrics == nil {
		return nil
	}
	return b.metrics.Registry()
}

// observe creates the broker's metrics and has the request path report
// to them; Start calls it before serving.
func (b *Broker) observe() {
	b.metrics = metrics.New(metricsSource{b})
	b.srv.Observe(b.metrics)
}

// serveMetrics binds metrics.prometheus.listener and serves /metrics on
// it. Called from Start with b.mu held.
func (b *Broker) serveMetrics(ctx context.Context) error {
	addr := b.cfg.MetricsPrometheusListener
	if addr == "" {
		return nil
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("broker: listen %s (metrics.prometheus.listener): %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(b.metrics.Registry(), promhttp.HandlerOpts{
		ErrorLog: zap.NewStdLog(b.logger.Named("metrics")), ErrorHandling: promhttp.ContinueOnError,
	}))
	b.metricsLn = ln
	b.metricsSrv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	srv := b.metricsSrv
	b.bg.Go(func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			b.logger.Error("metrics endpoint stopped", zap.String("addr", ln.Addr().String()), zap.Error(err))
		}
	})
	return nil
}

// stopMetricsLocked closes the metrics endpoint, letting a scrape in
// flight finish for a few seconds at most. Callers hold b.mu (scrapes do
// not take it).
func (b *Broker) stopMetricsLocked() {
	if b.metricsSrv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := b.metricsSrv.Shutdown(ctx); err != nil {
			_ = b.metricsSrv.Close()
		}
		b.metricsSrv = nil
	} else if b.metricsLn != nil {
		b.metricsLn.Close()
	}
	b.metricsLn = nil
}

// isrKey and isrSeen remember the ISR of a partition led here, as the
// reconciler last applied it.
type (
	isrKey struct {
		topic string
		index int32
	}
	isrSeen struct {
		leaderEpoch, partitionEpoch int32
		size                        int
	}
)

// countISR counts an ISR shrink or expansion of a partition this broker
// leads, whoever made it: the leader (AlterPartition) or the controller
// (fencing a broker, a controlled shutdown). Every change reaches the
// metadata, so each counts once, when it is applied.
func (r *reconciler) countISR(topic string, index int32, ps cluster.Partition) {
	k := isrKey{topic, index}
	if ps.Leader != r.b.cfg.NodeID {
		delete(r.isr, k)
		return
	}
	prev, ok := r.isr[k]
	if ok && prev.leaderEpoch == ps.LeaderEpoch && prev.partitionEpoch < ps.PartitionEpoch {
		r.b.metrics.ISRChanged(prev.size, len(ps.ISR))
	}
	r.isr[k] = isrSeen{leaderEpoch: ps.LeaderEpoch, partitionEpoch: ps.PartitionEpoch, size: len(ps.ISR)}
}

// metricsSource reads the broker's state for the scrape-time gauges.
type metricsSource struct{ b *Broker }

func (s metricsSource) Partitions() []metrics.PartitionStat {
	b := s.b
	st := b.meta.State()
	all := b.parts.All()
	out := make([]metrics.PartitionStat, 0, len(all))
	for _, p := range all {
		ps := metrics.PartitionStat{
			Topic: p.Topic, Partition: p.Index,
			Size: p.Log().Size(), StartOff: p.StartOffset(), EndOff: p.EndOffset(),
		}
		if t, ok := st.Topics[p.Topic]; ok {
			if mp, ok := t.PartitionState(p.Index); ok && mp.Leader == b.cfg.NodeID {
				ps.Leader = true
				ps.UnderRepl = len(mp.ISR) < len(mp.Replicas)
			}
		}
		out = append(out, ps)
	}
	return out
}

func (s metricsSource) Controller() (bool, int) {
	if !s.b.meta.IsController() {
		return false, 0
	}
	offline := 0
	for _, t := range s.b.meta.State().Topics {
		for i := range t.Partitions {
			if p, ok := t.PartitionState(i); ok && p.Leader == cluster.NoLeader {
				offline++
			}
		}
	}
	return true, offline
}

func (s metricsSource) Groups() (int, []metrics.GroupLag) {
	b := s.b
	ctx, cancel := context.WithTimeout(b.runCtx, 5*time.Second)
	defer cancel()
	list := b.groups.ListGroups(ctx, kmsg.NewPtrListGroupsRequest())
	if list.ErrorCode != 0 {
		return 0, nil
	}
	var lags []metrics.GroupLag
	for _, g := range list.Groups {
		req := kmsg.NewPtrOffsetFetchRequest()
		req.Version = 7 // Topics nil: every committed offset
		req.Group = g.Group
		resp := b.groups.OffsetFetch(ctx, req)
		if resp.ErrorCode != 0 {
			continue
		}
		for _, t := range resp.Topics {
			for _, p := range t.Partitions {
				rp, ok := b.parts.Get(t.Topic, p.Partition)
				if !ok || p.ErrorCode != 0 || p.Offset < 0 {
					continue
				}
				lags = append(lags, metrics.GroupLag{Group: g.Group, Topic: t.Topic, Partition: p.Partition,
					Committed: p.Offset, Lag: max(rp.HighWatermark()-p.Offset, 0)})
			}
		}
	}
	return len(list.Groups), lags
}
