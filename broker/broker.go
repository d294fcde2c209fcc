package broker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/kspring/kspring/broker/internal/cluster"
	"github.com/kspring/kspring/broker/internal/group"
	"github.com/kspring/kspring/broker/internal/replica"
	"github.com/kspring/kspring/broker/internal/wire"
)

// Option configures behaviour that is code rather than settings.
type Option func(*options)

type options struct {
	logger *zap.Logger
}

// WithLogger sets the logger; the default discards logs.
func WithLogger(l *zap.Logger) Option { return func(o *options) { o.logger = l } }

// Broker is one Kafka-compatible broker. Create it with [New].
type Broker struct {
	cfg    Config
	logger *zap.Logger

	meta   *cluster.Store
	parts  *replica.Manager
	topics *topics
	groups *group.Coordinator
	srv    *wire.Server

	mu      sync.Mutex
	started bool
	closed  bool
	lns     []net.Listener
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// New validates cfg, opens the log directories and recovers every partition.
// It does not listen yet: see [Broker.Start].
func New(cfg Config, opts ...Option) (*Broker, error) {
	o := options{logger: zap.NewNop()}
	for _, opt := range opts {
		opt(&o)
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	b := &Broker{cfg: cfg, logger: o.logger}
	b.meta, err = cluster.Open(cfg.LogDirs[0], cfg.ClusterID)
	if err != nil {
		return nil, fmt.Errorf("broker: %w", err)
	}
	b.parts, err = replica.NewManager(cfg.LogDirs, o.logger)
	if err != nil {
		return nil, fmt.Errorf("broker: %w", err)
	}
	b.topics = &topics{cfg: &b.cfg, meta: b.meta, parts: b.parts, logger: o.logger}
	if err := b.topics.openAll(); err != nil {
		b.parts.Close()
		return nil, fmt.Errorf("broker: %w", err)
	}
	b.groups = group.New(group.Config{
		OffsetsTopicPartitions:        cfg.OffsetsTopicNumPartitions,
		InitialRebalanceDelay:         cfg.GroupInitialRebalanceDelayMs,
		MinSessionTimeout:             cfg.GroupMinSessionTimeoutMs,
		MaxSessionTimeout:             cfg.GroupMaxSessionTimeoutMs,
		OffsetsRetention:              time.Duration(cfg.OffsetsRetentionMinutes) * time.Minute,
		OffsetsRetentionCheckInterval: cfg.OffsetsRetentionCheckIntervalMs,
	}, &offsetsStore{topics: b.topics}, o.logger.Named("group"))
	b.topics.groups = b.groups
	return b, nil
}

// Start binds the listeners, loads the group coordinator's state and starts
// serving. ctx bounds the start-up only.
func (b *Broker) Start(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.started || b.closed {
		return errors.New("broker: already started or closed")
	}
	b.started = true
	for _, l := range b.cfg.Listeners {
		addr, err := parseListener(l)
		if err != nil {
			b.closeListeners()
			return err
		}
		var lc net.ListenConfig
		ln, err := lc.Listen(ctx, "tcp", addr)
		if err != nil {
			b.closeListeners()
			return fmt.Errorf("broker: listen %s: %w", l, err)
		}
		b.lns = append(b.lns, ln)
	}
	settings, err := b.wireSettings()
	if err != nil {
		b.closeListeners()
		return err
	}
	if err := b.groups.Start(ctx); err != nil {
		b.closeListeners()
		return fmt.Errorf("broker: group coordinator: %w", err)
	}
	b.topics.removeOrphanOffsets(ctx)
	b.srv = wire.New(settings, b.meta, b.parts, b.topics, b.groups, b.logger)
	runCtx, cancel := context.WithCancel(context.Background())
	b.cancel = cancel
	for _, ln := range b.lns {
		b.wg.Add(1)
		go func() {
			defer b.wg.Done()
			if err := b.srv.Serve(ln); err != nil {
				b.logger.Error("listener stopped", zap.String("addr", ln.Addr().String()), zap.Error(err))
			}
		}()
	}
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		b.parts.Run(runCtx, b.maintenanceInterval(), max(b.cfg.LogCleanerBackoffMs, 10*time.Millisecond))
	}()
	b.logger.Info("kspring broker started", zap.Int32("node.id", b.cfg.NodeID),
		zap.String("cluster.id", b.meta.ClusterID()), zap.Strings("listeners", b.Addrs()),
		zap.Strings("log.dirs", b.cfg.LogDirs))
	return nil
}

// maintenanceInterval is how often retention, time-based rolls and flushes run.
func (b *Broker) maintenanceInterval() time.Duration {
	d := b.cfg.LogRetentionCheckIntervalMs
	if f := b.cfg.LogFlushIntervalMs; f > 0 && f < d {
		d = f
	}
	return max(d, 10*time.Millisecond)
}

func (b *Broker) closeListeners() {
	for _, ln := range b.lns {
		ln.Close()
	}
	b.lns = nil
}

// wireSettings derives what the request handlers need from the config and the
// bound listeners.
func (b *Broker) wireSettings() (wire.Settings, error) {
	adv := b.lns[0].Addr().String()
	if len(b.cfg.AdvertisedListeners) > 0 {
		a, err := parseListener(b.cfg.AdvertisedListeners[0])
		if err != nil {
			return wire.Settings{}, err
		}
		adv = a
	}
	host, portStr, err := net.SplitHostPort(adv)
	if err != nil {
		return wire.Settings{}, fmt.Errorf("broker: advertised listener %q: %w", adv, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port == 0 {
		// Advertise the port actually bound.
		_, bound, _ := net.SplitHostPort(b.lns[0].Addr().String())
		port, _ = strconv.Atoi(bound)
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	var rack *string
	if b.cfg.Rack != "" {
		rack = &b.cfg.Rack
	}
	return wire.Settings{
		NodeID:                   b.cfg.NodeID,
		Rack:                     rack,
		AdvertisedHost:           host,
		AdvertisedPort:           int32(port),
		NumPartitions:            b.cfg.NumPartitions,
		DefaultReplicationFactor: b.cfg.DefaultReplicationFactor,
		AutoCreateTopics:         b.cfg.AutoCreateTopicsEnable,
		DeleteTopicEnable:        b.cfg.DeleteTopicEnable,
		MaxRequestBytes:          b.cfg.SocketRequestMaxBytes,
		SendBufferBytes:          b.cfg.SocketSendBufferBytes,
		ReceiveBufferBytes:       b.cfg.SocketReceiveBufferBytes,
		ConnectionsMaxIdle:       b.cfg.ConnectionsMaxIdleMs,
		ProducerIDExpiration:     b.cfg.ProducerIDExpirationMs,
		OffsetsTopicPartitions:   b.cfg.OffsetsTopicNumPartitions,
		OffsetsTopicReplication:  b.cfg.OffsetsTopicReplicationFactor,
		BrokerConfigs:            b.cfg.topicDefaults(),
		LogDirs:                  b.cfg.LogDirs,
	}, nil
}

// parseListener turns "NAME://host:port" (or "host:port") into host:port.
// Only plaintext listeners are served.
func parseListener(l string) (string, error) {
	name, addr, ok := strings.Cut(l, "://")
	if !ok {
		return l, nil
	}
	switch strings.ToUpper(name) {
	case "SSL", "SASL_SSL", "SASL_PLAINTEXT":
		return "", fmt.Errorf("broker: listener %q: security protocol %s is not supported; use PLAINTEXT", l, name)
	}
	return addr, nil
}

// Addr returns the host:port of the first listener, for clients to bootstrap
// from. It is empty before Start.
func (b *Broker) Addr() string {
	if a := b.Addrs(); len(a) > 0 {
		return a[0]
	}
	return ""
}

// Addrs returns the host:port of every listener.
func (b *Broker) Addrs() []string {
	var out []string
	for _, ln := range b.lns {
		out = append(out, ln.Addr().String())
	}
	return out
}

// Config returns the broker's effective configuration.
func (b *Broker) Config() Config { return b.cfg }

// ClusterID returns the cluster id.
func (b *Broker) ClusterID() string { return b.meta.ClusterID() }

// Close stops accepting connections, answers the requests in flight, stops
// the background work, and flushes and closes every log. It waits for that
// until ctx ends; a clean close lets the next start skip log recovery.
func (b *Broker) Close(ctx context.Context) error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	srv, cancel := b.srv, b.cancel
	b.mu.Unlock()
	var errs []error
	if srv != nil {
		if err := srv.Close(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	b.closeListeners()
	if cancel != nil {
		cancel()
	}
	b.wg.Wait()
	if err := b.groups.Close(); err != nil {
		errs = append(errs, err)
	}
	if err := b.parts.Close(); err != nil {
		errs = append(errs, err)
	}
	b.logger.Info("kspring broker stopped")
	return errors.Join(errs...)
}
