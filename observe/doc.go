// Package observe exports the framework's metrics to Prometheus under the
// names Spring Kafka and Micrometer give them, so a Spring service's
// dashboards work for its Go port.
//
// Start from [NewMetrics]: it registers the timers spring.kafka.template
// and spring.kafka.listener (rendered spring_kafka_template_seconds and
// spring_kafka_listener_seconds, with _count, _sum and _max, tagged name,
// result and exception, as Micrometer's Prometheus registry renders a
// Timer) in a registry, and implements both [template.Observer] and
// [listener.Observer]: pass it to template.WithObserver and
// listener.WithObserver. [NewLagCollector] exports the listener
// containers' lag as Micrometer's Kafka client metric
// kafka_consumer_fetch_manager_records_lag.
//
// The template and listener packages stay free of Prometheus: they only
// call the observer interfaces. A *Metrics is safe for concurrent use.
package observe
