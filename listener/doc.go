// Package listener is the consumer half of kspring: Spring for Apache
// Kafka's @KafkaListener model for Go, on IBM/sarama consumer groups. It is
// usable without fx; package framework wires it into an fx application.
//
// Start from an [Endpoint]: a typed handler plus its "annotation" options.
// The handler forms are checked by the compiler through generics:
//
//	listener.Listen("orders", func(ctx context.Context, o Order) error { ... },
//		listener.Topics("orders"), listener.Concurrency(3))
//	listener.ListenRecord("audit", func(ctx context.Context, r *listener.Record[Order]) error { ... }, ...)
//	listener.ListenBatch("bulk", func(ctx context.Context, rs []*listener.Record[Order]) error { ... }, ...)
//	listener.ListenReply("quotes", func(ctx context.Context, q Query) (Quote, error) { ... }, ...)
//
// Values are deserialized with serde.For[T]() unless [ValueDeserializer]
// says otherwise; string options accept ${property} placeholders.
//
// A [Registry] turns endpoints into [Container]s ([Registry.Register]),
// starts and stops them, and finds them by id to stop, start, pause, resume
// or seek at run time ([Registry.Container]). [NewRegistry] takes the
// brokers and a [Config] with Spring Boot's spring.kafka.consumer.* and
// spring.kafka.listener.* names.
//
// A container runs Concurrency members of the endpoint's consumer group,
// each on its own sarama client (Spring's concurrency), or consumes
// explicit [Partitions] without group management. Records of a partition
// are delivered in offset order, one at a time; a member delivers one
// record (or batch) at a time, so a handler runs on at most Concurrency
// goroutines at once. Auto-commit is off: the container marks a record's
// offset only once it is processed, filtered or recovered, and commits as
// the [AckMode] says (RECORD, BATCH, MANUAL, MANUAL_IMMEDIATE, COUNT, TIME),
// so delivery is at-least-once. On a rebalance or a stop, a member finishes
// the record (or batch) in hand, commits what was processed and lets the
// partitions go; records it had fetched but not delivered go to the next
// owner.
//
// Failed deliveries go to an [ErrorHandler]. The [DefaultErrorHandler]
// delivers again after a [BackOff] ([FixedBackOff], [ExponentialBackOff];
// ten deliveries by default), never for errors that cannot succeed later (a
// *serde.DeserializationError, errors wrapped with [NotRetryable]), then
// hands the record to a [Recoverer] such as the [DeadLetterRecoverer],
// which publishes to "<topic>-dlt" with Spring's kafka_dlt-* headers. A
// handler panic is recovered as a [*PanicError]. Back-off waits watch the
// group session, so they never make a member miss a rebalance. [RetryTopics]
// gives Spring's non-blocking retries instead: retry topics with delays,
// honoured by pausing the partition, then the dead-letter topic.
//
// Replies: a [ListenReply] handler's result goes to a reply topic with the
// request's correlation id; a [ReplyingTemplate] sends requests and waits
// for their replies. Dead letters, retries and replies are published with
// a [Sender], which a *template.Template[[]byte, []byte] is.
//
// Transactions: with a [TransactionManager] (a transactional
// *template.Template, through [WithTransactionManager] or [Transactions]) a
// container processes each record or batch in a Kafka transaction, as
// Spring's KafkaTransactionManager on a container factory: the handler's
// sends through that template (with the handler's ctx), replies, dead
// letters and the record's offset commit together or not at all, and a
// rolled-back record is delivered again, the error handler deciding in a
// transaction as Spring's DefaultAfterRollbackProcessor does. Such
// containers read with isolation.level read_committed unless configured
// otherwise. See TransactionManager.
//
// Concurrency: a Registry, a Container and a ReplyingTemplate are safe for
// concurrent use. Handlers, filters, interceptors, error handlers and
// recoverers are called from the containers' goroutines, several at once
// for different partitions when Concurrency > 1 or across containers, so
// they must be safe for concurrent use. Hooks (assigned, revoked, lost) run
// on a member's rebalance goroutine and must return promptly.
package listener
