package metrics

import (
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kspring/kspring/broker/internal/replica"
)

// maxAPIKey and maxAPIVersion bound the request series cached by key and
// version; requests beyond them are still counted, through the vectors.
const (
	maxAPIKey     = 127
	maxAPIVersion = 31
)

// latencyBucketsMs are the request latency buckets, in milliseconds as
// Kafka's TotalTimeMs.
var latencyBucketsMs = []float64{0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000}

// Broker holds one broker's metrics and their registry. Create it with [New].
type Broker struct {
	reg *prometheus.Registry

	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec

	bytesIn, messagesIn, bytesOut, replicationBytesOut *prometheus.CounterVec
	produceRequests, failedProduce                     *prometheus.CounterVec
	fetchRequests, failedFetch                         *prometheus.CounterVec

	isrShrinks, isrExpands prometheus.Counter

	apis   [maxAPIKey + 1]atomic.Pointer[apiMeters]
	topics sync.Map // *replica.Partition -> *topicMeters
}

// apiMeters are one API's series: its latency and a counter per version.
type apiMeters struct {
	name     string
	latency  prometheus.Observer
	mu       sync.Mutex // guards the creation of versions' counters
	versions [maxAPIVersion + 1]atomic.Pointer[prometheus.Counter]
}

// topicMeters are the per-topic series of one partition's topic.
type topicMeters struct {
	bytesIn, messagesIn, bytesOut, replicationBytesOut prometheus.Counter
	produceRequests, failedProduce                     prometheus.Counter
	fetchRequests, failedFetch                         prometheus.Counter
}

// New returns a broker's metrics on a registry of their own, with Go's
// runtime and process collectors beside them, as the JMX exporter serves
// the JVM's. src supplies the gauges read at scrape time; nil leaves them out.
func New(src Source) *Broker {
	m := &Broker{reg: prometheus.NewRegistry()}
	topicCounter := func(name, help string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "kafka", Subsystem: "server_brokertopicmetrics", Name: name, Help: help,
		}, []string{"topic"})
	}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "kafka_network_requestmetrics_requests_total",
		Help: "Requests served, by API (request) and version (RequestsPerSec).",
	}, []string{"request", "version"})
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "kafka_network_requestmetrics_totaltimems",
		Help:    "Time from a request's arrival to its response written, in milliseconds (TotalTimeMs).",
		Buckets: latencyBucketsMs,
	}, []string{"request"})
	m.bytesIn = topicCounter("bytesin_total", "Record batch bytes appended from clients (BytesInPerSec).")
	m.messagesIn = topicCounter("messagesin_total", "Records appended from clients (MessagesInPerSec).")
	m.bytesOut = topicCounter("bytesout_total", "Record batch bytes sent to consumers (BytesOutPerSec).")
	m.replicationBytesOut = topicCounter("replicationbytesout_total", "Record batch bytes sent to follower replicas (ReplicationBytesOutPerSec).")
	m.produceRequests = topicCounter("totalproducerequests_total", "Produce requests per topic partition (TotalProduceRequestsPerSec).")
	m.failedProduce = topicCounter("failedproducerequests_total", "Produce requests per topic partition that failed (FailedProduceRequestsPerSec).")
	m.fetchRequests = topicCounter("totalfetchrequests_total", "Consumer fetches per topic partition (TotalFetchRequestsPerSec).")
	m.failedFetch = topicCounter("failedfetchrequests_total", "Consumer fetches per topic partition that failed (FailedFetchRequestsPerSec).")
	m.isrShrinks = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "kafka_server_replicamanager_isrshrinks_total",
		Help: "ISR shrinks of partitions this broker leads, confirmed by the controller (IsrShrinksPerSec).",
	})
	m.isrExpands = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "kafka_server_replicamanager_isrexpands_total",
		Help: "ISR expansions of partitions this broker leads, confirmed by the controller (IsrExpandsPerSec).",
	})
	m.reg.MustRegister(m.requests, m.latency, m.bytesIn, m.messagesIn, m.bytesOut, m.replicationBytesOut,
		m.produceRequests, m.failedProduce, m.fetchRequests, m.failedFetch, m.isrShrinks, m.isrExpands,
		prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	if src != nil {
		m.reg.MustRegister(&collector{src: src})
	}
	return m
}

// Registry returns the registry holding the broker's metrics, to serve or
// to read in tests.
func (m *Broker) Registry() *prometheus.Registry { return m.reg }

