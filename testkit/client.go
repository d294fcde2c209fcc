package testkit

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// WaitTimeout bounds every wait of the helpers that take no timeout of their
// own: creating topics, producing, listing offsets, waiting for an
// assignment. It is generous because a loaded CI machine is slow; a healthy
// test waits milliseconds.
const WaitTimeout = 30 * time.Second

// newClient returns a franz-go client for the bootstrap list addr
// ("host:port[,host:port]"). The caller closes it. The helpers use their own
// clients, never the framework's, so a helper cannot hide a framework bug.
func newClient(t testing.TB, addr string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	addrs := splitAddrs(addr)
	if len(addrs) == 0 {
		t.Fatalf("testkit: no bootstrap address given (got %q)", addr)
	}
	base := append([]kgo.Opt{kgo.SeedBrokers(addrs...)}, helperOpts(addrs)...)
	cl, err := kgo.NewClient(append(base, opts...)...)
	if err != nil {
		t.Fatalf("testkit: client for %s: %v", addr, err)
	}
	return cl
}

// withAdmin runs fn with an admin client for addr and a context bounded by
// WaitTimeout.
func withAdmin(t testing.TB, addr string, fn func(ctx context.Context, adm *kadm.Client)) {
	t.Helper()
	cl := newClient(t, addr)
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), WaitTimeout)
	defer cancel()
	fn(ctx, kadm.NewClient(cl))
}

func joinAddrs(addrs []string) string { return strings.Join(addrs, ",") }
