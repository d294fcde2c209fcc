package load

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"
)

// ConsumeAll reads topic at addr from the start of every partition with a
// fresh client (no group) until it has seen want records, and returns the
// number of records and value bytes it read. each, if not nil, sees every
// record in partition order. It fails on the first fetch error and when ctx
// ends first.
func ConsumeAll(ctx context.Context, addr, topic string, want int64, each func(*kgo.Record), extra ...kgo.Opt) (records, bytes int64, err error) {
	opts := append([]kgo.Opt{
		kgo.SeedBrokers(strings.Split(addr, ",")...),
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
	}, extra...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return 0, 0, fmt.Errorf("consume %s: client: %w", topic, err)
	}
	defer cl.Close()
	for records < want {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return records, bytes, fmt.Errorf("consume %s: %d of %d records: %w", topic, records, want, err)
		}
		var ferr error
		fs.EachError(func(t string, p int32, err error) {
			ferr = errors.Join(ferr, fmt.Errorf("partition %s/%d: %w", t, p, err))
		})
		if ferr != nil {
			return records, bytes, fmt.Errorf("consume %s: %w", topic, ferr)
		}
		fs.EachRecord(func(r *kgo.Record) {
			records++
			bytes += int64(len(r.Value))
			if each != nil {
				each(r)
			}
		})
	}
	return records, bytes, nil
}