// Request records one request of API key at version that took d from its
// arrival to its response.
func (m *Broker) Request(key, version int16, d time.Duration) {
	if m == nil {
		return
	}
	a := m.api(key)
	ms := float64(d) / float64(time.Millisecond)
	if a == nil {
		name := kmsg.NameForKey(key)
		m.requests.WithLabelValues(name, strconv.Itoa(int(version))).Inc()
		m.latency.WithLabelValues(name).Observe(ms)
		return
	}
	a.latency.Observe(ms)
	if version < 0 || version > maxAPIVersion {
		m.requests.WithLabelValues(a.name, strconv.Itoa(int(version))).Inc()
		return
	}
	c := a.versions[version].Load()
	if c == nil {
		a.mu.Lock()
		if c = a.versions[version].Load(); c == nil {
			cnt := m.requests.WithLabelValues(a.name, strconv.Itoa(int(version)))
			c = &cnt
			a.versions[version].Store(c)
		}
		a.mu.Unlock()
	}
	(*c).Inc()
}

// api returns the cached series of API key, creating them on first use;
// nil for a key beyond the cache.
func (m *Broker) api(key int16) *apiMeters {
	if key < 0 || key > maxAPIKey {
		return nil
	}
	if a := m.apis[key].Load(); a != nil {
		return a
	}
	name := kmsg.NameForKey(key)
	a := &apiMeters{name: name, latency: m.latency.WithLabelValues(name)}
	if m.apis[key].CompareAndSwap(nil, a) {
		return a
	}
	return m.apis[key].Load()
}

// topic returns the series of p's topic, cached by partition.
func (m *Broker) topic(p *replica.Partition) *topicMeters {
	if t, ok := m.topics.Load(p); ok {
		return t.(*topicMeters)
	}
	name := p.Topic
	t := &topicMeters{
		bytesIn: m.bytesIn.WithLabelValues(name), messagesIn: m.messagesIn.WithLabelValues(name),
		bytesOut: m.bytesOut.WithLabelValues(name), replicationBytesOut: m.replicationBytesOut.WithLabelValues(name),
		produceRequests: m.produceRequests.WithLabelValues(name), failedProduce: m.failedProduce.WithLabelValues(name),
		fetchRequests: m.fetchRequests.WithLabelValues(name), failedFetch: m.failedFetch.WithLabelValues(name),
	}
	actual, _ := m.topics.LoadOrStore(p, t)
	return actual.(*topicMeters)
}

// Produced records a produce to partition p: bytes of record batches
// holding records records appended, or failed.
func (m *Broker) Produced(p *replica.Partition, bytes, records int, failed bool) {
	if m == nil || p == nil {
		return
	}
	t := m.topic(p)
	t.produceRequests.Inc()
	if failed {
		t.failedProduce.Inc()
		return
	}
	t.bytesIn.Add(float64(bytes))
	t.messagesIn.Add(float64(records))
}

// Fetched records a fetch of partition p that read bytes, by a consumer
// or (follower) a replica, or failed.
func (m *Broker) Fetched(p *replica.Partition, bytes int, follower, failed bool) {
	if m == nil || p == nil {
		return
	}
	t := m.topic(p)
	if follower {
		if !failed {
			t.replicationBytesOut.Add(float64(bytes))
		}
		return
	}
	t.fetchRequests.Inc()
	if failed {
		t.failedFetch.Inc()
		return
	}
	t.bytesOut.Add(float64(bytes))
}

// ISRChanged records a confirmed ISR change of a partition this broker
// leads, from before to after replicas.
func (m *Broker) ISRChanged(before, after int) {
	switch {
	case m == nil:
	case after < before:
		m.isrShrinks.Inc()
	case after > before:
		m.isrExpands.Inc()
	}
}

// Forget drops the cached series of the partitions of a deleted topic and
// the topic's series, as Kafka removes a deleted topic's metrics.
func (m *Broker) Forget(topic string) {
	if m == nil {
		return
	}
	m.topics.Range(func(k, _ any) bool {
		if k.(*replica.Partition).Topic == topic {
			m.topics.Delete(k)
		}
		return true
	})
	for _, v := range []*prometheus.CounterVec{m.bytesIn, m.messagesIn, m.bytesOut, m.replicationBytesOut,
		m.produceRequests, m.failedProduce, m.fetchRequests, m.failedFetch} {
		v.DeleteLabelValues(topic)
	}
}
