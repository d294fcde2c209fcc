package template

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/IBM/sarama"

	"github.com/kspring/kspring/serde"
)

// ErrConfig is wrapped by every error about an invalid Config or client
// configuration.
var ErrConfig = errors.New("template: invalid config")

// Config holds the producer settings a user writes in a file, under the names
// of Spring Boot's spring.kafka.producer.* keys. The zero value is usable: every
// unset field takes Kafka's Java producer default, except where noted.
//
// Properties carries Kafka's dotted producer property names as Spring's
// spring.kafka.producer.properties.* does ("enable.idempotence", "linger.ms",
// "max.request.size", ...). As in Spring, a known property overrides the field
// of the same meaning; the spring.json.* serializer settings configure a JSON
// serializer the config selects; other properties are ignored
// (KnownProducerProperties lists the ones honoured).
//
// Config is a plain value; it is safe to copy.
type Config struct {
	// Acks is "all" (the same as "-1"), "1" or "0". Default "all".
	Acks string `yaml:"acks"`
	// Retries is how many times a failed batch is resent. Default: as many as
	// fit in DeliveryTimeoutMs with exponential back-off, like Java's
	// MAX_INT bounded by delivery.timeout.ms. Capped at 1000.
	Retries *int `yaml:"retries"`
	// EnableIdempotence turns on the idempotent producer. It needs acks=all
	// and at least one retry, and sends one request at a time per broker
	// (sarama's limit). Default off, unlike Java 3.x: not every Kafka-protocol
	// broker supports it.
	EnableIdempotence *bool `yaml:"enable-idempotence"`
	// CompressionType is "none", "gzip", "snappy", "lz4" or "zstd". Default none.
	CompressionType string `yaml:"compression-type"`
	// BatchSize is the batch size that triggers a send when LingerMs is set.
	// Default 16KB.
	BatchSize DataSize `yaml:"batch-size"`
	// LingerMs is how long records wait for a fuller batch. Default 0: send as
	// soon as possible.
	LingerMs int `yaml:"linger-ms"`
	// BufferMemory bounds the bytes of records sent but not yet acknowledged.
	// Send waits up to MaxBlockMs for room, then fails with ErrBufferFull.
	// Default 32MB.
	BufferMemory DataSize `yaml:"buffer-memory"`
	// ClientID names the producer in broker logs and quotas. Default "kspring".
	ClientID string `yaml:"client-id"`
	// MaxRequestSize is the largest record the producer sends; larger ones
	// fail at once with ErrRecordTooLarge. Default 1MB.
	MaxRequestSize DataSize `yaml:"max-request-size"`
	// RequestTimeoutMs bounds each request to a broker. Default 30000.
	RequestTimeoutMs int `yaml:"request-timeout-ms"`
	// DeliveryTimeoutMs bounds the time from Send to the future completing.
	// Keep it at least LingerMs + RequestTimeoutMs. Default 120000.
	DeliveryTimeoutMs int `yaml:"delivery-timeout-ms"`
	// MaxBlockMs bounds how long Send waits for buffer room and how long
	// topic metadata may take. Default 60000.
	MaxBlockMs int `yaml:"max-block-ms"`
	// AllowAutoCreateTopics asks the broker to create a topic on first use, if
	// the broker allows it. Default true.
	AllowAutoCreateTopics *bool `yaml:"allow-auto-create-topics"`
	// KeySerializer and ValueSerializer are Java class names
	// (org.apache.kafka.common.serialization.StringSerializer, Spring's
	// org.springframework.kafka.support.serializer.JsonSerializer, ...) that
	// select the serde of a template with no WithKeySerializer or
	// WithValueSerializer option: see serde.SerializerFor, which also reads
	// the spring.json.* Properties. Default: serde.For of the template's type.
	// The properties key.serializer and value.serializer override them.
	KeySerializer   string `yaml:"key-serializer"`
	ValueSerializer string `yaml:"value-serializer"`
	// TransactionIDPrefix makes the template transactional (Spring's
	// spring.kafka.producer.transaction-id-prefix): its producer gets
	// transactional.id = prefix + n, n counting from 0 the transactional
	// templates built in this process with that prefix, as Spring's
	// DefaultKafkaProducerFactory numbers its producers. It implies
	// enable-idempotence, acks=all and retries > 0. See
	// Template.ExecuteInTransaction. Default: not transactional.
	TransactionIDPrefix string `yaml:"transaction-id-prefix"`
	// Properties are Kafka producer properties by their dotted names.
	Properties map[string]string `yaml:"properties"`
}

