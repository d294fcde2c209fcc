package listener

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/IBM/sarama"

	"github.com/kspring/kspring/serde"
	"github.com/kspring/kspring/template"
)

// Config holds the consumer and container settings a user writes in a file,
// under the names of Spring Boot's spring.kafka.consumer.* and
// spring.kafka.listener.* keys. The zero value is usable: every unset field
// takes the default of Kafka's Java consumer or of Spring's container.
//
// Config is a plain value; it is safe to copy.
type Config struct {
	Consumer ConsumerConfig  `yaml:"consumer"`
	Listener ContainerConfig `yaml:"listener"`
}

// ConsumerConfig is spring.kafka.consumer.*.
//
// Properties carries Kafka's dotted consumer property names as Spring's
// spring.kafka.consumer.properties.* does ("session.timeout.ms",
// "max.poll.interval.ms", "partition.assignment.strategy", ...). As in
// Spring, a known property overrides the field of the same meaning, and an
// endpoint's ConsumerProperties override both; the spring.json.* settings
// configure a JSON deserializer; properties this package does not know are
// ignored (KnownConsumerProperties lists the ones honoured).
type ConsumerConfig struct {
	// GroupID is the consumer group of endpoints that name none and do not
	// use their id as group (see IDIsGroup).
	GroupID string `yaml:"group-id"`
	// AutoOffsetReset is where a group without a committed offset starts:
	// "earliest" or "latest" (Kafka's default).
	AutoOffsetReset string `yaml:"auto-offset-reset"`
	// ClientID prefixes the client ids of the consumers; each member of a
	// container appends "-<n>". Default "kspring-<listener id>".
	ClientID string `yaml:"client-id"`
	// MaxPollRecords bounds the records taken from a partition in one go:
	// the size of a batch for batch listeners and AckBatch. Default 500.
	MaxPollRecords int `yaml:"max-poll-records"`
	// FetchMinSize is the least data a fetch waits for. Default 1 byte.
	FetchMinSize template.DataSize `yaml:"fetch-min-size"`
	// FetchMaxWait bounds how long a fetch waits for FetchMinSize. Default 500ms.
	FetchMaxWait Duration `yaml:"fetch-max-wait"`
	// HeartbeatInterval is the time between heartbeats to the group
	// coordinator; members notice a rebalance within it. Default 3s.
	HeartbeatInterval Duration `yaml:"heartbeat-interval"`
	// IsolationLevel is "read_uncommitted" (default) or "read_committed".
	IsolationLevel string `yaml:"isolation-level"`
	// EnableAutoCommit must be unset or false: the container commits.
	EnableAutoCommit *bool `yaml:"enable-auto-commit"`
	// AutoCommitInterval is accepted for compatibility and has no effect:
	// the container commits, not the client.
	AutoCommitInterval Duration `yaml:"auto-commit-interval"`
	// MaxPollInterval is max.poll.interval.ms: how long a handler may take
	// before the member is considered failed (sarama's rebalance timeout).
	// Default 5m.
	MaxPollInterval Duration `yaml:"max-poll-interval"`
	// KeyDeserializer and ValueDeserializer are Java class names
	// (org.apache.kafka.common.serialization.StringDeserializer, Spring's
	// JsonDeserializer or ErrorHandlingDeserializer with
	// spring.deserializer.value.delegate.class, ...). ValueDeserializer
	// selects the value deserializer of endpoints with no ValueDeserializer
	// option, through serde.DeserializerFor, which also reads the
	// spring.json.* Properties; the properties key.deserializer and
	// value.deserializer, also an endpoint's, override it. Keys reach
	// handlers as bytes: KeyDeserializer is checked and otherwise unused.
	// Default: serde.For of the handler's type.
	KeyDeserializer   string `yaml:"key-deserializer"`
	ValueDeserializer string `yaml:"value-deserializer"`
	// Properties are Kafka consumer properties by their dotted names.
	Properties map[string]string `yaml:"properties"`
}

