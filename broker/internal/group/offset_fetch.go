package group

// OffsetFetch (key 9), versions 0-10.
// v0-7 fetch one group (v2+: null topics = all of the group's offsets, and a
// group-level error code); v8+ fetch several groups at once; v10 names
// topics by ID (see WithTopicIDs). Transactional offsets (TxnOffsetCommit)
// are invisible until their transaction commits; with require_stable (v7+)
// a partition that has one pending answers UNSTABLE_OFFSET_COMMIT and
// offset -1 instead of the offset committed before, as in Kafka.
// Offsets are returned whatever the group's state, as Kafka does: simple
// consumers fetch without joining. A partition without a committed offset
// gets offset -1 and no error whether or not its topic exists, as in
// Kafka; a deleted topic's offsets are gone (see PartitionsDeleted), so
// its partitions answer so too.

import (
	"cmp"
	"context"
	"slices"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// fetchedPartition is one partition's answer.
type fetchedPartition struct {
	partition   int32
	offset      int64
	leaderEpoch int32
	metadata    string
	code        int16
}

type fetchedTopic struct {
	name       string
	id         [16]byte
	partitions []fetchedPartition
}

// fetchTopic is one topic asked for; partitions nil only in "all".
type fetchTopic struct {
	name       string
	id         [16]byte
	code       int16 // an unresolvable topic ID
	partitions []int32
}

// OffsetFetch serves an OffsetFetchRequest.
func (c *Coordinator) OffsetFetch(_ context.Context, req *kmsg.OffsetFetchRequest) *kmsg.OffsetFetchResponse {
	resp := req.ResponseKind().(*kmsg.OffsetFetchResponse)
	if req.Version >= 8 {
		resp.Groups = make([]kmsg.OffsetFetchResponseGroup, len(req.Groups))
		for i, rg := range req.Groups {
			var topics []fetchTopic
			if rg.Topics != nil {
				topics = make([]fetchTopic, len(rg.Topics))
				for j, t := range rg.Topics {
					topics[j] = fetchTopic{name: t.Topic, id: t.TopicID, partitions: t.Partitions}
					if req.Version >= 10 {
						topics[j].name, topics[j].code = c.topicName(t.TopicID)
					}
				}
			}
			code, fetched := c.fetch(rg.Group, rg.Topics == nil, topics, req.Version >= 10, req.RequireStable)
			g := &resp.Groups[i]
			g.Group, g.ErrorCode = rg.Group, code
			g.Topics = make([]kmsg.OffsetFetchResponseGroupTopic, len(fetched))
			for j, t := range fetched {
				rt := &g.Topics[j]
				rt.Topic, rt.TopicID = t.name, t.id
				rt.Partitions = make([]kmsg.OffsetFetchResponseGroupTopicPartition, len(t.partitions))
				for k, p := range t.partitions {
					rt.Partitions[k] = kmsg.OffsetFetchResponseGroupTopicPartition{
						Partition: p.partition, Offset: p.offset, LeaderEpoch: p.leaderEpoch,
						Metadata: new(p.metadata), ErrorCode: p.code,
					}
				}
			}
		}
		return resp
	}

	all := req.Version >= 2 && req.Topics == nil
	topics := make([]fetchTopic, len(req.Topics))
	for i, t := range req.Topics {
		topics[i] = fetchTopic{name: t.Topic, partitions: t.Partitions}
	}
	code, fetched := c.fetch(req.Group, all, topics, false, req.Version >= 7 && req.RequireStable)
	if code != 0 && req.Version < 2 {
		// No group-level error before v2: every partition carries it.
		fetched = fetched[:0]
		for _, t := range topics {
			ft := fetchedTopic{name: t.name}
			for _, p := range t.partitions {
				ft.partitions = append(ft.partitions, fetchedPartition{partition: p, offset: -1, leaderEpoch: -1, code: code})
			}
			fetched = append(fetched, ft)
		}
	}
	resp.ErrorCode = code
	resp.Topics = make([]kmsg.OffsetFetchResponseTopic, len(fetched))
	for i, t := range fetched {
		rt := &resp.Topics[i]
		rt.Topic = t.name
		rt.Partitions = make([]kmsg.OffsetFetchResponseTopicPartition, len(t.partitions))
		for j, p := range t.partitions {
			rt.Partitions[j] = kmsg.OffsetFetchResponseTopicPartition{
				Partition: p.partition, Offset: p.offset, LeaderEpoch: p.leaderEpoch,
				Metadata: new(p.metadata), ErrorCode: p.code,
			}
		}
	}
	return resp
}

// fetch returns a group's committed offsets for topics, or all of them. A
// partition without a committed offset gets offset -1. withIDs fills topic
// IDs for "all" (v10).
func (c *Coordinator) fetch(id string, all bool, topics []fetchTopic, withIDs, requireStable bool) (int16, []fetchedTopic) {
	g, s, code := c.lookup(id, false)
	if code != 0 {
		return code, nil
	}
	defer s.exit()
	if g != nil {
		g.mu.Lock()
		defer g.mu.Unlock()
		if g.state == stateDead {
			g = nil
		}
	}

	if all {
		if g == nil {
			return 0, []fetchedTopic{}
		}
		byTopic := make(map[string][]fetchedPartition)
		for tp, o := range g.offsets {
			fp := fetchedPartition{partition: tp.partition, offset: o.offset, leaderEpoch: o.leaderEpoch, metadata: o.metadata}
			if requireStable && g.txnPending(tp) {
				fp = unstable(tp.partition)
			}
			byTopic[tp.topic] = append(byTopic[tp.topic], fp)
		}
		out := make([]fetchedTopic, 0, len(byTopic))
		for name, ps := range byTopic {
			t := fetchedTopic{name: name, partitions: ps}
			if withIDs {
				var ok bool
				if c.topics != nil {
					t.id, ok = c.topics.TopicID(name)
				}
				if !ok {
					continue // a deleted topic has no ID to name it by
				}
			}
			slices.SortFunc(t.partitions, func(a, b fetchedPartition) int { return cmp.Compare(a.partition, b.partition) })
			out = append(out, t)
		}
		slices.SortFunc(out, func(a, b fetchedTopic) int { return cmp.Compare(a.name, b.name) })
		return 0, out
	}

	out := make([]fetchedTopic, len(topics))
	for i, t := range topics {
		ft := fetchedTopic{name: t.name, id: t.id, partitions: make([]fetchedPartition, len(t.partitions))}
		for j, p := range t.partitions {
			fp := fetchedPartition{partition: p, offset: -1, leaderEpoch: -1, code: t.code}
			if g != nil && t.code == 0 {
				if o := g.offsets[topicPartition{t.name, p}]; o != nil {
					fp.offset, fp.leaderEpoch, fp.metadata = o.offset, o.leaderEpoch, o.metadata
				}
				if requireStable && g.txnPending(topicPartition{t.name, p}) {
					fp = unstable(p)
				}
			}
			ft.partitions[j] = fp
		}
		out[i] = ft
	}
	return 0, out
}
