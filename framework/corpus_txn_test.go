package framework_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/fx"

	"github.com/kspring/kspring/framework"
	"github.com/kspring/kspring/listener"
	"github.com/kspring/kspring/template"
	"github.com/kspring/kspring/testkit"
)

// TestCorpusTransactions: with transaction-id-prefix set, a listener's
// output and its offsets commit together: a record whose handler fails once
// is delivered again, and its output appears once under read_committed.
func TestCorpusTransactions(t *testing.T) {
	in, out := testkit.UniqueName(t, "payments"), testkit.UniqueName(t, "ledger")
	var kafka *template.Template[string, string]
	var failures atomic.Int32
	a := startSpringApp(t, "transactions", []string{"IN_TOPIC=" + in, "OUT_TOPIC=" + out},
		framework.Topic(framework.NewTopic{Name: in, Partitions: 1}, framework.NewTopic{Name: out, Partitions: 1}),
		framework.Listener(func(kafka *template.Template[string, string]) listener.Endpoint {
			return listener.Listen("ledger-eos", func(ctx context.Context, v string) error {
				if _, err := kafka.Send(ctx, out, "entry:"+v).Get(ctx); err != nil {
					return err
				}
				if v == "p-2" && failures.Add(1) == 1 {
					return errors.New("ledger unavailable") // rolls the entry back
				}
				return nil
			}, listener.Topics("${app.in}"), listener.IDIsGroup(false))
		}),
		fx.Populate(&kafka),
	)
	require.True(t, kafka.IsTransactional(), "transaction-id-prefix")
	c := a.container(t, "ledger-eos")
	require.Equal(t, "ledger-service", c.GroupID())

	// Sends outside a listener run in transactions of their own (each
	// followed by its commit marker, which takes an offset).
	var last int64
	for _, v := range []string{"p-1", "p-2", "p-3"} {
		res, err := kafka.Send(t.Context(), in, v).Get(t.Context())
		require.NoError(t, err)
		last = res.Metadata.Offset
	}
	testkit.Eventually(t, 30*time.Second, func() error {
		if got := testkit.CommittedOffsets(t, a.broker.Bootstrap(), "ledger-service", in)[0]; got != last+1 {
			return fmt.Errorf("committed offset %d, want %d", got, last+1)
		}
		return nil
	})
	var got []string
	for _, r := range testkit.CommittedRecordsSettled(t, a.broker.Bootstrap(), out) {
		got = append(got, string(r.Value))
	}
	require.Equal(t, []string{"entry:p-1", "entry:p-2", "entry:p-3"}, got, "each output once, the rolled back one invisible")
	require.Equal(t, int32(2), failures.Load(), "p-2 was delivered again after the rollback")
	require.Len(t, testkit.Records(t, a.broker.Bootstrap(), out), 4, "read_uncommitted also sees the aborted entry")
}
