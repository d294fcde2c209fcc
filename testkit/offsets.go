package testkit

import (
	"context"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
)

// EndOffsets returns the end offset (high watermark: the offset the next
// record gets) of every partition of topic. It fails the test if the topic
// does not exist or the brokers do not answer within WaitTimeout.
func EndOffsets(t testing.TB, addr, topic string) map[int32]int64 {
	t.Helper()
	out := map[int32]int64{}
	var err error
	withAdmin(t, addr, func(ctx context.Context, adm *kadm.Client) {
		var listed kadm.ListedOffsets
		if listed, err = adm.ListEndOffsets(ctx, topic); err == nil {
			err = listed.Error()
		}
		listed.Each(func(o kadm.ListedOffset) {
			if o.Err == nil && o.Partition >= 0 {
				out[o.Partition] = o.Offset
			}
		})
	})
	if err != nil {
		t.Fatalf("testkit: EndOffsets of %q at %s: %v", topic, addr, err)
	}
	return out
}

// CommittedOffsets returns the offsets group has committed for topic, by
// partition; a partition without a commit is absent, so a group that never
// committed gives an empty map. It fails the test if the brokers do not
// answer within WaitTimeout.
func CommittedOffsets(t testing.TB, addr, group, topic string) map[int32]int64 {
	t.Helper()
	out := map[int32]int64{}
	var err error
	withAdmin(t, addr, func(ctx context.Context, adm *kadm.Client) {
		var resp kadm.OffsetResponses
		if resp, err = adm.FetchOffsetsForTopics(ctx, group, topic); err == nil {
			err = resp.Error()
		}
		resp.Each(func(o kadm.OffsetResponse) {
			if o.Err == nil && o.Topic == topic && o.At >= 0 {
				out[o.Partition] = o.At
			}
		})
	})
	if err != nil {
		t.Fatalf("testkit: CommittedOffsets of group %q for %q at %s: %v", group, topic, addr, err)
	}
	return out
}
