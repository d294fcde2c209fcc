package wire

// DescribeConfigs (key 32), versions 0-4.
// Topic resources (type 2) list every topic config of topicconf with its
// effective value and source: the topic's override (DYNAMIC_TOPIC_CONFIG),
// else the broker's setting (STATIC_BROKER_CONFIG), else Kafka's default
// (DEFAULT_CONFIG). With IncludeSynonyms (v1+) each config lists, as Kafka
// does, the override, then the broker key's static value, then the broker
// key's default; v3+ carries the config type and, with IncludeDocumentation,
// a one-line description. Topic configs are never read-only or sensitive.
// Broker resources (type 4) named by this broker's id list its settings
// under their server.properties keys, all STATIC_BROKER_CONFIG (or
// DEFAULT_CONFIG where the broker uses Kafka's default) and read-only, since
// dynamic broker configs are not supported; the empty name (cluster-wide
// dynamic defaults) lists nothing. ConfigNames filters; null or empty means
// all. Errors are per resource, as in Kafka: a bad topic name
// INVALID_TOPIC_EXCEPTION, an unknown topic UNKNOWN_TOPIC_OR_PARTITION,
// another broker's id or a non-numeric one INVALID_REQUEST, and other
// resource types (broker loggers, client metrics, groups) INVALID_REQUEST.

import (
	"context"
	"maps"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kspring/kspring/broker/internal/topicconf"
)

func init() { register(32, 0, 4, handler((*Server).handleDescribeConfigs)) }

func (s *Server) handleDescribeConfigs(_ context.Context, req *Request, body *kmsg.DescribeConfigsRequest) (kmsg.Response, error) {
	resp := body.ResponseKind().(*kmsg.DescribeConfigsResponse)
	resp.SetVersion(body.Version)
	for _, rr := range body.Resources {
		sr := kmsg.NewDescribeConfigsResponseResource()
		sr.ResourceType, sr.ResourceName = rr.ResourceType, rr.ResourceName
		var (
			configs []describedConfig
			rerr    *resourceError
		)
		switch {
		case !s.configAuthorized(req, rr.ResourceType, rr.ResourceName, kmsg.ACLOperationDescribeConfigs):
			rerr = authorizationError(rr.ResourceType)
		case rr.ResourceType == kmsg.ConfigResourceTypeTopic:
			configs, rerr = s.describeTopicConfigs(rr.ResourceName)
		case rr.ResourceType == kmsg.ConfigResourceTypeBroker:
			if rerr = s.checkBrokerResource(rr.ResourceName); rerr == nil && rr.ResourceName != "" {
				configs = s.describeBrokerConfigs()
			}
		default:
			rerr = newResourceError(kerr.InvalidRequest, "unsupported resource type %d: describe topics (2) or brokers (4)", rr.ResourceType)
		}
		sr.ErrorCode, sr.ErrorMessage = rerr.code(), rerr.message()
		for _, c := range configs {
			if len(rr.ConfigNames) > 0 && !slices.Contains(rr.ConfigNames, c.name) {
				continue
			}
			sr.Configs = append(sr.Configs, c.encode(body))
		}
		resp.Resources = append(resp.Resources, sr)
	}
	return resp, nil
}

// configAuthorized reports whether req may perform op on a config
// resource: a topic's ACLs, or the cluster's for a broker.
func (s *Server) configAuthorized(req *Request, typ kmsg.ConfigResourceType, name string, op kmsg.ACLOperation) bool {
	switch typ {
	case kmsg.ConfigResourceTypeTopic:
		return s.authorizeTopic(req, name, op)
	case kmsg.ConfigResourceTypeBroker:
		return s.authorizeCluster(req, op)
	}
	return true
}

// authorizationError is the error of a config resource req may not touch.
func authorizationError(typ kmsg.ConfigResourceType) *resourceError {
	if typ == kmsg.ConfigResourceTypeTopic {
		return newResourceError(kerr.TopicAuthorizationFailed, "Authorization failed.")
	}
	return newResourceError(kerr.ClusterAuthorizationFailed, "Authorization failed.")
}

// describedConfig is one config entry before it is encoded for a version.
type describedConfig struct {
	name, value string
	source      kmsg.ConfigSource
	typ         kmsg.ConfigType
	readOnly    bool
	isDefault   bool // not set on the resource itself (v0's IsDefault)
	synonyms    []kmsg.DescribeConfigsResponseResourceConfigConfigSynonym
}

func (c describedConfig) encode(body *kmsg.DescribeConfigsRequest) kmsg.DescribeConfigsResponseResourceConfig {
	rc := kmsg.NewDescribeConfigsResponseResourceConfig()
	rc.Name = c.name
	rc.Value = kmsg.StringPtr(c.value)
	rc.ReadOnly = c.readOnly
	rc.Source = c.source
	rc.IsDefault = c.isDefault
	rc.ConfigType = c.typ
	if body.IncludeSynonyms {
		rc.ConfigSynonyms = c.synonyms
	}
	if body.IncludeDocumentation {
		if d, ok := configDocs[c.name]; ok {
			rc.Documentation = kmsg.StringPtr(d)
		}
	}
	return rc
}

func synonym(name, value string, source kmsg.ConfigSource) kmsg.DescribeConfigsResponseResourceConfigConfigSynonym {
	syn := kmsg.NewDescribeConfigsResponseResourceConfigConfigSynonym()
	syn.Name, syn.Value, syn.Source = name, kmsg.StringPtr(value), source
	return syn
}

