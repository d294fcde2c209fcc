package listener

import (
	"context"
	"maps"
	"time"
)

// Option is one element of an endpoint's "annotation", the Go form of an
// attribute of Spring's @KafkaListener. String values accept ${property}
// placeholders (and ${property:default}), resolved by Register. Options that
// carry a type (ValueDeserializer, ReplySerializer) are checked against the
// handler's types by Register, which fails with ErrConfig on a mismatch.
type Option func(*spec)

// Special initial offsets for Partitions.
const (
	// OffsetLatest starts after the last record of the partition.
	OffsetLatest int64 = -1
	// OffsetEarliest starts at the first record still in the partition.
	OffsetEarliest int64 = -2
	// OffsetCommitted starts at the group's committed offset, or where
	// auto-offset-reset says when there is none.
	OffsetCommitted int64 = -3
)

// spec is an endpoint's options as given, before placeholders are resolved.
type spec struct {
	topics         []string
	pattern        string
	partitions     []partitionSpec
	groupID        string
	idIsGroup      *bool
	concurrency    int
	autoStartup    *bool
	ackMode        *AckMode
	errorHandler   ErrorHandler
	filter         func(*RawRecord) bool
	interceptors   []RecordInterceptor
	replyTo        string
	props          map[string]string
	valueDeser     any
	replySer       any
	startOffset    string
	clientIDPrefix string
	onAssigned     func(ctx context.Context, assigned []TopicPartition, s Seeker)
	onRevoked      func(ctx context.Context, revoked []TopicPartition)
	onLost         func(ctx context.Context, lost []TopicPartition)
	retry          *RetryTopicConfig
	txm            TransactionManager
	noTxm          bool
}

type partitionSpec struct {
	topic   string
	offsets map[int32]int64
}

// Transactions runs the endpoint's records in transactions of tm, overriding
// the registry's WithTransactionManager; see TransactionManager.
func Transactions(tm TransactionManager) Option {
	return func(s *spec) { s.txm = tm }
}

// NoTransactions runs the endpoint without transactions even if the
// registry has a transaction manager.
func NoTransactions() Option {
	return func(s *spec) { s.noTxm = true }
}

// Topics adds topics to listen to (@KafkaListener topics).
func Topics(topics ...string) Option {
	return func(s *spec) { s.topics = append(s.topics, topics...) }
}

// TopicPattern listens to every topic whose whole name matches the regular
// expression (@KafkaListener topicPattern). Topics created later are picked
// up within metadata.max.age.ms. Internal topics (starting with "__") never
// match.
func TopicPattern(pattern string) Option {
	return func(s *spec) { s.pattern = pattern }
}

// Partitions assigns partitions of topic to the container explicitly, with
// no group rebalancing (@TopicPartition): offsets maps each partition to its
// initial offset at every start: an absolute offset, OffsetEarliest,
// OffsetLatest or OffsetCommitted. The group id, if any, is used only to
// commit offsets. Partitions may be used once per topic; it cannot be mixed
// with Topics or TopicPattern.
func Partitions(topic string, offsets map[int32]int64) Option {
	return func(s *spec) { s.partitions = append(s.partitions, partitionSpec{topic, maps.Clone(offsets)}) }
}

// GroupID sets the consumer group (@KafkaListener groupId).
func GroupID(id string) Option {
	return func(s *spec) { s.groupID = id }
}

// IDIsGroup says whether an endpoint without GroupID uses its id as group id
// (@KafkaListener idIsGroup). Default true, as in Spring; with false the
// group is the configured consumer group-id.
func IDIsGroup(b bool) Option {
	return func(s *spec) { s.idIsGroup = &b }
}

// Concurrency sets the number of consumers (group members) the container
// runs (@KafkaListener concurrency). Default: the listener concurrency of
// Config, 1 unless set.
func Concurrency(n int) Option {
	return func(s *spec) { s.concurrency = n }
}

// AutoStartup says whether Registry.Start starts the container
// (@KafkaListener autoStartup). Default: Config's auto-startup, true.
func AutoStartup(b bool) Option {
	return func(s *spec) { s.autoStartup = &b }
}

// WithAckMode sets the container's ack mode. Default: Config's, BATCH.
func WithAckMode(m AckMode) Option {
	return func(s *spec) { s.ackMode = &m }
}

// WithErrorHandler sets the endpoint's error handler. Default: the
// registry's (see the registry option WithErrorHandler).
func WithErrorHandler(h ErrorHandler) Option {
	return func(s *spec) { s.errorHandler = h }
}

// Filter discards records before they are deserialized, as Spring's
// RecordFilterStrategy: discard returns true for a record the handler must
// not see. Discarded records count as processed and are committed (in the
// manual ack modes, with the next record the handler acknowledges).
func Filter(discard func(*RawRecord) bool) Option {
	return func(s *spec) { s.filter = discard }
}

// Interceptor adds record interceptors (Spring's RecordInterceptor), called
// in the order added around each delivery.
func Interceptor(is ...RecordInterceptor) Option {
	return func(s *spec) { s.interceptors = append(s.interceptors, is...) }
}

