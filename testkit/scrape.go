package testkit

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Metrics is one scrape of a Prometheus endpoint (the broker's /metrics,
// the framework's /actuator/prometheus), parsed. Read it with
// [Metrics.Value].
type Metrics map[string]*dto.MetricFamily

// Scrape fetches url (a Prometheus text endpoint) within WaitTimeout and
// parses it; it returns an error for a status other than 200 or a body
// that does not parse, for use inside [Eventually].
func Scrape(ctx context.Context, url string) (Metrics, error) {
	ctx, cancel := context.WithTimeout(ctx, WaitTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("testkit: scrape %s: %w", url, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("testkit: scrape %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("testkit: scrape %s: status %s", url, resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("testkit: scrape %s: %w", url, err)
	}
	return Metrics(fams), nil
}

// MustScrape is [Scrape] that fails the test on an error.
func MustScrape(t testing.TB, url string) Metrics {
	t.Helper()
	m, err := Scrape(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// Value returns the sum of the samples of metric name whose labels include
// labels ("key", "value" pairs): a counter's or gauge's value, a
// histogram's or summary's count. ok is false when no sample matches.
func (m Metrics) Value(name string, labels ...string) (v float64, ok bool) {
	f, found := m[name]
	if !found {
		return 0, false
	}
	want := map[string]string{}
	for i := 0; i+1 < len(labels); i += 2 {
		want[labels[i]] = labels[i+1]
	}
	for _, s := range f.GetMetric() {
		if !matches(s.GetLabel(), want) {
			continue
		}
		ok = true
		switch {
		case s.Counter != nil:
			v += s.GetCounter().GetValue()
		case s.Gauge != nil:
			v += s.GetGauge().GetValue()
		case s.Histogram != nil:
			v += float64(s.GetHistogram().GetSampleCount())
		case s.Summary != nil:
			v += float64(s.GetSummary().GetSampleCount())
		case s.Untyped != nil:
			v += s.GetUntyped().GetValue()
		}
	}
	return v, ok
}

// Names returns the metric names of the scrape, sorted, for messages.
func (m Metrics) Names() []string { return slices.Sorted(maps.Keys(m)) }

// Series returns the label sets of metric name, "k=v,k=v" each, for messages.
func (m Metrics) Series(name string) []string {
	var out []string
	for _, s := range m[name].GetMetric() {
		var kv []string
		for _, l := range s.GetLabel() {
			kv = append(kv, l.GetName()+"="+l.GetValue())
		}
		out = append(out, strings.Join(kv, ","))
	}
	return out
}

func matches(got []*dto.LabelPair, want map[string]string) bool {
	n := 0
	for _, l := range got {
		if v, ok := want[l.GetName()]; ok {
			if v != l.GetValue() {
				return false
			}
			n++
		}
	}
	return n == len(want)
}
