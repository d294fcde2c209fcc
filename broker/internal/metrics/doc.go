// Package metrics is the broker's Prometheus instrumentation: Kafka's
// well-known JMX metrics under the names the Prometheus JMX exporter's
// common rules give them (kafka_server_brokertopicmetrics_bytesin_total,
// kafka_network_requestmetrics_requests_total, ...). The table of names is
// in the broker package's doc (broker/METRICS.md).
//
// Start from [New]: it makes a [Broker] with its own registry (several
// brokers share a process in tests, so nothing is registered globally).
// The request path reports through [Broker.Request], [Broker.Produced] and
// [Broker.Fetched]; those take no lock and allocate nothing once a topic's
// and an API's series exist (a sync.Map lookup keyed by the partition,
// then atomic adds). Gauges that describe state (partition counts,
// under-replicated partitions, log sizes, groups, lag) are read when
// Prometheus scrapes, from a [Source], so they cost nothing between
// scrapes.
//
// Every method is safe for concurrent use. A nil *Broker observes nothing.
package metrics