// ContainerConfig is spring.kafka.listener.*.
type ContainerConfig struct {
	// AckMode is the default ack mode, by Spring's name. Default "BATCH".
	AckMode string `yaml:"ack-mode"`
	// Concurrency is the default number of consumers per container. Default 1.
	Concurrency int `yaml:"concurrency"`
	// PollTimeout is accepted for compatibility and has no effect: sarama
	// fetches in the background, so the container has no poll to time out.
	PollTimeout Duration `yaml:"poll-timeout"`
	// AckCount is the record count of the COUNT ack modes. Default 1.
	AckCount int `yaml:"ack-count"`
	// AckTime is the interval of the TIME ack modes. Default 5s.
	AckTime Duration `yaml:"ack-time"`
	// MissingTopicsFatal makes a container fail to start when one of its
	// topics does not exist. Default false.
	MissingTopicsFatal bool `yaml:"missing-topics-fatal"`
	// AutoStartup says whether Registry.Start starts containers. Default true.
	AutoStartup *bool `yaml:"auto-startup"`
	// ClientID, when set, prefixes client ids instead of the consumer's.
	ClientID string `yaml:"client-id"`
	// Type is "single" or "batch". It is checked and otherwise has no
	// effect: the handler's form (Listen or ListenBatch) decides.
	Type string `yaml:"type"`
}

// Kafka's Java consumer defaults, and Spring's container defaults.
const (
	defaultMaxPollRecords  = 500
	defaultFetchMaxWait    = 500 * time.Millisecond
	defaultFetchMaxBytes   = 50 * 1024 * 1024
	defaultPartitionFetch  = 1024 * 1024
	defaultHeartbeat       = 3 * time.Second
	defaultSessionTimeout  = 45 * time.Second
	defaultMaxPollInterval = 5 * time.Minute
	defaultRequestTimeout  = 30 * time.Second
	defaultMetadataMaxAge  = 5 * time.Minute
	defaultRetryBackoff    = 100 * time.Millisecond
	defaultAckTime         = 5 * time.Second
)

// consumerSettings is the consumer configuration of one container: Config
// fields, Config properties and the endpoint's properties, resolved.
type consumerSettings struct {
	explicit map[string]bool // Kafka property names given, not defaulted

	groupID         string
	clientID        string
	initial         int64 // sarama.OffsetOldest or OffsetNewest
	maxPollRecords  int
	fetchMin        int32
	fetchMaxWait    time.Duration
	fetchMax        int32
	partitionFetch  int32
	heartbeat       time.Duration
	session         time.Duration
	maxPollInterval time.Duration
	requestTimeout  time.Duration
	metadataMaxAge  time.Duration
	retryBackoff    time.Duration
	isolation       sarama.IsolationLevel
	instanceID      string
	strategies      []sarama.BalanceStrategy
	autoCreate      bool
}

// consumerProps flattens the fields of c into Kafka property names, then
// lays c.Properties and each of overrides over them.
func (c ConsumerConfig) props(overrides ...map[string]string) map[string]string {
	p := map[string]string{}
	set := func(k, v string) {
		if v != "" {
			p[k] = v
		}
	}
	set("group.id", c.GroupID)
	set("auto.offset.reset", c.AutoOffsetReset)
	set("client.id", c.ClientID)
	if c.MaxPollRecords != 0 {
		p["max.poll.records"] = strconv.Itoa(c.MaxPollRecords)
	}
	if c.FetchMinSize != 0 {
		p["fetch.min.bytes"] = strconv.FormatInt(int64(c.FetchMinSize), 10)
	}
	if c.FetchMaxWait != 0 {
		p["fetch.max.wait.ms"] = strconv.FormatInt(c.FetchMaxWait.D().Milliseconds(), 10)
	}
	if c.HeartbeatInterval != 0 {
		p["heartbeat.interval.ms"] = strconv.FormatInt(c.HeartbeatInterval.D().Milliseconds(), 10)
	}
	set("isolation.level", c.IsolationLevel)
	if c.MaxPollInterval != 0 {
		p["max.poll.interval.ms"] = strconv.FormatInt(c.MaxPollInterval.D().Milliseconds(), 10)
	}
	set("key.deserializer", c.KeyDeserializer)
	set("value.deserializer", c.ValueDeserializer)
	if c.EnableAutoCommit != nil {
		p["enable.auto.commit"] = strconv.FormatBool(*c.EnableAutoCommit)
	}
	maps.Copy(p, c.Properties)
	for _, o := range overrides {
		maps.Copy(p, o)
	}
	return p
}

