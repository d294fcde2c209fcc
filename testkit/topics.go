package testkit

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

// topicSet knows the topics of one Broker or Cluster by the names the test
// gave them and the names they were created with: the same against the
// embedded broker, unique against an external cluster.
type topicSet struct {
	t        testing.TB // the test that owns the broker
	addr     string
	external bool

	mu    sync.Mutex
	names map[string]string
}

func newTopicSet(t testing.TB, addr string, external bool) *topicSet {
	return &topicSet{t: t, addr: addr, external: external, names: map[string]string{}}
}

// name returns the name given is created with, choosing it on first use.
func (s *topicSet) name(given string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n, ok := s.names[given]; ok {
		return n
	}
	n := given
	if s.external {
		n = UniqueName(s.t, given)
	}
	s.names[given] = n
	return n
}

// create creates the topic given (under its chosen name) through the Kafka
// protocol and returns that name. Against an external cluster the topic is
// deleted when the test ends.
func (s *topicSet) create(t testing.TB, given string, partitions int32, configs map[string]string) string {
	t.Helper()
	name := s.name(given)
	if partitions == 0 {
		partitions = -1 // the broker's num.partitions
	}
	cfgs := make(map[string]*string, len(configs))
	for k, v := range configs {
		cfgs[k] = &v
	}
	var err error
	withAdmin(t, s.addr, func(ctx context.Context, adm *kadm.Client) {
		// Replication factor -1: the cluster's default.replication.factor.
		var resp kadm.CreateTopicResponse
		resp, err = adm.CreateTopic(ctx, partitions, -1, cfgs, name)
		if err == nil {
			err = resp.Err
		}
	})
	if err != nil {
		t.Fatalf("testkit: create topic %q with %d partitions and configs %v at %s: %v", name, partitions, configs, s.addr, err)
	}
	if s.external {
		s.t.Cleanup(func() { s.drop(name) })
	}
	return name
}

// drop deletes a topic the test created on an external cluster. It reports
// failures in the log only: the test itself is over.
func (s *topicSet) drop(name string) {
	withAdmin(s.t, s.addr, func(ctx context.Context, adm *kadm.Client) {
		resp, err := adm.DeleteTopic(ctx, name)
		if err == nil {
			err = resp.Err
		}
		if err != nil && !errors.Is(err, kerr.UnknownTopicOrPartition) {
			s.t.Logf("testkit: delete topic %q at %s: %v", name, s.addr, err)
		}
	})
}