// Defaults, as in Kafka's Java producer.
const (
	defaultBatchSize       = 16 * Kilobyte
	defaultBufferMemory    = 32 * Megabyte
	defaultMaxRequestSize  = 1 * Megabyte
	defaultRequestTimeout  = 30 * time.Second
	defaultDeliveryTimeout = 120 * time.Second
	defaultMaxBlock        = 60 * time.Second
	defaultRetryBackoff    = 100 * time.Millisecond
	defaultRetryBackoffMax = time.Second
	defaultClientID        = "kspring"
	defaultTxnTimeout      = time.Minute
	maxRetries             = 1000
	maxConnectTimeout      = 10 * time.Second
)

// settings is a Config resolved: properties applied, defaults filled, checked.
type settings struct {
	acks            sarama.RequiredAcks
	retries         int
	idempotent      bool
	compression     sarama.CompressionCodec
	batchSize       int
	linger          time.Duration
	bufferMemory    int64
	clientID        string
	maxRequestSize  int
	requestTimeout  time.Duration
	deliveryTimeout time.Duration
	maxBlock        time.Duration
	autoCreate      bool
	retryBackoff    time.Duration
	retryBackoffMax time.Duration
	maxInFlight     int
	keyClass        string // Java serializer class names, properties applied
	valueClass      string
	txnPrefix       string        // transaction-id-prefix; "" if not transactional
	txnTimeout      time.Duration // transaction.timeout.ms
}

// Sarama checks c and maps it onto a new sarama config for a producer that a
// Template can use: Return.Successes and Return.Errors on, the partitioner
// set to NewPartitioner, and metadata fetched per topic on first use as the
// Java producer does (Metadata.Full off). A transaction-id-prefix makes the
// config idempotent but sets no Producer.Transaction.ID: a transactional
// template builds its producer's own client from the config, with the
// transactional.id it numbers (see TransactionIDPrefix). The caller may change the result
// further, for example to add TLS or SASL, before passing it to
// sarama.NewClient.
func (c Config) Sarama() (*sarama.Config, error) {
	s, err := c.resolve()
	if err != nil {
		return nil, err
	}
	sc := sarama.NewConfig()
	sc.Version = sarama.DefaultVersion
	sc.ClientID = s.clientID

	sc.Producer.RequiredAcks = s.acks
	sc.Producer.Idempotent = s.idempotent
	if s.idempotent {
		sc.Net.MaxOpenRequests = 1
	} else if s.maxInFlight > 0 {
		sc.Net.MaxOpenRequests = s.maxInFlight
	}
	sc.Producer.Retry.Max = s.retries
	backoff, backoffMax := s.retryBackoff, s.retryBackoffMax
	sc.Producer.Retry.Backoff = backoff
	sc.Producer.Retry.BackoffFunc = func(retries, _ int) time.Duration {
		return expBackoff(backoff, backoffMax, retries)
	}
	sc.Producer.Compression = s.compression
	sc.Producer.MaxMessageBytes = s.maxRequestSize
	if s.linger > 0 {
		// sarama waits for Bytes only with a Frequency to bound the wait.
		sc.Producer.Flush.Frequency = s.linger
		sc.Producer.Flush.Bytes = s.batchSize
	}
	sc.Producer.Timeout = s.requestTimeout
	sc.Producer.Return.Successes = true
	sc.Producer.Return.Errors = true
	sc.Producer.Partitioner = NewPartitioner

	sc.Net.DialTimeout = min(s.requestTimeout, maxConnectTimeout)
	sc.Net.ReadTimeout = s.requestTimeout
	sc.Net.WriteTimeout = s.requestTimeout
	sc.Metadata.Full = false
	sc.Metadata.Timeout = s.maxBlock
	sc.Metadata.AllowAutoTopicCreation = s.autoCreate

	if err := sc.Validate(); err != nil {
		return nil, fmt.Errorf("%w: sarama: %w", ErrConfig, err)
	}
	return sc, nil
}

func expBackoff(base, ceiling time.Duration, retries int) time.Duration {
	d := base
	for i := 0; i < retries && d < ceiling; i++ {
		d *= 2
	}
	return min(d, ceiling)
}

