package observe_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/kspring/kspring/listener"
	"github.com/kspring/kspring/observe"
	"github.com/kspring/kspring/template"
)

var (
	_ template.Observer = (*observe.Metrics)(nil)
	_ listener.Observer = (*observe.Metrics)(nil)
)

type myError struct{}

func (myError) Error() string { return "mine" }

func TestExceptionName(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{nil, "none"},
		{kerr.NotLeaderForPartition, "NOT_LEADER_FOR_PARTITION"},
		{fmt.Errorf("send: %w", kerr.MessageTooLarge), "MESSAGE_TOO_LARGE"},
		{fmt.Errorf("wait: %w", context.DeadlineExceeded), "DeadlineExceeded"},
		{context.Canceled, "Canceled"},
		{errors.New("plain"), "Error"},
		{fmt.Errorf("outer: %w", myError{}), "myError"},
		{&net.OpError{Op: "dial", Err: myError{}}, "myError"},
		{&net.OpError{Op: "dial", Err: errors.New("refused")}, "OpError"},
	} {
		require.Equal(t, tc.want, observe.ExceptionName(tc.err), "%v", tc.err)
	}
}

func TestTimers(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := observe.NewMetrics(reg)
	require.NoError(t, err)
	m.Sent("orders", "t", 2*time.Second, nil)
	m.Sent("orders", "t", time.Second, nil)
	m.Sent("orders", "t", time.Second, kerr.MessageTooLarge)
	m.Processed("billing-0", "t", 3*time.Second, nil)

	fams, err := reg.Gather()
	require.NoError(t, err)
	got := map[string]float64{}
	for _, f := range fams {
		for _, s := range f.GetMetric() {
			key := f.GetName()
			for _, l := range s.GetLabel() {
				key += "," + l.GetName() + "=" + l.GetValue()
			}
			if s.Summary != nil {
				got[key+":count"] = float64(s.GetSummary().GetSampleCount())
				got[key+":sum"] = s.GetSummary().GetSampleSum()
			} else {
				got[key] = s.GetGauge().GetValue()
			}
		}
	}
	require.Equal(t, map[string]float64{
		"spring_kafka_template_seconds,exception=none,name=orders,result=success:count":              2,
		"spring_kafka_template_seconds,exception=none,name=orders,result=success:sum":                3,
		"spring_kafka_template_seconds_max,exception=none,name=orders,result=success":                2,
		"spring_kafka_template_seconds,exception=MESSAGE_TOO_LARGE,name=orders,result=failure:count": 1,
		"spring_kafka_template_seconds,exception=MESSAGE_TOO_LARGE,name=orders,result=failure:sum":   1,
		"spring_kafka_template_seconds_max,exception=MESSAGE_TOO_LARGE,name=orders,result=failure":   1,
		"spring_kafka_listener_seconds,exception=none,name=billing-0,result=success:count":           1,
		"spring_kafka_listener_seconds,exception=none,name=billing-0,result=success:sum":             3,
		"spring_kafka_listener_seconds_max,exception=none,name=billing-0,result=success":             3,
	}, got)

	_, err = observe.NewMetrics(reg)
	require.Error(t, err, "registering twice fails")
}

func TestLagCollector(t *testing.T) {
	c := observe.NewLagCollector(func() []listener.PartitionLag {
		return []listener.PartitionLag{{ListenerID: "billing", GroupID: "g", ClientID: "c-0", Topic: "orders", Partition: 2, Lag: 7}}
	})
	require.Equal(t, 7.0, testutil.ToFloat64(c))
}

// TestTimersConcurrent: observations from many goroutines, new series
// among them, are all counted.
func TestTimersConcurrent(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := observe.NewMetrics(reg)
	require.NoError(t, err)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 1000 {
				m.Processed(fmt.Sprintf("l-%d", i%4), "t", time.Millisecond, nil)
				if i%10 == 0 {
					m.Processed("l-0", "t", time.Millisecond, fmt.Errorf("g%d: %w", g, kerr.RequestTimedOut))
				}
			}
		})
	}
	wg.Wait()
	fams, err := reg.Gather()
	require.NoError(t, err)
	var ok, failed uint64
	for _, f := range fams {
		if f.GetName() != "spring_kafka_listener_seconds" {
			continue
		}
		for _, s := range f.GetMetric() {
			for _, l := range s.GetLabel() {
				if l.GetName() == "result" && l.GetValue() == "success" {
					ok += s.GetSummary().GetSampleCount()
				} else if l.GetName() == "result" {
					failed += s.GetSummary().GetSampleCount()
				}
			}
		}
	}
	require.Equal(t, uint64(8000), ok)
	require.Equal(t, uint64(800), failed)
}
