package wire

// IncrementalAlterConfigs (key 44), versions 0-1.
// Topic resources take SET, DELETE, APPEND and SUBTRACT; APPEND and SUBTRACT
// work on list configs (cleanup.policy) and start from the effective value
// when the topic has no override, so APPEND compact to a default "delete"
// gives "delete,compact". The resulting overrides are validated as a whole:
// an unknown key or a bad value answers INVALID_CONFIG with a message saying
// which and why, and nothing changes. Otherwise they are stored and applied
// to the topic's partitions before the response is sent (a new retention.ms
// or max.message.bytes holds for the next request). ValidateOnly stops after
// validation. As on Kafka's broker, a resource given twice, a config key given
// twice, a null value for anything but DELETE or an unknown operation answer
// INVALID_REQUEST.
// Departure: dynamic broker configs are not supported; a broker resource
// (this broker's id, or empty for cluster defaults) answers INVALID_REQUEST
// with a message to change server.properties instead. Other resource types
// answer INVALID_REQUEST.

import (
	"context"
	"maps"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kspring/kspring/broker/internal/topicconf"
)

func init() { register(44, 0, 1, handler((*Server).handleIncrementalAlterConfigs)) }

func (s *Server) handleIncrementalAlterConfigs(ctx context.Context, req *Request, body *kmsg.IncrementalAlterConfigsRequest) (kmsg.Response, error) {
	resp := body.ResponseKind().(*kmsg.IncrementalAlterConfigsResponse)
	resp.SetVersion(body.Version)
	dups := duplicateResources(body.Resources, func(r kmsg.IncrementalAlterConfigsRequestResource) (kmsg.ConfigResourceType, string) {
		return r.ResourceType, r.ResourceName
	})
	for _, rr := range body.Resources {
		sr := kmsg.NewIncrementalAlterConfigsResponseResource()
		sr.ResourceType, sr.ResourceName = rr.ResourceType, rr.ResourceName
		var rerr *resourceError
		if dups[resourceKey{rr.ResourceType, rr.ResourceName}] > 1 {
			rerr = newResourceError(kerr.InvalidRequest, "each resource must appear at most once in the request")
		} else if !s.configAuthorized(req, rr.ResourceType, rr.ResourceName, kmsg.ACLOperationAlterConfigs) {
			rerr = authorizationError(rr.ResourceType)
		} else {
			rerr = s.incrementalAlter(ctx, rr, body.ValidateOnly)
		}
		sr.ErrorCode, sr.ErrorMessage = rerr.code(), rerr.message()
		resp.Resources = append(resp.Resources, sr)
	}
	return resp, nil
}

func (s *Server) incrementalAlter(ctx context.Context, rr kmsg.IncrementalAlterConfigsRequestResource, validateOnly bool) *resourceError {
	seen := map[string]bool{}
	for _, c := range rr.Configs {
		switch {
		case seen[c.Name]:
			return newResourceError(kerr.InvalidRequest, "config %q appears more than once", c.Name)
		case c.Op < kmsg.IncrementalAlterConfigOpSet || c.Op > kmsg.IncrementalAlterConfigOpSubtract:
			return newResourceError(kerr.InvalidRequest, "config %q: unknown operation %d", c.Name, c.Op)
		case c.Op != kmsg.IncrementalAlterConfigOpDelete && c.Value == nil:
			return newResourceError(kerr.InvalidRequest, "config %q: null value is only allowed with DELETE", c.Name)
		}
		seen[c.Name] = true
	}
	switch rr.ResourceType {
	case kmsg.ConfigResourceTypeTopic:
	case kmsg.ConfigResourceTypeBroker:
		if rerr := s.checkBrokerResource(rr.ResourceName); rerr != nil {
			return rerr
		}
		return errBrokerConfigsStatic()
	default:
		return newResourceError(kerr.InvalidRequest, "unsupported resource type %d: alter topics (2)", rr.ResourceType)
	}
	if rr.ResourceName == "" {
		return newResourceError(kerr.InvalidRequest, "default topic resources are not allowed: name a topic")
	}

	topicConfigMu.Lock()
	defer topicConfigMu.Unlock()
	t, rerr := s.topicResource(rr.ResourceName)
	if rerr != nil {
		return rerr
	}
	overrides := maps.Clone(t.Configs)
	if overrides == nil {
		overrides = map[string]string{}
	}
	effective := s.effectiveConfigs(t)
	for _, c := range rr.Configs {
		switch c.Op {
		case kmsg.IncrementalAlterConfigOpSet:
			overrides[c.Name] = *c.Value
		case kmsg.IncrementalAlterConfigOpDelete:
			delete(overrides, c.Name)
		default: // APPEND, SUBTRACT
			d, ok := topicconf.Lookup(c.Name)
			if !ok {
				return newResourceError(kerr.InvalidConfig, "unknown topic config name: %s", c.Name)
			}
			if d.Type != kmsg.ConfigTypeList {
				return newResourceError(kerr.InvalidConfig, "cannot %s config %s: its type is not LIST", c.Op, c.Name)
			}
			list := splitList(effective[c.Name])
			for _, item := range splitList(*c.Value) {
				if c.Op == kmsg.IncrementalAlterConfigOpAppend {
					if !slices.Contains(list, item) {
						list = append(list, item)
					}
				} else {
					list = slices.DeleteFunc(list, func(v string) bool { return v == item })
				}
			}
			overrides[c.Name] = strings.Join(list, ",")
		}
	}
	if rerr := validateOverrides(overrides); rerr != nil {
		return rerr
	}
	if validateOnly || maps.Equal(overrides, t.Configs) {
		return nil
	}
	return s.storeTopicConfigs(ctx, t.Name, overrides)
}
