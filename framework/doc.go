// Package framework wires kspring into a go.uber.org/fx application the way
// Spring Boot auto-configures Spring for Apache Kafka.
//
// Start from [Module]: one fx option gives configuration (Spring Boot's
// spring.kafka.* keys from application.yml and the environment), a zap
// logger, the sarama client, a default Template[string, string], the
// listener registry, topic declarations created at start, and [Health]:
//
//	fx.New(
//		framework.Module(),
//		framework.Topic(framework.NewTopic{Name: "orders", Partitions: 3}),
//		framework.Listener(func(s *Billing) listener.Endpoint {
//			return listener.Listen("billing", s.OnOrder, listener.Topics("orders"))
//		}),
//	).Run()
//
// Configuration is read as Spring Boot reads it (see [LoadProperties]):
// application.yml or .properties, imports, the profile-specific files and
// documents of the active profiles, and the environment in Spring's relaxed
// form; ${key:default} placeholders are resolved in every spring.kafka value
// ([LoadConfig]), and a placeholder that does not resolve stops the start
// naming the key and the file. Serializer and deserializer class names
// select the serde; spring.kafka.*.properties reach sarama where it can
// honour them, and the others are logged once as ignored.
//
// A listener is a constructor whose dependencies fx injects, returning a
// listener.Endpoint: the Go form of an annotated bean method. Typed
// templates come from [ProvideTemplate].
//
// Transactions: spring.kafka.producer.transaction-id-prefix makes every
// template transactional and, as Spring Boot puts a KafkaTransactionManager
// on the container factory, runs every listener's records in transactions
// of the template of bytes (which also publishes dead letters and replies):
// a handler's sends through any template with the handler's context join
// the record's transaction, and consumers read committed data unless
// spring.kafka.consumer.isolation-level says otherwise. listener.NoTransactions
// opts an endpoint out.
//
// With no bootstrap servers configured the module starts kspring's bundled
// broker in-process (the embedded default) and logs where its data lives.
//
// Observability, as Spring Boot Actuator: management.server.port starts
// the [Actuator] server with /actuator/health ([Health.Report] in
// Actuator's JSON, 503 when DOWN) and, when exposed
// (management.endpoints.web.exposure.include=health,prometheus),
// /actuator/prometheus with Spring Kafka's spring.kafka.template and
// spring.kafka.listener timers and the listeners' lag (package observe
// names them). A trace.TracerProvider in the fx graph makes templates and
// listeners trace records across the broker with W3C traceparent headers
// (management.tracing.enabled=false, or spring.kafka.template /
// spring.kafka.listener .observation-enabled=false, turn it off).
//
// Lifecycle: the embedded broker (if any) starts first; declared topics are
// created before listeners start; on stop, listeners drain and commit, then
// templates flush and close, then the client, then the embedded broker.
//
// fx lives only in this package: template, listener and serde work without it.
package framework
