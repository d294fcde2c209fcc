package serde_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kspring/kspring/serde"
)

func TestHeaderCarrier(t *testing.T) {
	h := serde.Headers{{Key: "traceparent", Value: []byte("old")}, {Key: "a", Value: []byte("1")}}
	c := serde.HeaderCarrier{Headers: &h}
	require.Equal(t, "old", c.Get("traceparent"))
	require.Equal(t, "", c.Get("missing"))
	c.Set("traceparent", "new")
	require.Equal(t, "new", c.Get("traceparent"))
	require.Equal(t, []string{"a", "traceparent"}, c.Keys(), "set replaces, never repeats")
	var empty serde.Headers
	ec := serde.HeaderCarrier{Headers: &empty}
	require.Empty(t, ec.Keys())
	ec.Set("tracestate", "k=v")
	require.Equal(t, serde.Headers{{Key: "tracestate", Value: []byte("k=v")}}, empty)
}
