package framework

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/fx"
	"go.uber.org/zap"
)

// Actuator is the management HTTP server, Spring Boot Actuator's: with
// management.server.port set it serves, under
// management.endpoints.web.base-path (/actuator), the exposed endpoints of
// management.endpoints.web.exposure.include:
//
//   - health: [Health.Report] as JSON, 200 when UP and 503 when DOWN;
//     components and details as management.endpoint.health.show-components
//     and show-details say (Spring's default: the status alone).
//   - prometheus: the meter registry in Prometheus' text format.
//
// The base path lists the exposed endpoints (Actuator's _links). It starts
// after the listener containers and stops before them. Its methods are
// safe for concurrent use.
type Actuator struct {
	mu  sync.Mutex
	ln  net.Listener
	srv *http.Server
}

// Addr returns the host:port the actuator listens on, "" when it is off
// or not started.
func (a *Actuator) Addr() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.ln == nil {
		return ""
	}
	return a.ln.Addr().String()
}

type actuatorParams struct {
	fx.In
	Lifecycle  fx.Lifecycle
	Management ManagementConfig
	Health     *Health
	Meters     *prometheus.Registry
	Logger     *zap.Logger
}

// healthTimeout bounds a health check's metadata request.
const healthTimeout = 10 * time.Second

func newActuator(p actuatorParams) *Actuator {
	a := &Actuator{}
	mc := p.Management
	if !mc.serverOn() {
		return a
	}
	log := p.Logger.Named("actuator")
	base := mc.basePath()
	mux := http.NewServeMux()
	links := map[string]any{"self": map[string]any{"href": base}}
	if mc.exposed("health") {
		mux.HandleFunc("GET "+base+"/health", func(w http.ResponseWriter, r *http.Request) {
			ctx, cancel := context.WithTimeout(r.Context(), healthTimeout)
			defer cancel()
			report := p.Health.Report(ctx)
			if !mc.showDetails() {
				report = report.withoutDetails(mc.showComponents())
			}
			code := http.StatusOK
			if report.Status != StatusUp {
				code = http.StatusServiceUnavailable
			}
			writeJSON(w, code, report)
		})
		links["health"] = map[string]any{"href": base + "/health"}
	}
	if mc.exposed("prometheus") {
		mux.Handle("GET "+base+"/prometheus", promhttp.HandlerFor(p.Meters, promhttp.HandlerOpts{
			ErrorLog: zap.NewStdLog(log), ErrorHandling: promhttp.ContinueOnError,
		}))
		links["prometheus"] = map[string]any{"href": base + "/prometheus"}
	}
	mux.HandleFunc("GET "+base, func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"_links": links})
	})
	addr := mc.Server.Address
	if addr == "" {
		addr = "127.0.0.1"
	}
	addr = net.JoinHostPort(addr, strconv.Itoa(*mc.Server.Port))
	p.Lifecycle.Append(fx.Hook{
		OnStart: func(ctx context.Context) error {
			var lc net.ListenConfig
			ln, err := lc.Listen(ctx, "tcp", addr)
			if err != nil {
				return fmt.Errorf("kspring: actuator: listen %s (management.server.port): %w", addr, err)
			}
			srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
			a.mu.Lock()
			a.ln, a.srv = ln, srv
			a.mu.Unlock()
			go func() {
				if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
					log.Error("actuator stopped", zap.Error(err))
				}
			}()
			log.Info("actuator started", zap.String("addr", ln.Addr().String()), zap.String("base-path", base))
			return nil
		},
		OnStop: func(ctx context.Context) error {
			a.mu.Lock()
			srv := a.srv
			a.ln, a.srv = nil, nil
			a.mu.Unlock()
			if srv == nil {
				return nil
			}
			if err := srv.Shutdown(ctx); err != nil {
				_ = srv.Close()
				return fmt.Errorf("kspring: actuator: %w", err)
			}
			return nil
		},
	})
	return a
}

// writeJSON writes v as Actuator's JSON.
func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/vnd.spring-boot.actuator.v3+json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
