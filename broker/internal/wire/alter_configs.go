package wire

// AlterConfigs (key 33), versions 0-2.
// The legacy form that sarama's ClusterAdmin.AlterConfig sends: the configs
// given become the topic's complete set of overrides; every override not
// named is removed. The new set is validated as a whole (an unknown key, a bad
// value or a null value answer INVALID_CONFIG and nothing changes), then
// stored and applied to the topic's partitions before the response is sent.
// ValidateOnly stops after validation. A resource given twice answers
// INVALID_REQUEST.
// Departure: dynamic broker configs are not supported; a broker resource
// answers INVALID_REQUEST with a message to change server.properties instead.
// Other resource types answer INVALID_REQUEST.

import (
	"context"
	"maps"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() { register(33, 0, 2, handler((*Server).handleAlterConfigs)) }

func (s *Server) handleAlterConfigs(ctx context.Context, req *Request, body *kmsg.AlterConfigsRequest) (kmsg.Response, error) {
	resp := body.ResponseKind().(*kmsg.AlterConfigsResponse)
	resp.SetVersion(body.Version)
	dups := duplicateResources(body.Resources, func(r kmsg.AlterConfigsRequestResource) (kmsg.ConfigResourceType, string) {
		return r.ResourceType, r.ResourceName
	})
	for _, rr := range body.Resources {
		sr := kmsg.NewAlterConfigsResponseResource()
		sr.ResourceType, sr.ResourceName = rr.ResourceType, rr.ResourceName
		var rerr *resourceError
		if dups[resourceKey{rr.ResourceType, rr.ResourceName}] > 1 {
			rerr = newResourceError(kerr.InvalidRequest, "each resource must appear at most once in the request")
		} else if !s.configAuthorized(req, rr.ResourceType, rr.ResourceName, kmsg.ACLOperationAlterConfigs) {
			rerr = authorizationError(rr.ResourceType)
		} else {
			rerr = s.replaceConfigs(ctx, rr, body.ValidateOnly)
		}
		sr.ErrorCode, sr.ErrorMessage = rerr.code(), rerr.message()
		resp.Resources = append(resp.Resources, sr)
	}
	return resp, nil
}

func (s *Server) replaceConfigs(ctx context.Context, rr kmsg.AlterConfigsRequestResource, validateOnly bool) *resourceError {
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
	overrides := map[string]string{}
	var nulls []string
	for _, c := range rr.Configs {
		if c.Value == nil {
			nulls = append(nulls, c.Name)
			continue
		}
		overrides[c.Name] = *c.Value
	}
	if len(nulls) > 0 {
		slices.Sort(nulls)
		return newResourceError(kerr.InvalidConfig, "null value not supported for topic configs: %s", strings.Join(nulls, ","))
	}

	topicConfigMu.Lock()
	defer topicConfigMu.Unlock()
	t, rerr := s.topicResource(rr.ResourceName)
	if rerr != nil {
		return rerr
	}
	if rerr := validateOverrides(overrides); rerr != nil {
		return rerr
	}
	if validateOnly || maps.Equal(overrides, t.Configs) {
		return nil
	}
	return s.storeTopicConfigs(ctx, t.Name, overrides)
}