// resolveConsumer parses the Kafka properties in p, filling Kafka's defaults.
func resolveConsumer(p map[string]string) (consumerSettings, error) {
	s := consumerSettings{explicit: map[string]bool{}}
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: %s: "+format, append([]any{ErrConfig, key}, args...)...))
	}
	get := func(key string) (string, bool) {
		v, ok := p[key]
		v = strings.TrimSpace(v)
		if ok && v != "" {
			s.explicit[key] = true
			return v, true
		}
		return "", false
	}
	num := func(key string, def, lo int64) int64 {
		v, ok := get(key)
		if !ok {
			return def
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < lo {
			bad(key, "%q is not a whole number >= %d", v, lo)
			return def
		}
		return n
	}
	millis := func(key string, def time.Duration, lo int64) time.Duration {
		return time.Duration(num(key, def.Milliseconds(), lo)) * time.Millisecond
	}

	s.groupID, _ = get("group.id")
	s.clientID, _ = get("client.id")
	s.instanceID, _ = get("group.instance.id")

	s.initial = sarama.OffsetNewest
	if v, ok := get("auto.offset.reset"); ok {
		switch strings.ToLower(v) {
		case "latest":
		case "earliest":
			s.initial = sarama.OffsetOldest
		default:
			bad("auto.offset.reset", "%q is not earliest or latest", v)
		}
	}
	s.maxPollRecords = int(num("max.poll.records", defaultMaxPollRecords, 1))
	s.fetchMin = int32(num("fetch.min.bytes", 1, 1))
	s.fetchMaxWait = millis("fetch.max.wait.ms", defaultFetchMaxWait, 1)
	s.fetchMax = int32(num("fetch.max.bytes", defaultFetchMaxBytes, 1))
	s.partitionFetch = int32(num("max.partition.fetch.bytes", defaultPartitionFetch, 1))
	s.heartbeat = millis("heartbeat.interval.ms", defaultHeartbeat, 1)
	s.session = millis("session.timeout.ms", defaultSessionTimeout, 1)
	s.maxPollInterval = millis("max.poll.interval.ms", defaultMaxPollInterval, 1)
	s.requestTimeout = millis("request.timeout.ms", defaultRequestTimeout, 1)
	s.metadataMaxAge = millis("metadata.max.age.ms", defaultMetadataMaxAge, 1)
	s.retryBackoff = millis("retry.backoff.ms", defaultRetryBackoff, 0)
	if s.heartbeat >= s.session {
		bad("heartbeat.interval.ms", "%v must be lower than session.timeout.ms %v", s.heartbeat, s.session)
	}

	s.isolation = sarama.ReadUncommitted
	if v, ok := get("isolation.level"); ok {
		switch strings.ToLower(v) {
		case "read_uncommitted":
		case "read_committed":
			s.isolation = sarama.ReadCommitted
		default:
			bad("isolation.level", "%q is not read_uncommitted or read_committed", v)
		}
	}
	s.autoCreate = true
	if v, ok := get("allow.auto.create.topics"); ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			bad("allow.auto.create.topics", "%q is not a boolean", v)
		}
		s.autoCreate = b
	}
	if v, ok := get("enable.auto.commit"); ok {
		if b, err := strconv.ParseBool(v); err != nil || b {
			bad("enable.auto.commit", "%q: the container commits offsets itself; leave it unset or false", v)
		}
	}

	for _, key := range []string{"key.deserializer", "value.deserializer"} {
		if _, err := serde.DeserializerFormat(p[key], p, key == "key.deserializer"); err != nil {
			bad(key, "%v", err)
		}
	}
	if _, err := serde.ParseSpringJSON(p, false); err != nil {
		bad("properties", "%v", err)
	}

	s.strategies = []sarama.BalanceStrategy{sarama.NewBalanceStrategyRange()}
	if v, ok := get("partition.assignment.strategy"); ok {
		st, err := parseStrategies(v)
		if err != nil {
			bad("partition.assignment.strategy", "%v", err)
		} else {
			s.strategies = st
		}
	}
	return s, errors.Join(errs...)
}

