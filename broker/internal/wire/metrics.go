package wire

import (
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kspring/kspring/broker/internal/metrics"
)

// The broker's metrics, reported from the request path: a request when
// its response is written (or, acks=0, when its handler returns), produced
// bytes from producePartition, fetched bytes once a fetch is answered.
// With no metrics set, none of this costs more than a nil check.

// Observe reports requests and the bytes they move to m. Call it before
// the first Serve.
func (s *Server) Observe(m *metrics.Broker) { s.metrics = m }

// answered reports req, answered now, to the metrics. s may be nil (a
// connection without a server, in tests).
func (s *Server) answered(req *Request) {
	if s != nil && s.metrics != nil && !req.started.IsZero() {
		s.metrics.Request(req.Key, req.Version, time.Since(req.started))
	}
}

// fetched reports what an answered fetch read, per partition: the bytes of
// its batch sets, whether copied or left in files for sendfile.
func (s *Server) fetched(req *Request, resp *kmsg.FetchResponse, targets []fetchTarget) {
	if s.metrics == nil {
		return
	}
	for _, t := range targets {
		sp := &resp.Topics[t.ti].Partitions[t.pi]
		n := len(sp.RecordBatches)
		if fp, ok := req.conn.fetch.filePartFor(sp.RecordBatches); ok {
			n = fp.n
		}
		s.metrics.Fetched(t.p, n, t.follower, sp.ErrorCode != 0)
	}
}
