package listener_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kspring/kspring/listener"
	"github.com/kspring/kspring/serde"
	"github.com/kspring/kspring/template"
	"github.com/kspring/kspring/testkit"
)

// TestExactlyOncePipelineSurvivesBrokerKills is issue 12's exactly-once
// pipeline: N records in, a transactional listener transforms each and
// sends the result with the record's offset in one transaction, while the
// broker is killed (as kill -9 would) and restarted twice, each time with a
// transaction open whose output is already in the log: the first commits
// after the restart, the second rolls back and its record is processed
// again. Under read_committed every output is there exactly once.
func TestExactlyOncePipelineSurvivesBrokerKills(t *testing.T) {
	if testkit.External() {
		t.Skip("kills the embedded broker")
	}
	const n = 300
	b := broker(t, map[string]int32{"orders": 2, "invoices": 2})
	in, out := b.Topic("orders"), b.Topic("invoices")
	txb := txnTemplate[[]byte, []byte](t, b.Addr(), testkit.UniqueName(t, "pipeline")+"-")

	s := sender(t, b.Addr())
	var values []string
	for i := range n {
		values = append(values, fmt.Sprintf("order-%03d", i))
	}
	send(t, s, in, -1, "", values...)

	// A handler told to hold stops inside its transaction, after its output
	// is in the log, until the broker has been killed and restarted.
	var holdNext atomic.Bool
	held, release := make(chan struct{}), make(chan error)
	r := registry(t, b.Addr(), testConfig(), listener.WithTransactionManager(txb))
	require.NoError(t, r.Register(listener.Listen("billing", func(ctx context.Context, v string) error {
		f := txb.SendRecord(ctx, template.ProducerRecord[[]byte, []byte]{Topic: out, Value: []byte("invoice-for-" + v)})
		if _, err := f.Get(ctx); err != nil {
			return err
		}
		if holdNext.CompareAndSwap(true, false) {
			held <- struct{}{}
			return <-release // nil: commit after the restart; an error: roll back
		}
		return nil
	}, listener.Topics(in), listener.Concurrency(2), listener.ValueDeserializer(serde.String{}))))
	start(t, r)

	committed := func() []string {
		got := testkit.CommittedRecords(t, b.Addr(), out)
		vs := make([]string, len(got))
		for i, rec := range got {
			vs[i] = string(rec.Value)
		}
		return vs
	}
	atLeast := func(k int) {
		t.Helper()
		testkit.Eventually(t, 2*time.Minute, func() error {
			if got := len(committed()); got < k {
				return fmt.Errorf("%d outputs committed, waiting for %d", got, k)
			}
			return nil
		})
	}
	// The first transaction held across a crash commits after the restart;
	// the second rolls back, and its record is processed again.
	for i, k := range []int{n / 3, 2 * n / 3} {
		atLeast(k)
		holdNext.Store(true)
		testkit.Receive(t, held, time.Minute) // a transaction with data is open
		b.Kill(t)
		b.Restart(t)
		if i == 0 {
			release <- nil
		} else {
			release <- errors.New("rolled back after the crash")
		}
	}
	atLeast(n)

	// Let what is in flight settle, then count: nothing more may come.
	ends := testkit.EndOffsets(t, b.Addr(), in)
	testkit.Eventually(t, time.Minute, func() error { return committedTo(t, b.Addr(), "billing", in, ends) })
	settled := testkit.CommittedRecordsSettled(t, b.Addr(), out)
	got := make([]string, len(settled))
	for i, rec := range settled {
		got[i] = string(rec.Value)
	}
	want := make([]string, n)
	for i, v := range values {
		want[i] = "invoice-for-" + v
	}
	require.ElementsMatch(t, want, got, "each output exactly once under read_committed")
}
