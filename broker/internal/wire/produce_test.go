package wire

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kspring/kspring/broker/internal/batch"
)

func produceOf(records ...[]byte) *kmsg.ProduceRequest {
	req := kmsg.NewPtrProduceRequest()
	rt := kmsg.NewProduceRequestTopic()
	for i, r := range records {
		rp := kmsg.NewProduceRequestTopicPartition()
		rp.Partition, rp.Records = int32(i), r
		rt.Partitions = append(rt.Partitions, rp)
	}
	req.Topics = append(req.Topics, rt)
	return req
}

func TestHasTransactionalBatch(t *testing.T) {
	now := time.Now().UnixMilli()
	recs := []batch.Record{{Value: []byte("v")}}
	plain := batch.Build(nil, 0, now, recs, batch.WithProducer(1, 0, 0))
	txn := batch.Build(nil, 0, now, recs, batch.WithProducer(1, 0, 1), batch.WithTransactional())
	for name, tc := range map[string]struct {
		req  *kmsg.ProduceRequest
		want bool
	}{
		"none":                          {produceOf(), false},
		"idempotent":                    {produceOf(plain), false},
		"transactional":                 {produceOf(txn), true},
		"second batch of a partition":   {produceOf(append(append([]byte{}, plain...), txn...)), true},
		"second partition":              {produceOf(plain, txn), true},
		"after a partition's garbage":   {produceOf([]byte{1, 2, 3}, txn), true},
		"a truncated transactional one": {produceOf(txn[:20]), false},
	} {
		t.Run(name, func(t *testing.T) { require.Equal(t, tc.want, hasTransactionalBatch(tc.req)) })
	}
}

// FuzzHasTransactionalBatch: whatever a partition's records hold, the scan
// does not panic, and a transactional batch after batches whose headers
// parse is found.
func FuzzHasTransactionalBatch(f *testing.F) {
	now := time.Now().UnixMilli()
	recs := []batch.Record{{Value: []byte("v")}}
	f.Add(batch.Build(nil, 0, now, recs, batch.WithProducer(1, 0, 0)))
	f.Add(batch.Build(nil, 0, now, recs, batch.WithProducer(1, 0, 0), batch.WithTransactional()))
	f.Add([]byte{})
	txn := batch.Build(nil, 0, now, recs, batch.WithProducer(2, 0, 0), batch.WithTransactional())
	f.Fuzz(func(t *testing.T, records []byte) {
		hasTransactionalBatch(produceOf(records))
		parses := batch.Split(records, func(b []byte) error { _, err := batch.ParseHeader(b); return err }) == nil
		if parses {
			require.True(t, hasTransactionalBatch(produceOf(append(append([]byte{}, records...), txn...))))
		}
	})
}