// resolve applies properties over the fields, fills defaults and validates.
func (c Config) resolve() (settings, error) {
	if err := c.applyProperties(); err != nil {
		return settings{}, err
	}
	var s settings
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: %s: "+format, append([]any{ErrConfig, key}, args...)...))
	}

	switch strings.ToLower(strings.TrimSpace(c.Acks)) {
	case "", "all", "-1":
		s.acks = sarama.WaitForAll
	case "1":
		s.acks = sarama.WaitForLocal
	case "0":
		s.acks = sarama.NoResponse
	default:
		bad("acks", "%q is not all, -1, 1 or 0", c.Acks)
	}

	s.idempotent = c.EnableIdempotence != nil && *c.EnableIdempotence
	if s.idempotent && s.acks != sarama.WaitForAll {
		bad("enable-idempotence", "the idempotent producer needs acks=all, not %q", c.Acks)
	}
	s.txnPrefix = strings.TrimSpace(c.TransactionIDPrefix)
	if s.txnPrefix != "" {
		switch {
		case c.EnableIdempotence != nil && !*c.EnableIdempotence:
			bad("transaction-id-prefix", "a transactional producer is idempotent; enable-idempotence=false contradicts it")
		case s.acks != sarama.WaitForAll:
			bad("transaction-id-prefix", "a transactional producer needs acks=all, not %q", c.Acks)
		case c.Retries != nil && *c.Retries == 0:
			bad("transaction-id-prefix", "a transactional producer needs retries > 0")
		}
		s.idempotent = true
	}

	switch strings.ToLower(strings.TrimSpace(c.CompressionType)) {
	case "", "none":
		s.compression = sarama.CompressionNone
	case "gzip":
		s.compression = sarama.CompressionGZIP
	case "snappy":
		s.compression = sarama.CompressionSnappy
	case "lz4":
		s.compression = sarama.CompressionLZ4
	case "zstd":
		s.compression = sarama.CompressionZSTD
	default:
		bad("compression-type", "%q is not none, gzip, snappy, lz4 or zstd", c.CompressionType)
	}

	size := func(key string, v, def DataSize) int64 {
		switch {
		case v < 0:
			bad(key, "%d is negative", v)
		case v == 0:
			return int64(def)
		}
		return int64(v)
	}
	s.batchSize = int(size("batch-size", c.BatchSize, defaultBatchSize))
	s.bufferMemory = size("buffer-memory", c.BufferMemory, defaultBufferMemory)
	s.maxRequestSize = int(size("max-request-size", c.MaxRequestSize, defaultMaxRequestSize))

	millis := func(key string, v int, def time.Duration) time.Duration {
		switch {
		case v < 0:
			bad(key, "%d is negative", v)
		case v == 0:
			return def
		}
		return time.Duration(v) * time.Millisecond
	}
	if c.LingerMs < 0 {
		bad("linger-ms", "%d is negative", c.LingerMs)
	}
	s.linger = time.Duration(c.LingerMs) * time.Millisecond
	s.requestTimeout = millis("request-timeout-ms", c.RequestTimeoutMs, defaultRequestTimeout)
	s.deliveryTimeout = millis("delivery-timeout-ms", c.DeliveryTimeoutMs, defaultDeliveryTimeout)
	s.maxBlock = millis("max-block-ms", c.MaxBlockMs, defaultMaxBlock)
	s.retryBackoff = millis("retry.backoff.ms", intProp(c.Properties, "retry.backoff.ms"), defaultRetryBackoff)
	s.retryBackoffMax = max(s.retryBackoff,
		millis("retry.backoff.max.ms", intProp(c.Properties, "retry.backoff.max.ms"), defaultRetryBackoffMax))
	s.txnTimeout = millis("transaction.timeout.ms", intProp(c.Properties, "transaction.timeout.ms"), defaultTxnTimeout)
	s.maxInFlight = intProp(c.Properties, "max.in.flight.requests.per.connection")
	if s.maxInFlight < 0 {
		bad("max.in.flight.requests.per.connection", "%d is negative", s.maxInFlight)
	}

	switch {
	case c.Retries == nil:
		s.retries = retriesWithin(s.deliveryTimeout, s.retryBackoff, s.retryBackoffMax)
	case *c.Retries < 0:
		bad("retries", "%d is negative", *c.Retries)
	default:
		s.retries = min(*c.Retries, maxRetries)
	}
	if s.idempotent && c.Retries != nil && *c.Retries == 0 {
		bad("enable-idempotence", "the idempotent producer needs retries > 0")
	}

	s.clientID = c.ClientID
	if s.clientID == "" {
		s.clientID = defaultClientID
	}
	s.autoCreate = c.AllowAutoCreateTopics == nil || *c.AllowAutoCreateTopics
	for _, ks := range [][2]string{{"key-serializer", c.KeySerializer}, {"value-serializer", c.ValueSerializer}} {
		if _, err := serde.SerializerFormat(ks[1]); err != nil {
			errs = append(errs, fmt.Errorf("%w: %s: %w", ErrConfig, ks[0], err))
		}
	}
	if _, err := serde.ParseSpringJSON(c.Properties, false); err != nil {
		errs = append(errs, fmt.Errorf("%w: properties: %w", ErrConfig, err))
	}
	s.keyClass, s.valueClass = c.KeySerializer, c.ValueSerializer
	return s, errors.Join(errs...)
}

