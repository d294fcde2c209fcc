package listener_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kspring/kspring/listener"
)

func TestSmoke(t *testing.T) {
	b := broker(t, map[string]int32{"orders": 2})
	orders := b.Topic("orders")
	s := sender(t, b.Addr())
	r := registry(t, b.Addr(), testConfig())
	var got seen[string]
	require.NoError(t, r.Register(listener.Listen(groupID(t, b, "orders"), func(_ context.Context, v string) error {
		got.add(v)
		return nil
	}, listener.Topics(orders))))
	start(t, r)
	send(t, s, orders, 0, "", "a", "b")
	send(t, s, orders, 1, "", "c")
	require.ElementsMatch(t, []string{"a", "b", "c"}, got.waitLen(t, 3))
}
