package wire

// Config resources shared by DescribeConfigs, AlterConfigs and
// IncrementalAlterConfigs: resolving a topic or broker resource name, and
// storing a topic's new overrides.

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"

	"github.com/kspring/kspring/broker/internal/cluster"
	"github.com/kspring/kspring/broker/internal/topicconf"
)

// resourceError is a Kafka error code with the message that explains it.
type resourceError struct {
	err *kerr.Error
	msg string
}

func newResourceError(err *kerr.Error, format string, args ...any) *resourceError {
	return &resourceError{err: err, msg: fmt.Sprintf(format, args...)}
}

// code returns the error code, 0 for nil.
func (e *resourceError) code() int16 {
	if e == nil {
		return 0
	}
	return e.err.Code
}

// message returns the message, nil for nil.
func (e *resourceError) message() *string {
	if e == nil {
		return nil
	}
	return &e.msg
}

// topicResource resolves the topic a config resource names.
func (s *Server) topicResource(name string) (cluster.Topic, *resourceError) {
	if err := validateTopicName(name); err != nil {
		return cluster.Topic{}, newResourceError(kerr.InvalidTopicException, "%v", err)
	}
	t, ok := s.meta.Topic(name)
	if !ok {
		return cluster.Topic{}, newResourceError(kerr.UnknownTopicOrPartition, "topic %q does not exist", name)
	}
	return t, nil
}

// checkBrokerResource checks a broker resource name: empty for the
// cluster-wide defaults, or this broker's id, as Kafka accepts.
func (s *Server) checkBrokerResource(name string) *resourceError {
	if name == "" {
		return nil
	}
	id, err := strconv.ParseInt(name, 10, 32)
	if err != nil {
		return newResourceError(kerr.InvalidRequest, "broker id must be an integer, but it is %q", name)
	}
	if int32(id) != s.settings.NodeID {
		return newResourceError(kerr.InvalidRequest, "unexpected broker id %d: expected %d or an empty name", id, s.settings.NodeID)
	}
	return nil
}

// errBrokerConfigsStatic answers a request to change broker configs.
func errBrokerConfigsStatic() *resourceError {
	return newResourceError(kerr.InvalidRequest,
		"dynamic broker configs are not supported: set broker properties in server.properties (or --override) and restart; "+
			"topic configs can be altered per topic")
}

// topicConfigMu serializes the read-modify-write of topic overrides by the
// alter-config APIs, so that two concurrent changes to one topic both land.
// Config changes are rare admin requests; one lock for all topics (and all
// Servers in a process) costs nothing that matters. Lock order: before
// everything Topics.SetConfigs takes.
var topicConfigMu sync.Mutex

// validateOverrides checks every override of a topic's would-be config.
func validateOverrides(overrides map[string]string) *resourceError {
	for _, k := range slices.Sorted(maps.Keys(overrides)) {
		if _, ok := topicconf.Lookup(k); !ok {
			return newResourceError(kerr.InvalidConfig, "unknown topic config name: %s", k)
		}
		if err := topicconf.Validate(k, overrides[k]); err != nil {
			return newResourceError(kerr.InvalidConfig, "%v", err)
		}
	}
	return nil
}

// storeTopicConfigs replaces a topic's overrides; its partitions apply them
// before this returns. The caller holds topicConfigMu and has validated them.
func (s *Server) storeTopicConfigs(ctx context.Context, topic string, overrides map[string]string) *resourceError {
	err := s.topics.SetConfigs(ctx, topic, overrides)
	switch {
	case errors.Is(err, cluster.ErrNoSuchTopic):
		return newResourceError(kerr.UnknownTopicOrPartition, "topic %q does not exist", topic)
	case err != nil:
		s.logger.Error("set topic configs failed", zap.String("topic", topic), zap.Error(err))
		return newResourceError(kerr.KafkaStorageError, "set configs of topic %q: %v", topic, err)
	}
	s.logger.Info("altered topic configs", zap.String("topic", topic), zap.Any("overrides", overrides))
	return nil
}

// duplicateResources counts the (type, name) pairs of a request, so that a
// resource given twice can be refused as Kafka does.
func duplicateResources[T any](resources []T, key func(T) (kmsg.ConfigResourceType, string)) map[resourceKey]int {
	n := map[resourceKey]int{}
	for _, r := range resources {
		typ, name := key(r)
		n[resourceKey{typ, name}]++
	}
	return n
}

type resourceKey struct {
	typ  kmsg.ConfigResourceType
	name string
}

// splitList splits a list config value as Kafka does: on commas, trimming
// spaces, dropping empty items.
func splitList(v string) []string {
	var out []string
	for item := range strings.SplitSeq(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}