// retriesWithin returns how many retries with exponential back-off fit in d.
func retriesWithin(d, base, ceiling time.Duration) int {
	n, total := 0, time.Duration(0)
	for total < d && n < maxRetries {
		total += expBackoff(base, ceiling, n)
		n++
	}
	return max(n, 1)
}

// applyProperties copies the known dotted Kafka properties over c's fields.
// c is a copy: the caller's Config does not change.
func (c *Config) applyProperties() error {
	var errs []error
	keys := slices.Sorted(maps.Keys(c.Properties))
	for _, k := range keys {
		v := strings.TrimSpace(c.Properties[k])
		var err error
		switch k {
		case "acks":
			c.Acks = v
		case "retries":
			var n int
			n, err = strconv.Atoi(v)
			c.Retries = &n
		case "enable.idempotence":
			var b bool
			b, err = strconv.ParseBool(v)
			c.EnableIdempotence = &b
		case "compression.type":
			c.CompressionType = v
		case "batch.size":
			c.BatchSize, err = ParseDataSize(v)
		case "linger.ms":
			c.LingerMs, err = strconv.Atoi(v)
		case "buffer.memory":
			c.BufferMemory, err = ParseDataSize(v)
		case "client.id":
			c.ClientID = v
		case "max.request.size":
			c.MaxRequestSize, err = ParseDataSize(v)
		case "request.timeout.ms":
			c.RequestTimeoutMs, err = strconv.Atoi(v)
		case "delivery.timeout.ms":
			c.DeliveryTimeoutMs, err = strconv.Atoi(v)
		case "max.block.ms":
			c.MaxBlockMs, err = strconv.Atoi(v)
		case "allow.auto.create.topics":
			var b bool
			b, err = strconv.ParseBool(v)
			c.AllowAutoCreateTopics = &b
		case "retry.backoff.ms", "retry.backoff.max.ms", "max.in.flight.requests.per.connection", "transaction.timeout.ms":
			_, err = strconv.Atoi(v) // read by resolve
		case "key.serializer":
			c.KeySerializer = v
		case "value.serializer":
			c.ValueSerializer = v
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%w: properties %s=%q: %w", ErrConfig, k, v, err))
		}
	}
	return errors.Join(errs...)
}

// knownProducerProps lists the Kafka producer properties Config honours.
var knownProducerProps = []string{
	"acks", "allow.auto.create.topics", "batch.size", "buffer.memory", "client.id", "compression.type",
	"delivery.timeout.ms", "enable.idempotence", "key.serializer", "linger.ms", "max.block.ms",
	"max.in.flight.requests.per.connection", "max.request.size", "request.timeout.ms", "retries",
	"retry.backoff.max.ms", "retry.backoff.ms", "transaction.timeout.ms", "value.serializer",
}

// KnownProducerProperties returns the Kafka producer property names Config
// honours, sorted. spring.json.* serializer settings are serde's (see
// serde.SpringJSONProperties).
func KnownProducerProperties() []string { return slices.Clone(knownProducerProps) }

func intProp(props map[string]string, key string) int {
	n, _ := strconv.Atoi(strings.TrimSpace(props[key]))
	return n
}
