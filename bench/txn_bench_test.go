package bench

// Transactions against plain idempotent produce, same broker, same run: one
// op is 100 records of 100 bytes produced with franz-go, either as one
// transaction (BeginTransaction, ProduceSync of the 100, EndTransaction
// commit: an AddPartitionsToTxn, the batch, an EndTxn and the markers the
// coordinator writes) or as one idempotent ProduceSync of the 100 (acks=all
// both). records/s counts records acknowledged; the ratio of the two is the
// cost of the transaction's round trips to the coordinator and its markers.

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/kspring/kspring/bench/internal/target"
)

const txnBatch = 100

func BenchmarkTransactions(b *testing.B) {
	t := startTarget(b, target.NameKspring)
	for _, mode := range []string{"idempotent", "transactional"} {
		b.Run("mode="+mode, func(b *testing.B) {
			ctx := benchContext(b)
			opts := []kgo.Opt{
				kgo.SeedBrokers(t.Addr), kgo.DefaultProduceTopic(topic),
				kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.RequiredAcks(kgo.AllISRAcks()),
			}
			if mode == "transactional" {
				opts = append(opts, kgo.TransactionalID(fmt.Sprintf("bench-%d", time.Now().UnixNano())),
					kgo.TransactionTimeout(time.Minute))
			}
			cl, err := kgo.NewClient(opts...)
			require.NoError(b, err)
			b.Cleanup(cl.Close)
			v := value(100)
			recs := make([]*kgo.Record, txnBatch)
			op := func() error {
				for i := range recs {
					recs[i] = &kgo.Record{Value: v}
				}
				if mode == "idempotent" {
					return cl.ProduceSync(ctx, recs...).FirstErr()
				}
				if err := cl.BeginTransaction(); err != nil {
					return err
				}
				if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
					return err
				}
				return cl.EndTransaction(ctx, kgo.TryCommit)
			}
			require.NoError(b, op()) // warm up: connections, producer id, coordinator
			b.SetBytes(int64(txnBatch * len(v)))
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if err := op(); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N*txnBatch)/b.Elapsed().Seconds(), "records/s")
		})
	}
}