// describeTopicConfigs returns every topic config of the named topic.
func (s *Server) describeTopicConfigs(name string) ([]describedConfig, *resourceError) {
	t, rerr := s.topicResource(name)
	if rerr != nil {
		return nil, rerr
	}
	broker := s.brokerConfigs()
	var out []describedConfig
	for _, v := range topicconf.Resolve(t.Configs, broker) {
		c := describedConfig{name: v.Name, value: v.Value, source: kmsg.ConfigSource(v.Source), typ: v.Type,
			isDefault: v.Source != topicconf.SourceTopic}
		if o, ok := t.Configs[v.Name]; ok {
			c.synonyms = append(c.synonyms, synonym(v.Name, o, kmsg.ConfigSourceDynamicTopicConfig))
		}
		if b, ok := broker[v.BrokerKey]; ok {
			c.synonyms = append(c.synonyms, synonym(v.BrokerKey, b, kmsg.ConfigSourceStaticBrokerConfig))
		}
		c.synonyms = append(c.synonyms, synonym(v.BrokerKey, v.Default, kmsg.ConfigSourceDefaultConfig))
		out = append(out, c)
	}
	return out, nil
}

// describeBrokerConfigs returns this broker's settings, sorted by name.
func (s *Server) describeBrokerConfigs() []describedConfig {
	st := s.settings
	byName := map[string]describedConfig{}
	static := func(name, value string, typ kmsg.ConfigType) {
		byName[name] = describedConfig{name: name, value: value, source: kmsg.ConfigSourceStaticBrokerConfig, typ: typ, readOnly: true}
	}
	itoa := func(n int64) string { return strconv.FormatInt(n, 10) }
	static("node.id", itoa(int64(st.NodeID)), kmsg.ConfigTypeInt)
	static("broker.id", itoa(int64(st.NodeID)), kmsg.ConfigTypeInt)
	static("listeners", strings.Join(s.listenerURLs(), ","), kmsg.ConfigTypeString)
	static("advertised.listeners", "PLAINTEXT://"+net.JoinHostPort(st.AdvertisedHost, itoa(int64(st.AdvertisedPort))), kmsg.ConfigTypeString)
	if len(st.LogDirs) > 0 {
		static("log.dirs", strings.Join(st.LogDirs, ","), kmsg.ConfigTypeString)
	}
	if st.Rack != nil {
		static("broker.rack", *st.Rack, kmsg.ConfigTypeString)
	}
	static("num.partitions", itoa(int64(st.NumPartitions)), kmsg.ConfigTypeInt)
	static("default.replication.factor", itoa(int64(st.DefaultReplicationFactor)), kmsg.ConfigTypeInt)
	static("auto.create.topics.enable", strconv.FormatBool(st.AutoCreateTopics), kmsg.ConfigTypeBoolean)
	static("delete.topic.enable", strconv.FormatBool(st.DeleteTopicEnable), kmsg.ConfigTypeBoolean)
	static("socket.request.max.bytes", itoa(int64(st.MaxRequestBytes)), kmsg.ConfigTypeInt)
	static("socket.send.buffer.bytes", itoa(int64(bufferSetting(st.SendBufferBytes))), kmsg.ConfigTypeInt)
	static("socket.receive.buffer.bytes", itoa(int64(bufferSetting(st.ReceiveBufferBytes))), kmsg.ConfigTypeInt)
	static("connections.max.idle.ms", itoa(st.ConnectionsMaxIdle.Milliseconds()), kmsg.ConfigTypeLong)
	static("producer.id.expiration.ms", itoa(st.ProducerIDExpiration.Milliseconds()), kmsg.ConfigTypeInt)
	static("offsets.topic.num.partitions", itoa(int64(st.OffsetsTopicPartitions)), kmsg.ConfigTypeInt)
	static("offsets.topic.replication.factor", itoa(int64(st.OffsetsTopicReplication)), kmsg.ConfigTypeShort)
	for _, c := range st.StaticConfigs {
		static(c.Name, c.Value, c.Type)
	}
	// The broker keys topic configs default to, with the topic config's type.
	for _, d := range topicconf.Defs() {
		if v, ok := st.BrokerConfigs[d.BrokerKey]; ok {
			static(d.BrokerKey, v, d.Type)
		} else {
			byName[d.BrokerKey] = describedConfig{name: d.BrokerKey, value: d.Default,
				source: kmsg.ConfigSourceDefaultConfig, typ: d.Type, readOnly: true, isDefault: true}
		}
	}
	for k, v := range st.BrokerConfigs {
		if _, ok := byName[k]; !ok {
			static(k, v, kmsg.ConfigTypeString)
		}
	}
	out := make([]describedConfig, 0, len(byName))
	for _, name := range slices.Sorted(maps.Keys(byName)) {
		c := byName[name]
		c.synonyms = []kmsg.DescribeConfigsResponseResourceConfigConfigSynonym{synonym(c.name, c.value, c.source)}
		out = append(out, c)
	}
	return out
}

// listenerURLs returns the bound listeners as Kafka writes them. It takes
// Server.mu only to copy the listener list and calls nothing while holding it.
func (s *Server) listenerURLs() []string {
	s.mu.Lock()
	lns, info := slices.Clone(s.ln), slices.Clone(s.lnInfo)
	s.mu.Unlock()
	out := make([]string, 0, len(lns))
	for i, ln := range lns {
		out = append(out, info[i].Name+"://"+ln.Addr().String())
	}
	return out
}

// bufferSetting is a socket buffer setting as Kafka shows it: -1 for the
// OS's default.
func bufferSetting(n int32) int32 {
	if n <= 0 {
		return -1
	}
	return n
}
