package broker_test

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kspring/kspring/broker"
	"github.com/kspring/kspring/testkit"
)

// scrape reads b's /metrics.
func scrape(t testing.TB, b *broker.Broker) testkit.Metrics {
	t.Helper()
	require.NotEmpty(t, b.MetricsAddr(), "metrics endpoint is off")
	return testkit.MustScrape(t, "http://"+b.MetricsAddr()+"/metrics")
}

// metric returns one value of a scrape, 0 if the series does not exist.
func metric(m testkit.Metrics, name string, labels ...string) float64 {
	v, _ := m.Value(name, labels...)
	return v
}

func withMetrics(c *broker.Config) { c.MetricsPrometheusListener = "127.0.0.1:0" }

// TestMetricsMoveWithLoad scrapes /metrics over HTTP around a produce, a
// consume and a group commit, and checks that the Kafka-named series move
// by what the load did.
func TestMetricsMoveWithLoad(t *testing.T) {
	t.Parallel()
	b := startBroker(t, withMetrics)
	createTopic(t, b.Addr(), "orders", 2, nil)

	before := scrape(t, b)
	require.Zero(t, metric(before, "kafka_server_brokertopicmetrics_bytesin_total", "topic", "orders"))
	require.Equal(t, 1.0, metric(before, "kafka_controller_kafkacontroller_activecontrollercount"))
	require.Equal(t, 2.0, metric(before, "kafka_server_replicamanager_leadercount"),
		"series %v", before.Series("kafka_cluster_partition_underreplicated"))

	cl := newKgo(t, b.Addr(), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	const n = 25
	var recs []*kgo.Record
	for i := range n {
		recs = append(recs, &kgo.Record{Topic: "orders", Partition: 0, Value: fmt.Appendf(nil, "order-%d", i)})
	}
	produceSync(t, cl, recs...)

	// Requests are counted once their response is written: the client may
	// read the response first.
	var after testkit.Metrics
	eventually(t, func() error {
		after = scrape(t, b)
		reqs := metric(after, "kafka_network_requestmetrics_requests_total", "request", "Produce")
		timed := metric(after, "kafka_network_requestmetrics_totaltimems", "request", "Produce")
		if reqs < 1 || timed != reqs {
			return fmt.Errorf("%v produce requests counted, %v timed", reqs, timed)
		}
		return nil
	})
	bytesIn := metric(after, "kafka_server_brokertopicmetrics_bytesin_total", "topic", "orders")
	require.Greater(t, bytesIn, float64(n*len("order-0")), "bytes in counts the batches")
	require.Equal(t, float64(n), metric(after, "kafka_server_brokertopicmetrics_messagesin_total", "topic", "orders"))
	require.Greater(t, metric(after, "kafka_network_requestmetrics_requests_total", "request", "Metadata"),
		metric(before, "kafka_network_requestmetrics_requests_total", "request", "Metadata"))
	require.Equal(t, bytesIn, metric(after, "kafka_log_log_size", "topic", "orders", "partition", "0"),
		"the log holds exactly the batches taken in")
	require.Equal(t, float64(n), metric(after, "kafka_log_log_logendoffset", "topic", "orders", "partition", "0"))
	require.Zero(t, metric(after, "kafka_server_brokertopicmetrics_bytesout_total", "topic", "orders"))

	// A group consumes and commits 10 of the 25: its lag is 15.
	consumer := newKgo(t, b.Addr(), kgo.ConsumeTopics("orders"), kgo.ConsumerGroup("billing"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit())
	got := pollN(t, consumer, n)
	require.NoError(t, consumer.CommitRecords(testCtx(t), got[9]))
	var m testkit.Metrics
	eventually(t, func() error {
		m = scrape(t, b)
		if metric(m, "kafka_network_requestmetrics_requests_total", "request", "OffsetCommit") < 1 {
			return errors.New("the commit is not counted yet")
		}
		return nil
	})
	require.GreaterOrEqual(t, metric(m, "kafka_server_brokertopicmetrics_bytesout_total", "topic", "orders"), bytesIn)
	require.Greater(t, metric(m, "kafka_server_brokertopicmetrics_totalfetchrequests_total", "topic", "orders"), 0.0)
	require.Equal(t, 1.0, metric(m, "kafka_coordinator_group_groupmetadatamanager_numgroups"))
	require.Equal(t, 15.0, metric(m, "kafka_consumergroup_lag", "consumergroup", "billing", "topic", "orders", "partition", "0"),
		"series %v", m.Series("kafka_consumergroup_lag"))
	require.Equal(t, 10.0, metric(m, "kafka_consumergroup_current_offset", "consumergroup", "billing", "topic", "orders", "partition", "0"))
	require.Zero(t, metric(m, "kafka_server_replicamanager_underreplicatedpartitions"))
	require.Zero(t, metric(m, "kafka_controller_kafkacontroller_offlinepartitionscount"))
}

// TestMetricsFailedProduce: a produce the broker refuses counts as a failed
// produce request of its topic, and adds no bytes.
func TestMetricsFailedProduce(t *testing.T) {
	t.Parallel()
	b := startBroker(t, withMetrics)
	createTopic(t, b.Addr(), "small", 1, map[string]string{"max.message.bytes": "100"})
	cl := newKgo(t, b.Addr(), kgo.ProducerBatchMaxBytes(1<<20), kgo.RecordRetries(0))
	res := cl.ProduceSync(testCtx(t), &kgo.Record{Topic: "small", Value: []byte(strings.Repeat("x", 500))})
	require.Error(t, res.FirstErr())
	m := scrape(t, b)
	require.Equal(t, 1.0, metric(m, "kafka_server_brokertopicmetrics_failedproducerequests_total", "topic", "small"))
	require.Zero(t, metric(m, "kafka_server_brokertopicmetrics_bytesin_total", "topic", "small"))
}

// TestMetricsOffByDefault: without metrics.prometheus.listener there is no
// endpoint, yet the registry is there for an application to serve.
func TestMetricsOffByDefault(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	require.Empty(t, b.MetricsAddr())
	fams, err := b.MetricsRegistry().Gather()
	require.NoError(t, err)
	require.NotEmpty(t, fams)
}

// TestMetricsListenerInUse: an endpoint address already taken stops Start
// with an error naming the property, and frees what Start had bound.
func TestMetricsListenerInUse(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	cfg := testConfig(t, func(c *broker.Config) { c.MetricsPrometheusListener = ln.Addr().String() })
	b, err := broker.New(cfg)
	require.NoError(t, err)
	err = b.Start(testCtx(t))
	require.ErrorContains(t, err, "metrics.prometheus.listener")
	var op *net.OpError
	require.True(t, errors.As(err, &op), "the cause is kept: %v", err)
	require.NoError(t, b.Close(testCtx(t)))
}

func TestMetricsListenerProperty(t *testing.T) {
	var c broker.Config
	require.NoError(t, c.Set("metrics.prometheus.listener", "127.0.0.1:9404"))
	require.Equal(t, "127.0.0.1:9404", c.MetricsPrometheusListener)
}

// TestMetricsForgetDeletedTopic: a deleted topic's series go away with it,
// and one created again under its name starts from zero.
func TestMetricsForgetDeletedTopic(t *testing.T) {
	t.Parallel()
	b := startBroker(t, withMetrics)
	createTopic(t, b.Addr(), "gone", 1, nil)
	cl := newKgo(t, b.Addr())
	produceSync(t, cl, &kgo.Record{Topic: "gone", Value: []byte("x")})
	_, ok := scrape(t, b).Value("kafka_server_brokertopicmetrics_messagesin_total", "topic", "gone")
	require.True(t, ok)

	kadmDeleteTopic(t, kadm.NewClient(newKgo(t, b.Addr())), "gone")
	eventually(t, func() error {
		m := scrape(t, b)
		for _, name := range []string{"kafka_server_brokertopicmetrics_messagesin_total", "kafka_log_log_size"} {
			if _, ok := m.Value(name, "topic", "gone"); ok {
				return fmt.Errorf("%s still has topic gone: %v", name, m.Series(name))
			}
		}
		return nil
	})
	createTopic(t, b.Addr(), "gone", 1, nil)
	produceSync(t, newKgo(t, b.Addr()), &kgo.Record{Topic: "gone", Value: []byte("y")}, &kgo.Record{Topic: "gone", Value: []byte("z")})
	require.Equal(t, 2.0, metric(scrape(t, b), "kafka_server_brokertopicmetrics_messagesin_total", "topic", "gone"))
}