// parseStrategies maps Kafka's assignor class names (or their short names)
// to sarama's eager strategies. Cooperative assignors are skipped when an
// eager one is listed, as Kafka's default "range, cooperative-sticky" does;
// alone they are refused: the container relies on eager rebalancing.
func parseStrategies(v string) ([]sarama.BalanceStrategy, error) {
	var out []sarama.BalanceStrategy
	cooperative := false
	for name := range strings.SplitSeq(v, ",") {
		n := strings.ToLower(strings.TrimSpace(name))
		n = n[strings.LastIndex(n, ".")+1:]
		switch strings.TrimSuffix(n, "assignor") {
		case "range":
			out = append(out, sarama.NewBalanceStrategyRange())
		case "roundrobin", "round-robin", "round_robin":
			out = append(out, sarama.NewBalanceStrategyRoundRobin())
		case "sticky":
			out = append(out, sarama.NewBalanceStrategySticky())
		case "cooperativesticky", "cooperative-sticky", "cooperative_sticky":
			cooperative = true
		case "":
		default:
			return nil, fmt.Errorf("unknown assignor %q (range, roundrobin, sticky)", strings.TrimSpace(name))
		}
	}
	if len(out) == 0 {
		if cooperative {
			return nil, errors.New("cooperative rebalancing is not supported; use range, roundrobin or sticky")
		}
		return nil, errors.New("no assignor named")
	}
	return out, nil
}

// saramaConfig returns the sarama config of member n of a container. With a
// base, only the settings given explicitly override it; without, Kafka's
// defaults fill every setting.
func (s consumerSettings) saramaConfig(base *sarama.Config, clientID string) (*sarama.Config, error) {
	var sc *sarama.Config
	all := base == nil
	if base == nil {
		sc = sarama.NewConfig()
		sc.Version = sarama.DefaultVersion
	} else {
		c := *base
		sc = &c
		if !sc.Version.IsAtLeast(sarama.V0_11_0_0) {
			return nil, fmt.Errorf("%w: sarama Version %s is older than 0.11 (record headers)", ErrConfig, sc.Version)
		}
	}
	given := func(keys ...string) bool {
		if all {
			return true
		}
		for _, k := range keys {
			if s.explicit[k] {
				return true
			}
		}
		return false
	}
	sc.ClientID = clientID
	if given("auto.offset.reset") {
		sc.Consumer.Offsets.Initial = s.initial
	}
	if given("fetch.min.bytes") {
		sc.Consumer.Fetch.Min = s.fetchMin
	}
	if given("fetch.max.wait.ms") {
		sc.Consumer.MaxWaitTime = s.fetchMaxWait
	}
	if given("fetch.max.bytes") {
		sc.Consumer.Fetch.Max = s.fetchMax
	}
	if given("max.partition.fetch.bytes") {
		sc.Consumer.Fetch.Default = s.partitionFetch
	}
	if given("heartbeat.interval.ms") {
		sc.Consumer.Group.Heartbeat.Interval = s.heartbeat
	}
	if given("session.timeout.ms") {
		sc.Consumer.Group.Session.Timeout = s.session
	}
	if given("max.poll.interval.ms") {
		sc.Consumer.Group.Rebalance.Timeout = s.maxPollInterval
	}
	if given("request.timeout.ms") {
		sc.Net.ReadTimeout = s.requestTimeout
		sc.Net.WriteTimeout = s.requestTimeout
		sc.Net.DialTimeout = min(s.requestTimeout, 10*time.Second)
	}
	if given("metadata.max.age.ms") {
		sc.Metadata.RefreshFrequency = s.metadataMaxAge
	}
	if given("retry.backoff.ms") {
		sc.Consumer.Retry.Backoff = s.retryBackoff
		sc.Metadata.Retry.Backoff = s.retryBackoff
		sc.Consumer.Group.Rebalance.Retry.Backoff = max(s.retryBackoff, 100*time.Millisecond)
	}
	if given("isolation.level") {
		sc.Consumer.IsolationLevel = s.isolation
	}
	if given("partition.assignment.strategy") {
		sc.Consumer.Group.Rebalance.Strategy = nil //nolint:staticcheck // cleared so GroupStrategies rules
		sc.Consumer.Group.Rebalance.GroupStrategies = s.strategies
	}
	if given("allow.auto.create.topics") {
		sc.Metadata.AllowAutoTopicCreation = s.autoCreate
	}
	if all {
		sc.Metadata.Full = false
		sc.Consumer.Group.Rebalance.Retry.Backoff = 250 * time.Millisecond
	}
	sc.Consumer.Group.InstanceId = s.instanceID
	// What the container relies on, whatever the base says.
	sc.Consumer.Offsets.AutoCommit.Enable = false
	sc.Consumer.Return.Errors = true
	sc.ChannelBufferSize = max(sc.ChannelBufferSize, 1)
	if err := sc.Validate(); err != nil {
		return nil, fmt.Errorf("%w: sarama: %w", ErrConfig, err)
	}
	return sc, nil
}

