package broker

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kspring/kspring/broker/internal/peer"
	"github.com/kspring/kspring/broker/internal/txn"
)

// txnMarkers writes the transaction coordinator's markers with
// WriteTxnMarkers to each partition's leader, as the metadata names it: in
// process when this broker leads the partition, over the Kafka protocol
// with a peer client otherwise (Kafka's TransactionMarkerChannelManager).
// It implements txn.Markers; it is safe for concurrent use.
type txnMarkers struct {
	b *Broker

	mu      sync.Mutex // guards clients and closed
	clients map[int32]*peer.Client
	closed  bool
}

var _ txn.Markers = (*txnMarkers)(nil)

// markerRequestTimeout bounds one WriteTxnMarkers round trip (Kafka's
// request.timeout.ms for the marker channel is 30 s; a dead leader is
// noticed sooner here and the partition retried at its next leader).
const markerRequestTimeout = 10 * time.Second

var errNoLeader = errors.New("the partition has no leader")

func (m *txnMarkers) Write(ctx context.Context, mk txn.Marker, tps []txn.TopicPartition) map[txn.TopicPartition]error {
	st := m.b.meta.State()
	failed := map[txn.TopicPartition]error{}
	byLeader := map[int32][]txn.TopicPartition{}
	for _, tp := range tps {
		t, ok := st.Topics[tp.Topic]
		if !ok {
			continue // the topic is gone: nothing left to mark
		}
		ps, ok := t.PartitionState(tp.Partition)
		if !ok {
			continue
		}
		if ps.Leader < 0 {
			failed[tp] = errNoLeader
			continue
		}
		byLeader[ps.Leader] = append(byLeader[ps.Leader], tp)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for leader, parts := range byLeader {
		wg.Go(func() {
			errs := m.writeTo(ctx, leader, mk, parts)
			mu.Lock()
			defer mu.Unlock()
			for tp, err := range errs {
				failed[tp] = err
			}
		})
	}
	wg.Wait()
	return failed
}

// writeTo sends one WriteTxnMarkers for parts to leader and returns the
// partitions that did not take the marker.
func (m *txnMarkers) writeTo(ctx context.Context, leader int32, mk txn.Marker, parts []txn.TopicPartition) map[txn.TopicPartition]error {
	req := kmsg.NewPtrWriteTxnMarkersRequest()
	req.Version = 1
	rm := kmsg.NewWriteTxnMarkersRequestMarker()
	rm.ProducerID, rm.ProducerEpoch, rm.Committed, rm.CoordinatorEpoch = mk.ProducerID, mk.ProducerEpoch, mk.Commit, mk.CoordinatorEpoch
	idx := map[string]int{}
	for _, tp := range parts {
		i, ok := idx[tp.Topic]
		if !ok {
			i = len(rm.Topics)
			idx[tp.Topic] = i
			t := kmsg.NewWriteTxnMarkersRequestMarkerTopic()
			t.Topic = tp.Topic
			rm.Topics = append(rm.Topics, t)
		}
		rm.Topics[i].Partitions = append(rm.Topics[i].Partitions, tp.Partition)
	}
	req.Markers = []kmsg.WriteTxnMarkersRequestMarker{rm}
	all := func(err error) map[txn.TopicPartition]error {
		out := make(map[txn.TopicPartition]error, len(parts))
		for _, tp := range parts {
			out[tp] = err
		}
		return out
	}
	rctx, cancel := context.WithTimeout(ctx, markerRequestTimeout)
	defer cancel()
	var resp *kmsg.WriteTxnMarkersResponse
	if leader == m.b.cfg.NodeID {
		resp = m.b.srv.WriteTxnMarkers(rctx, req)
	} else {
		c, err := m.client(leader)
		if err != nil {
			return all(err)
		}
		r, err := c.Request(rctx, req)
		if err != nil {
			return all(err)
		}
		resp = r.(*kmsg.WriteTxnMarkersResponse)
	}
	out := all(errors.New("the leader's answer left the partition out"))
	for _, rm := range resp.Markers {
		if rm.ProducerID != mk.ProducerID {
			continue
		}
		for _, t := range rm.Topics {
			for _, p := range t.Partitions {
				tp := txn.TopicPartition{Topic: t.Topic, Partition: p.Partition}
				if _, ok := out[tp]; !ok {
					continue
				}
				if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
					out[tp] = err
				} else {
					delete(out, tp)
				}
			}
		}
	}
	return out
}

// client returns the peer client of broker id, made on first use.
func (m *txnMarkers) client(id int32) (*peer.Client, error) {
	addr, ok := m.b.brokerAddr(id)
	if !ok {
		return nil, fmt.Errorf("broker %d is not registered", id)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, peer.ErrClosed
	}
	if m.clients == nil {
		m.clients = map[int32]*peer.Client{}
	}
	c, ok := m.clients[id]
	if ok && c.Addr() != addr {
		c.Close()
		ok = false
	}
	if !ok {
		c = peer.New(addr, fmt.Sprintf("kspring-txn-coordinator-%d", m.b.cfg.NodeID), m.b.dial)
		m.clients[id] = c
	}
	return c, nil
}

// close closes the peer clients.
func (m *txnMarkers) close() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	for _, c := range m.clients {
		c.Close()
	}
	m.clients = nil
}
