package broker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/kspring/kspring/broker/internal/cluster"
	"github.com/kspring/kspring/broker/internal/group"
	"github.com/kspring/kspring/broker/internal/peer"
	"github.com/kspring/kspring/broker/internal/replica"
	"github.com/kspring/kspring/broker/internal/txn"
	"github.com/kspring/kspring/broker/internal/wire"
)

// Option configures behaviour that is code rather than settings.
type Option func(*options)

type options struct {
	logger *zap.Logger
	dial   peer.Dialer
	// Listeners bound by the caller (an in-process Cluster, which must know
	// every address before any broker starts); nil: Start binds them.
	client, ctrl net.Listener
}

// WithLogger sets the logger; the default discards logs.
func WithLogger(l *zap.Logger) Option { return func(o *options) { o.logger = l } }

// WithDialer sets how the broker connects to the other brokers of its
// cluster (the metadata quorum and replica fetches); the default dials TCP.
// Tests use it to cut the network between brokers.
func WithDialer(dial func(ctx context.Context, addr string) (net.Conn, error)) Option {
	return func(o *options) { o.dial = dial }
}

// Broker is one Kafka-compatible broker. Create it with [New].
type Broker struct {
	cfg    Config
	logger *zap.Logger
	dial   peer.Dialer

	meta   *cluster.Node
	ctrl   *controller
	member *member
	rec    *reconciler
	parts  *replica.Manager
	topics *topics
	groups *group.Coordinator
	txns   *txn.Coordinator
	marks  *txnMarkers
	srv    *wire.Server

	mu           sync.Mutex
	started      bool
	closed       bool
	lns          []net.Listener // client listeners
	ctrlLn       net.Listener   // the quorum's listener, owned by meta once it is open
	quorumClosed bool
	runCtx       context.Context
	cancel       context.CancelFunc
	bg           sync.WaitGroup
}