// containerSettings is ContainerConfig resolved.
type containerSettings struct {
	ackMode            AckMode
	concurrency        int
	ackCount           int
	ackTime            time.Duration
	missingTopicsFatal bool
	autoStartup        bool
	clientID           string
}

func (c ContainerConfig) resolve() (containerSettings, error) {
	s := containerSettings{
		ackMode:            AckBatch,
		concurrency:        max(c.Concurrency, 1),
		ackCount:           max(c.AckCount, 1),
		ackTime:            c.AckTime.D(),
		missingTopicsFatal: c.MissingTopicsFatal,
		autoStartup:        c.AutoStartup == nil || *c.AutoStartup,
		clientID:           c.ClientID,
	}
	var errs []error
	if c.AckMode != "" {
		m, err := ParseAckMode(c.AckMode)
		if err != nil {
			errs = append(errs, err)
		}
		s.ackMode = m
	}
	if s.ackTime <= 0 {
		s.ackTime = defaultAckTime
	}
	if c.Concurrency < 0 {
		errs = append(errs, fmt.Errorf("%w: concurrency: %d is negative", ErrConfig, c.Concurrency))
	}
	switch strings.ToLower(strings.TrimSpace(c.Type)) {
	case "", "single", "batch":
	default:
		errs = append(errs, fmt.Errorf("%w: type: %q is not single or batch", ErrConfig, c.Type))
	}
	return s, errors.Join(errs...)
}

// Sarama returns the sarama config the container would give a consumer of
// the group in c, without a base: handy for tools that want the same
// settings. The container sets its own client ids.
func (c Config) Sarama() (*sarama.Config, error) {
	s, err := resolveConsumer(c.Consumer.props())
	if err != nil {
		return nil, err
	}
	return s.saramaConfig(nil, cmp.Or(s.clientID, "kspring"))
}

// knownProps lists the Kafka consumer properties the container reads; the
// others are ignored as Spring ignores what the Java client does not know.
// spring.json.* deserializer settings are serde's (serde.SpringJSONProperties).
var knownProps = []string{
	"allow.auto.create.topics", "auto.offset.reset", "client.id", "enable.auto.commit",
	"fetch.max.bytes", "fetch.max.wait.ms", "fetch.min.bytes", "group.id", "group.instance.id",
	"heartbeat.interval.ms", "isolation.level", "key.deserializer", "max.partition.fetch.bytes",
	"max.poll.interval.ms", "max.poll.records", "metadata.max.age.ms", "partition.assignment.strategy",
	"request.timeout.ms", "retry.backoff.ms", "session.timeout.ms", "value.deserializer",
}

// KnownConsumerProperties returns the Kafka consumer property names the
// container honours, sorted.
func KnownConsumerProperties() []string { return slices.Clone(knownProps) }
