package wire

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kspring/kspring/broker/internal/cluster"
	"github.com/kspring/kspring/broker/internal/replica"
)

// The cluster as this broker's metadata shows it, for Metadata,
// DescribeCluster and FindCoordinator: the live brokers and the controller.

// liveBrokers returns the unfenced brokers as Metadata describes them;
// this broker is among them even before the metadata says it is alive,
// so that a client always learns at least the broker it asked.
// Addresses are those of req's listener (see [Listener]).
func (s *Server) liveBrokers(st *cluster.State, req *Request) []kmsg.MetadataResponseBroker {
	var out []kmsg.MetadataResponseBroker
	self := false
	for _, b := range st.LiveBrokers() {
		if b.ID == s.settings.NodeID {
			self = true
			out = append(out, s.selfFor(req))
			continue
		}
		host, port := endpointFor(req, b)
		out = append(out, kmsg.MetadataResponseBroker{NodeID: b.ID, Host: host, Port: port, Rack: b.Rack})
	}
	if !self {
		out = append(out, s.selfFor(req))
	}
	return out
}

// endpointFor returns another broker's address on the listener req came in
// on, if it has one of that name, else its inter-broker address.
func endpointFor(req *Request, b cluster.Broker) (string, int32) {
	if req != nil && req.conn != nil {
		if e, ok := b.Endpoints[req.conn.listener.Name]; ok {
			return e.Host, e.Port
		}
	}
	return b.Host, b.Port
}

// selfFor is this broker as Metadata describes it to req's client.
func (s *Server) selfFor(req *Request) kmsg.MetadataResponseBroker {
	b := s.self()
	b.Host, b.Port = req.advertised(b.NodeID, b.NodeID, b.Host, b.Port)
	return b
}

// controllerID returns the active controller's id as clients see it: the
// quorum's leader if it has registered as a broker, else this broker (any
// broker takes admin requests and forwards them).
func (s *Server) controllerID(st *cluster.State) int32 {
	if id, ok := s.meta.Controller(); ok {
		if b, ok := st.Brokers[id]; ok && !b.Fenced {
			return id
		}
	}
	return s.settings.NodeID
}

// broker returns an alive broker's endpoint.
func (s *Server) broker(st *cluster.State, id int32) (host string, port int32, ok bool) {
	if id == s.settings.NodeID {
		return s.settings.AdvertisedHost, s.settings.AdvertisedPort, true
	}
	b, ok := st.Brokers[id]
	if !ok || b.Fenced {
		return "", 0, false
	}
	return b.Host, b.Port, true
}

// leaderPartition returns the partition if this broker leads it, else the
// error a client gets: NOT_LEADER_OR_FOLLOWER when another broker may lead
// it, UNKNOWN_TOPIC_OR_PARTITION when it does not exist.
func (s *Server) leaderPartition(topic string, index int32) (*replica.Partition, *kerr.Error) {
	p, ok := s.parts.Get(topic, index)
	if !ok {
		return nil, s.missingPartition(topic, index)
	}
	if role, _ := p.Role(); role != replica.RoleLeader {
		return nil, kerr.NotLeaderForPartition
	}
	return p, nil
}
