package group

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// BenchmarkJoinSync10 measures one rebalance of a 10-member group: every
// member rejoins (with new metadata, so whoever comes first starts the
// rebalance), the leader assigns, and all sync; the assignment is appended
// to a partition log before the members get it.
func BenchmarkJoinSync10(b *testing.B) {
	const members = 10
	h := newHarness(b, testConfig())
	ms := make([]*consumer, members)
	for i := range ms {
		ms[i] = newConsumer(h, "bench", "t")
	}
	ctx := context.Background()
	for _, err := range parallel(members, func(i int) error { return ms[i].settle(ctx, "t", 20, members) }) {
		if err != nil {
			b.Fatal(err)
		}
	}
	metas := [2][]byte{subscription("t"), subscription("t", "u")}

	round := 0
	b.ReportAllocs()
	for b.Loop() {
		round++
		for _, err := range parallel(members, func(i int) error {
			m := ms[i]
			m.protocols[0].Metadata = metas[round%2]
			if err := m.joinGroup(ctx); err != nil {
				return err
			}
			var assignments map[string][]byte
			if m.isLeader() {
				var err error
				if assignments, err = rangeAssign(m.members, "t", 20); err != nil {
					return err
				}
			}
			if resp := m.sync(ctx, assignments); resp.ErrorCode != 0 {
				return fmt.Errorf("sync: %w", code(resp.ErrorCode))
			}
			return nil
		}) {
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "µs/rebalance")
}

// BenchmarkOffsetCommit measures OffsetCommit of one partition by a group
// member, appended to a partition log before it is acknowledged: serially
// for one group, and in parallel over one group per goroutine (no lock is
// shared between groups).
func BenchmarkOffsetCommit(b *testing.B) {
	b.Run("one-group", func(b *testing.B) {
		h := newHarness(b, testConfig())
		m := newConsumer(h, "bench", "t")
		m.rebalanceGroup(b, "t", 1)
		req := commitRequest(m)
		b.ReportAllocs()
		var off int64
		for b.Loop() {
			off++
			req.Topics[0].Partitions[0].Offset = off
			if c := h.c.OffsetCommit(context.Background(), req).Topics[0].Partitions[0].ErrorCode; c != 0 {
				b.Fatal(code(c))
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "commits/s")
	})
	b.Run("group-per-goroutine", func(b *testing.B) {
		h := newHarness(b, testConfig())
		var n int
		next := make(chan *kmsg.OffsetCommitRequest, 64)
		for i := range cap(next) {
			m := newConsumer(h, fmt.Sprintf("bench-%d", i), "t")
			m.rebalanceGroup(b, "t", 1)
			next <- commitRequest(m)
			n++
		}
		b.ReportAllocs()
		start := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			req := <-next
			var off int64
			for pb.Next() {
				off++
				req.Topics[0].Partitions[0].Offset = off
				if c := h.c.OffsetCommit(context.Background(), req).Topics[0].Partitions[0].ErrorCode; c != 0 {
					b.Error(code(c))
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "commits/s")
	})
}

func commitRequest(m *consumer) *kmsg.OffsetCommitRequest {
	req := kmsg.NewPtrOffsetCommitRequest()
	req.Version = 8
	req.Group, req.Generation, req.MemberID = m.group, m.generation, m.id
	p := kmsg.NewOffsetCommitRequestTopicPartition()
	p.Partition, p.LeaderEpoch = 0, 1
	req.Topics = []kmsg.OffsetCommitRequestTopic{{Topic: "t", Partitions: []kmsg.OffsetCommitRequestTopicPartition{p}}}
	return req
}
