package observe

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kspring/kspring/listener"
)

var descRecordsLag = prometheus.NewDesc("kafka_consumer_fetch_manager_records_lag",
	"Records a listener's consumer is behind on a partition: the high watermark of its last fetch less its position "+
		"(Micrometer's KafkaClientMetrics name for Kafka's records-lag).",
	[]string{"client_id", "spring_id", "consumer_group", "topic", "partition"}, nil)

// lagCollector reads the lag when Prometheus scrapes.
type lagCollector struct {
	lag func() []listener.PartitionLag
}

// NewLagCollector exports lag (say, a listener.Registry's Lag) as
// kafka_consumer_fetch_manager_records_lag, labelled with the consumer's
// client.id, the listener id (spring_id), the group, the topic and the
// partition. lag is called once per scrape.
func NewLagCollector(lag func() []listener.PartitionLag) prometheus.Collector {
	return lagCollector{lag: lag}
}

func (c lagCollector) Describe(ch chan<- *prometheus.Desc) { ch <- descRecordsLag }

func (c lagCollector) Collect(ch chan<- prometheus.Metric) {
	for _, l := range c.lag() {
		ch <- prometheus.MustNewConstMetric(descRecordsLag, prometheus.GaugeValue, float64(l.Lag),
			l.ClientID, l.ListenerID, l.GroupID, l.Topic, strconv.Itoa(int(l.Partition)))
	}
}
