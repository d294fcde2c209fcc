package template_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kspring/kspring/template"
	"github.com/kspring/kspring/testkit"
)

// BenchmarkTransactionalSend compares transactional sends, 100 records per
// transaction (ExecuteInTransaction: begin, 100 sends, wait, commit), with
// plain idempotent sends (100 sends, then waiting for them), in one run
// against the bundled broker, with 100-byte values. An op is one record.
//
//	go test -run '^$' -bench BenchmarkTransactionalSend -benchtime 20000x -count 5 ./template/ | tee txn.txt
//	benchstat -col /impl txn.txt
func BenchmarkTransactionalSend(b *testing.B) {
	const topic, perTxn = "bench-txn", 100
	br := testkit.NewBroker(b, testkit.WithTopic(topic, 4, nil))
	value := bytes.Repeat([]byte("v"), 100)
	ctx := context.Background()
	idem := true
	for _, arm := range []struct {
		name string
		cfg  template.Config
		txn  bool
	}{
		{"impl=idempotent", template.Config{EnableIdempotence: &idem}, false},
		{"impl=transactional", template.Config{TransactionIDPrefix: "bench-txn-"}, true},
	} {
		b.Run(arm.name, func(b *testing.B) {
			tp, err := template.Dial[[]byte, []byte]([]string{br.Addr()}, arm.cfg)
			require.NoError(b, err)
			defer func() { require.NoError(b, tp.Close(ctx)) }()
			fs := make([]*template.Future[[]byte, []byte], 0, perTxn)
			batch := func(send func(v []byte) *template.Future[[]byte, []byte]) error {
				fs = fs[:0]
				for range perTxn {
					fs = append(fs, send(value))
				}
				for _, f := range fs {
					if _, err := f.Get(ctx); err != nil {
						return err
					}
				}
				return nil
			}
			b.ReportAllocs()
			b.SetBytes(int64(len(value)))
			b.ResetTimer()
			for done := 0; done < b.N; done += perTxn {
				if arm.txn {
					err = tp.ExecuteInTransaction(ctx, func(tx *template.Tx[[]byte, []byte]) error {
						return batch(func(v []byte) *template.Future[[]byte, []byte] { return tx.Send(ctx, topic, v) })
					})
				} else {
					err = batch(func(v []byte) *template.Future[[]byte, []byte] { return tp.Send(ctx, topic, v) })
				}
				if err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
		})
	}
}
