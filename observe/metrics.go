package observe

import (
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kerr"
)

// Metrics times template sends and listener deliveries as Spring Kafka's
// micrometer timers. Create it with [NewMetrics].
type Metrics struct {
	template, listener *timer
}

// NewMetrics registers the spring.kafka.template and spring.kafka.listener
// timers in reg. It fails if reg already holds them.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		template: newTimer("spring_kafka_template", "KafkaTemplate sends, from Send to the broker's acknowledgement (spring.kafka.template)."),
		listener: newTimer("spring_kafka_listener", "Listener deliveries, the handler's time (spring.kafka.listener)."),
	}
	for _, c := range []prometheus.Collector{m.template, m.listener} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("observe: register metrics: %w", err)
		}
	}
	return m, nil
}

// Sent implements template.Observer.
func (m *Metrics) Sent(name, _ string, d time.Duration, err error) { m.template.observe(name, d, err) }

// Processed implements listener.Observer.
func (m *Metrics) Processed(name, _ string, d time.Duration, err error) {
	m.listener.observe(name, d, err)
}

// timer is a Micrometer Timer as its Prometheus registry renders it: a
// summary without quantiles (<name>_seconds_count, _sum) and a gauge of
// the largest observation (<name>_seconds_max; Micrometer's decays over a
// window, this one is the largest since start), with the tags name,
// result and exception.
type timer struct {
	sum, max *prometheus.Desc

	mu     sync.RWMutex
	series map[[3]string]*series
	// ok holds the success series by name, copied on write: the common
	// case takes no lock and hashes one string.
	ok atomic.Pointer[map[string]*series]
}

type series struct {
	labels [3]string
	count  atomic.Uint64
	sum    atomic.Uint64 // float64 bits, seconds
	max    atomic.Uint64 // float64 bits, seconds
}

var timerLabels = []string{"name", "result", "exception"}

func newTimer(name, help string) *timer {
	return &timer{
		sum:    prometheus.NewDesc(name+"_seconds", help, timerLabels, nil),
		max:    prometheus.NewDesc(name+"_seconds_max", help, timerLabels, nil),
		series: map[[3]string]*series{},
	}
}

func (t *timer) observe(name string, d time.Duration, err error) {
	if err == nil {
		if m := t.ok.Load(); m != nil {
			if s := (*m)[name]; s != nil {
				s.add(d)
				return
			}
		}
	}
	result := "success"
	if err != nil {
		result = "failure"
	}
	key := [3]string{name, result, ExceptionName(err)}
	t.mu.RLock()
	s := t.series[key]
	t.mu.RUnlock()
	if s == nil {
		t.mu.Lock()
		if s = t.series[key]; s == nil {
			s = &series{labels: key}
			t.series[key] = s
			if err == nil {
				t.publishOK(name, s)
			}
		}
		t.mu.Unlock()
	}
	s.add(d)
}

// publishOK adds a success series to the lock-free map. Callers hold t.mu.
func (t *timer) publishOK(name string, s *series) {
	next := map[string]*series{name: s}
	if cur := t.ok.Load(); cur != nil {
		for k, v := range *cur {
			next[k] = v
		}
	}
	t.ok.Store(&next)
}

func (s *series) add(d time.Duration) {
	v := d.Seconds()
	s.count.Add(1)
	addFloat(&s.sum, v)
	for {
		old := s.max.Load()
		if math.Float64frombits(old) >= v || s.max.CompareAndSwap(old, math.Float64bits(v)) {
			break
		}
	}
}

func addFloat(u *atomic.Uint64, v float64) {
	for {
		old := u.Load()
		if u.CompareAndSwap(old, math.Float64bits(math.Float64frombits(old)+v)) {
			return
		}
	}
}

func (t *timer) Describe(ch chan<- *prometheus.Desc) {
	ch <- t.sum
	ch <- t.max
}

func (t *timer) Collect(ch chan<- prometheus.Metric) {
	t.mu.RLock()
	all := make([]*series, 0, len(t.series))
	for _, s := range t.series {
		all = append(all, s)
	}
	t.mu.RUnlock()
	for _, s := range all {
		l := s.labels[:]
		ch <- prometheus.MustNewConstSummary(t.sum, s.count.Load(), math.Float64frombits(s.sum.Load()), nil, l...)
		ch <- prometheus.MustNewConstMetric(t.max, prometheus.GaugeValue, math.Float64frombits(s.max.Load()), l...)
	}
}

// ExceptionName is the exception tag of err: "none" for nil, Kafka's
// error name for a Kafka error code (NOT_LEADER_OR_FOLLOWER, ...),
// DeadlineExceeded or Canceled for a context's end, else the type name of
// the innermost error in the chain that has a type of its own (not the
// errors and fmt packages' wrappers), as Micrometer tags an exception with
// its simple class name; "Error" when none has.
func ExceptionName(err error) string {
	if err == nil {
		return "none"
	}
	if ke, ok := errors.AsType[*kerr.Error](err); ok {
		return ke.Message
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "DeadlineExceeded"
	case errors.Is(err, context.Canceled):
		return "Canceled"
	}
	name := ""
	for e := err; e != nil; e = errors.Unwrap(e) {
		t := reflect.TypeOf(e)
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if p := t.PkgPath(); p != "errors" && p != "fmt" && t.Name() != "" {
			name = t.Name()
		}
	}
	if name == "" {
		return "Error"
	}
	return name
}