// New validates cfg and prepares the log directories. It does not listen
// yet: see [Broker.Start].
func New(cfg Config, opts ...Option) (*Broker, error) {
	o := options{logger: zap.NewNop()}
	for _, opt := range opts {
		opt(&o)
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	b := &Broker{cfg: cfg, logger: o.logger, dial: o.dial, ctrlLn: o.ctrl}
	if o.client != nil {
		b.lns = []net.Listener{o.client}
	}
	b.runCtx, b.cancel = context.WithCancel(context.Background())
	b.parts, err = replica.NewManager(cfg.LogDirs, o.logger, replica.Options{
		NodeID: cfg.NodeID,
		AlterISR: func(ctx context.Context, r replica.AlterRequest) (replica.State, error) {
			return b.member.alterISR(ctx, r)
		},
		BrokerAddr:           b.brokerAddr,
		Dial:                 o.dial,
		ReplicaLagMax:        cfg.ReplicaLagTimeMaxMs,
		FetchMaxWait:         cfg.ReplicaFetchWaitMaxMs,
		FetchBackoff:         cfg.ReplicaFetchBackoffMs,
		RequestTimeout:       max(cfg.BrokerSessionTimeoutMs, 5*time.Second),
		HWCheckpointInterval: cfg.ReplicaHighWatermarkCheckpointMs,
	})
	if err != nil {
		return nil, fmt.Errorf("broker: %w", err)
	}
	return b, nil
}

// Start binds the listeners, joins the metadata quorum, registers with the
// active controller, opens the partitions the metadata gives this broker
// and starts serving. It returns once the controller has let this broker
// into the cluster; ctx bounds that wait (a broker of a quorum whose
// majority is down waits for it).
func (b *Broker) Start(ctx context.Context) (err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.started || b.closed {
		return errors.New("broker: already started or closed")
	}
	b.started = true
	defer func() {
		if err != nil {
			b.stopLocked(false)
		}
	}()
	for _, l := range b.cfg.clientListeners() {
		if len(b.lns) > 0 {
			break // bound by the caller
		}
		addr, err := parseListener(l)
		if err != nil {
			return err
		}
		var lc net.ListenConfig
		ln, err := lc.Listen(ctx, "tcp", addr)
		if err != nil {
			return fmt.Errorf("broker: listen %s: %w", l, err)
		}
		b.lns = append(b.lns, ln)
	}
	if len(b.lns) == 0 {
		return fmt.Errorf("broker: listeners %v: no listener for clients", b.cfg.Listeners)
	}
	if err := b.openQuorum(ctx); err != nil {
		return err
	}
	settings, err := b.wireSettings()
	if err != nil {
		return err
	}
	b.ctrl = &controller{meta: b.meta, cfg: &b.cfg, logger: b.logger.Named("controller"), cluster: b.cfg.ClusterID,
		failed: make(chan error, 1)}
	b.member = newMember(b)
	b.ctrl.member = b.member
	b.rec = newReconciler(b)
	b.topics = &topics{cfg: &b.cfg, meta: b.meta, parts: b.parts, member: b.member, sync: b.rec.sync, logger: b.logger}
	b.groups = group.New(group.Config{
		OffsetsTopicPartitions:        b.cfg.OffsetsTopicNumPartitions,
		InitialRebalanceDelay:         b.cfg.GroupInitialRebalanceDelayMs,
		MinSessionTimeout:             b.cfg.GroupMinSessionTimeoutMs,
		MaxSessionTimeout:             b.cfg.GroupMaxSessionTimeoutMs,
		OffsetsRetention:              time.Duration(b.cfg.OffsetsRetentionMinutes) * time.Minute,
		OffsetsRetentionCheckInterval: b.cfg.OffsetsRetentionCheckIntervalMs,
	}, &offsetsStore{topics: b.topics}, b.logger.Named("group"), group.WithoutInitialLoad())
	b.marks = &txnMarkers{b: b}
	b.txns = txn.New(txn.Config{
		Partitions:                b.cfg.TransactionStateLogNumPartitions,
		MaxTimeout:                b.cfg.TransactionMaxTimeoutMs,
		AbortTimedOutInterval:     b.cfg.TransactionAbortTimedOutCleanupIntervalMs,
		IDExpiration:              b.cfg.TransactionalIDExpirationMs,
		IDExpirationCheckInterval: b.cfg.TransactionRemoveExpiredCleanupIntervalMs,
	}, &txnStore{topics: b.topics}, b.marks, b.member.nextProducerID, b.logger.Named("txn"),
		txn.WithPartitionCheck(b.partitionExists))
	b.srv = wire.New(settings, b.meta, b.parts, b.topics, b.groups, b.logger,
		wire.WithController(b.ctrl), wire.WithProducerIDs(b.member.nextProducerID),
		wire.WithTransactions(b.txns, b.topics.EnsureTransactionTopic))
	b.bg.Go(func() { b.ctrl.run(b.runCtx) })
	if err := b.meta.WaitController(ctx); err != nil {
		return fmt.Errorf("broker: %w", err)
	}
	if err := b.member.register(ctx, settings.AdvertisedHost, settings.AdvertisedPort, settings.Rack); err != nil {
		return fmt.Errorf("broker: registering with the controller: %w", err)
	}
	if err := b.waitRegistered(ctx); err != nil {
		return err
	}
	if err := b.groups.Start(ctx); err != nil {
		return fmt.Errorf("broker: group coordinator: %w", err)
	}
	if err := b.txns.Start(); err != nil {
		return fmt.Errorf("broker: transaction coordinator: %w", err)
	}
	if err := b.removeStray(); err != nil {
		b.logger.Warn("removing partitions of deleted topics failed", zap.Error(err))
	}
	b.rec.sync()
	b.bg.Go(func() { b.rec.run(b.runCtx) })
	// Clients are served only now that this broker's metadata is caught up
	// (it holds its own registration, made after everything before it): a
	// broker back from a restart never answers with a stale cluster.
	for _, ln := range b.lns {
		b.bg.Go(func() {
			if err := b.srv.Serve(ln); err != nil {
				b.logger.Error("listener stopped", zap.String("addr", ln.Addr().String()), zap.Error(err))
			}
		})
	}
	b.bg.Go(func() {
		b.member.run(b.runCtx, settings.AdvertisedHost, settings.AdvertisedPort, settings.Rack)
	})
	b.bg.Go(func() {
		b.parts.Run(b.runCtx, b.maintenanceInterval(), max(b.cfg.LogCleanerBackoffMs, 10*time.Millisecond))
	})
	if err := b.member.waitUnfenced(ctx); err != nil {
		return fmt.Errorf("broker: %w", err)
	}
	// Unfencing gives this broker back the leaderships it can take: have
	// them (and their groups loading) before Start returns.
	if err := b.waitAlive(ctx); err != nil {
		return err
	}
	b.rec.sync()
	b.logger.Info("kspring broker started", zap.Int32("node.id", b.cfg.NodeID),
		zap.String("cluster.id", b.meta.ClusterID()), zap.Strings("listeners", b.Addrs()),
		zap.Strings("log.dirs", b.cfg.LogDirs))
	return nil
}

// openQuorum binds the controller listener (with several voters) and joins
// the metadata quorum, whose log lives in the first log dir's
// __cluster_metadata-0, as KRaft's does.
func (b *Broker) openQuorum(ctx context.Context) error {
	voters, err := b.cfg.voters()
	if err != nil {
		return err
	}
	if len(voters) > 1 && b.ctrlLn == nil {
		addr, _ := b.cfg.controllerListener()
		var lc net.ListenConfig
		if b.ctrlLn, err = lc.Listen(ctx, "tcp", addr); err != nil {
			return fmt.Errorf("broker: listen %s (controller): %w", addr, err)
		}
	}
	var dial cluster.Dialer
	if b.dial != nil {
		dial = cluster.Dialer(b.dial)
	}
	b.meta, err = cluster.OpenNode(cluster.NodeConfig{
		NodeID: b.cfg.NodeID, Voters: voters, Listener: b.ctrlLn, Dial: dial,
		Dir:             filepath.Join(b.cfg.LogDirs[0], metadataDir),
		ElectionTimeout: b.cfg.ControllerQuorumElectionTimeoutMs, HeartbeatTimeout: b.cfg.ControllerQuorumFetchTimeoutMs,
		Logger: b.logger.Named("quorum"),
	})
	if err != nil {
		if b.ctrlLn != nil {
			b.ctrlLn.Close()
		}
		return fmt.Errorf("broker: %w", err)
	}
	return nil
}

// metadataDir is the metadata log's directory in the first log dir.
const metadataDir = "__cluster_metadata-0"

// waitRegistered waits until this broker's metadata holds its own
// registration, so that it knows every topic created before it joined.
func (b *Broker) waitRegistered(ctx context.Context) error {
	for {
		ch := b.meta.Changed()
		br, ok := b.meta.State().Brokers[b.cfg.NodeID]
		b.member.mu.Lock()
		epoch := b.member.epoch
		b.member.mu.Unlock()
		if ok && br.Epoch >= epoch {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("broker: waiting for the metadata to reach this broker: %w", ctx.Err())
		}
	}
}

// waitAlive waits until this broker's metadata shows it unfenced.
func (b *Broker) waitAlive(ctx context.Context) error {
	for {
		ch := b.meta.Changed()
		if br, ok := b.meta.State().Brokers[b.cfg.NodeID]; ok && !br.Fenced {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("broker: waiting for the metadata to show this broker unfenced: %w", ctx.Err())
		}
	}
}

// removeStray deletes partition directories of topics the metadata does
// not have (deleted while this broker was down).
func (b *Broker) removeStray() error {
	st := b.meta.State()
	return b.parts.RemoveStray(func(topic string, index int32) bool {
		if topic+"-"+strconv.Itoa(int(index)) == metadataDir {
			return true
		}
		t, ok := st.Topics[topic]
		if !ok {
			return false
		}
		p, ok := t.PartitionState(index)
		return ok && p.HasReplica(b.cfg.NodeID)
	})
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
		StaticConfigs:            append(b.cfg.clusterConfigs(), b.cfg.txnConfigs()...),
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

// Close moves this broker's partition leaderships to other in-sync
// replicas (Kafka's controlled shutdown, bounded by
// ControlledShutdownTimeout), stops accepting connections, answers the
// requests in flight, stops the background work, and flushes and closes
// every log. It waits for that until ctx ends; a clean close lets the next
// start skip log recovery.
func (b *Broker) Close(ctx context.Context) error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	started := b.started && b.member != nil
	b.mu.Unlock()
	var errs []error
	if started {
		// Also alone: the broker leaves the cluster fenced, so that its
		// next start is not taken for a twin of a live broker.
		sctx, cancel := context.WithTimeout(ctx, b.cfg.ControlledShutdownTimeout)
		if err := b.member.controlledShutdown(sctx); err != nil {
			b.logger.Warn("controlled shutdown did not complete", zap.Error(err))
		}
		cancel()
	}
	if b.srv != nil {
		if err := b.srv.Close(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	b.mu.Lock()
	errs = append(errs, b.stopLocked(true)...)
	b.mu.Unlock()
	if err := b.parts.Close(); err != nil {
		errs = append(errs, err)
	}
	b.logger.Info("kspring broker stopped")
	return errors.Join(errs...)
}

// stopLocked stops everything but the logs: listeners, background work,
// the group coordinator and the quorum membership. Callers hold b.mu.
func (b *Broker) stopLocked(transfer bool) []error {
	var errs []error
	b.closeListeners()
	b.cancel()
	b.bg.Wait()
	if b.groups != nil {
		if err := b.groups.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	if b.txns != nil {
		if err := b.txns.Close(); err != nil {
			errs = append(errs, err)
		}
		b.marks.close()
	}
	if b.member != nil {
		b.member.close()
	}
	switch {
	case b.quorumClosed:
	case b.meta != nil:
		if transfer && b.meta.IsController() && len(b.meta.State().LiveBrokers()) > 1 {
			// Hand the quorum over rather than leave it to an election.
			b.meta.TransferLeadership()
		}
		if err := b.meta.Close(); err != nil {
			errs = append(errs, fmt.Errorf("metadata quorum: %w", err))
		}
	case b.ctrlLn != nil:
		b.ctrlLn.Close()
	}
	b.quorumClosed = true
	return errs
}

// LogEndOffset returns the log end offset of this broker's replica of a
// partition, leader or follower: how far it has replicated.
func (b *Broker) LogEndOffset(topic string, partition int32) (int64, error) {
	p, ok := b.parts.Get(topic, partition)
	if !ok {
		return 0, fmt.Errorf("broker %d holds no replica of %s-%d", b.cfg.NodeID, topic, partition)
	}
	return p.EndOffset(), nil
}

// partitionExists reports whether the metadata has the partition.
func (b *Broker) partitionExists(topic string, partition int32) bool {
	t, ok := b.meta.Topic(topic)
	return ok && partition >= 0 && partition < t.Partitions
}
