package metrics

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/kspring/kspring/broker/internal/replica"
)

func TestNilObservesNothing(t *testing.T) {
	var m *Broker
	p := &replica.Partition{Topic: "t"}
	m.Request(0, 9, time.Millisecond)
	m.Produced(p, 1, 1, false)
	m.Fetched(p, 1, false, false)
	m.ISRChanged(1, 2)
	m.Forget("t")
}

func TestRequestsByKeyAndVersion(t *testing.T) {
	m := New(nil)
	for _, tc := range []struct {
		key, version int16
		name, v      string
	}{
		{0, 9, "Produce", "9"},
		{1, 13, "Fetch", "13"},
		{3, 99, "Metadata", "99"},     // beyond the version cache
		{999, 0, "Unknown", "0"},      // beyond the key cache
		{18, -1, "ApiVersions", "-1"}, // negative version
	} {
		m.Request(tc.key, tc.version, 2*time.Millisecond)
		m.Request(tc.key, tc.version, 2*time.Millisecond)
		require.Equal(t, 2.0, testutil.ToFloat64(m.requests.WithLabelValues(tc.name, tc.v)), "%+v", tc)
		require.Equal(t, 2, int(histogramCount(t, m, tc.name)), "%+v", tc)
	}
}

func TestTopicSeriesAndForget(t *testing.T) {
	m := New(nil)
	p0, p1 := &replica.Partition{Topic: "orders", Index: 0}, &replica.Partition{Topic: "orders", Index: 1}
	m.Produced(p0, 100, 3, false)
	m.Produced(p1, 50, 2, false)
	m.Produced(p1, 0, 0, true)
	m.Fetched(p0, 70, false, false)
	m.Fetched(p0, 0, false, true)
	m.Fetched(p1, 30, true, false)
	require.Equal(t, 150.0, testutil.ToFloat64(m.bytesIn.WithLabelValues("orders")))
	require.Equal(t, 5.0, testutil.ToFloat64(m.messagesIn.WithLabelValues("orders")))
	require.Equal(t, 3.0, testutil.ToFloat64(m.produceRequests.WithLabelValues("orders")))
	require.Equal(t, 1.0, testutil.ToFloat64(m.failedProduce.WithLabelValues("orders")))
	require.Equal(t, 70.0, testutil.ToFloat64(m.bytesOut.WithLabelValues("orders")))
	require.Equal(t, 1.0, testutil.ToFloat64(m.failedFetch.WithLabelValues("orders")))
	require.Equal(t, 30.0, testutil.ToFloat64(m.replicationBytesOut.WithLabelValues("orders")))

	m.Forget("orders")
	require.Zero(t, testutil.CollectAndCount(m.bytesIn))
	m.Produced(p0, 10, 1, false) // a topic created again starts at zero
	require.Equal(t, 10.0, testutil.ToFloat64(m.bytesIn.WithLabelValues("orders")))
}

func TestISRChanged(t *testing.T) {
	m := New(nil)
	m.ISRChanged(3, 2)
	m.ISRChanged(2, 1)
	m.ISRChanged(1, 3)
	m.ISRChanged(3, 3)
	require.Equal(t, 2.0, testutil.ToFloat64(m.isrShrinks))
	require.Equal(t, 1.0, testutil.ToFloat64(m.isrExpands))
}

func histogramCount(t *testing.T, m *Broker, request string) uint64 {
	t.Helper()
	fams, err := m.Registry().Gather()
	require.NoError(t, err)
	var n uint64
	for _, f := range fams {
		if f.GetName() != "kafka_network_requestmetrics_totaltimems" {
			continue
		}
		for _, s := range f.GetMetric() {
			for _, l := range s.GetLabel() {
				if l.GetName() == "request" && l.GetValue() == request {
					n += s.GetHistogram().GetSampleCount()
				}
			}
		}
	}
	return n
}