// ReplyTo sets the topic the return value of a ListenReply handler is sent
// to (@SendTo). Without it the reply goes to the request's kafka_replyTopic
// header.
func ReplyTo(topic string) Option {
	return func(s *spec) { s.replyTo = topic }
}

// ReplySerializer sets the serializer of a ListenReply handler's result: a
// serde.Serializer[R]. Default serde.For[R]().
func ReplySerializer(ser any) Option {
	return func(s *spec) { s.replySer = ser }
}

// ConsumerProperties sets Kafka consumer properties for this endpoint only
// (@KafkaListener properties); they override Config's. Values accept
// placeholders.
func ConsumerProperties(props map[string]string) Option {
	return func(s *spec) {
		if s.props == nil {
			s.props = map[string]string{}
		}
		maps.Copy(s.props, props)
	}
}

// ValueDeserializer sets the value deserializer: a serde.Deserializer[T] for
// the handler's T. Default serde.For[T]().
func ValueDeserializer(d any) Option {
	return func(s *spec) { s.valueDeser = d }
}

// StartOffset sets where the group starts when it has no committed offset:
// "earliest" or "latest" (the endpoint's auto.offset.reset).
func StartOffset(reset string) Option {
	return func(s *spec) { s.startOffset = reset }
}

// ClientIDPrefix sets the prefix of the consumers' client ids
// (@KafkaListener clientIdPrefix); member n appends "-<n>".
func ClientIDPrefix(prefix string) Option {
	return func(s *spec) { s.clientIDPrefix = prefix }
}

// OnPartitionsAssigned sets a hook called when a member is assigned
// partitions, before any of their records is delivered. Seeks through s
// apply to the assigned partitions before consumption starts (Spring's
// ConsumerSeekAware.onPartitionsAssigned). The hook runs on the member's
// rebalance goroutine and must return promptly.
func OnPartitionsAssigned(fn func(ctx context.Context, assigned []TopicPartition, s Seeker)) Option {
	return func(s *spec) { s.onAssigned = fn }
}

// OnPartitionsRevoked sets a hook called when a member gives partitions up
// in an orderly way (a rebalance or a stop), after their processed offsets
// were committed.
func OnPartitionsRevoked(fn func(ctx context.Context, revoked []TopicPartition)) Option {
	return func(s *spec) { s.onRevoked = fn }
}

// OnPartitionsLost sets a hook called when a member lost its partitions
// without the chance to commit: it was fenced or expelled from the group.
func OnPartitionsLost(fn func(ctx context.Context, lost []TopicPartition)) Option {
	return func(s *spec) { s.onLost = fn }
}

// RetryTopics turns on non-blocking retries (Spring's @RetryableTopic): a
// failed record is republished to the next retry topic with a delay instead
// of being retried in place, then to the dead-letter topic. See
// RetryTopicConfig.
func RetryTopics(cfg RetryTopicConfig) Option {
	return func(s *spec) { c := cfg; s.retry = &c }
}

// Seeker moves the position of partitions: the next record delivered from
// the partition is the one at the new position. Container implements it for
// run-time seeks; OnPartitionsAssigned hooks get one for the partitions just
// assigned.
type Seeker interface {
	Seek(topic string, partition int32, offset int64) error
	SeekToBeginning(topic string, partition int32) error
	SeekToEnd(topic string, partition int32) error
	// SeekToTimestamp moves to the first record with a timestamp at or after
	// ts, or to the end if there is none.
	SeekToTimestamp(topic string, partition int32, ts time.Time) error
}

// RecordInterceptor sees each record around its delivery, as Spring's
// RecordInterceptor. Intercept runs before the handler and may return a
// derived context (for example with a tracing span) and false to skip the
// record, which then counts as processed. AfterRecord runs after the
// handler with its error, nil on success. Both run on the goroutine that
// delivers the record; for batch listeners they run once per record of the
// batch. Implementations must be safe for concurrent use.
type RecordInterceptor interface {
	Intercept(ctx context.Context, rec *RawRecord) (context.Context, bool)
	AfterRecord(ctx context.Context, rec *RawRecord, err error)
}

// InterceptorFuncs adapts functions to a RecordInterceptor; a nil field
// does nothing (and Intercept keeps every record).
type InterceptorFuncs struct {
	Before func(ctx context.Context, rec *RawRecord) (context.Context, bool)
	After  func(ctx context.Context, rec *RawRecord, err error)
}

// Intercept calls i.Before if set.
func (i InterceptorFuncs) Intercept(ctx context.Context, rec *RawRecord) (context.Context, bool) {
	if i.Before == nil {
		return ctx, true
	}
	return i.Before(ctx, rec)
}

// AfterRecord calls i.After if set.
func (i InterceptorFuncs) AfterRecord(ctx context.Context, rec *RawRecord, err error) {
	if i.After != nil {
		i.After(ctx, rec, err)
	}
}
