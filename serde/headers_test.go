package serde_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kspring/kspring/serde"
)

func TestHeadersGetReturnsLastValue(t *testing.T) {
	var h serde.Headers
	h.Add("a", []byte("1"))
	h.Add("b", []byte("x"))
	h.Add("a", []byte("2"))

	v, ok := h.Get("a")
	require.True(t, ok)
	require.Equal(t, []byte("2"), v)
	require.Equal(t, [][]byte{[]byte("1"), []byte("2")}, h.Values("a"))

	_, ok = h.Get("missing")
	require.False(t, ok)
}

func TestHeadersSetReplacesAll(t *testing.T) {
	h := serde.Headers{{Key: "a", Value: []byte("1")}, {Key: "b"}, {Key: "a", Value: []byte("2")}}
	h.Set("a", []byte("3"))
	require.Equal(t, serde.Headers{{Key: "b"}, {Key: "a", Value: []byte("3")}}, h)

	h.Remove("b")
	require.Equal(t, serde.Headers{{Key: "a", Value: []byte("3")}}, h)
}

func TestHeadersCloneIsIndependent(t *testing.T) {
	h := serde.Headers{{Key: "a", Value: []byte("1")}}
	c := h.Clone()
	c.Set("a", []byte("2"))
	c.Add("b", nil)

	v, _ := h.Get("a")
	require.Equal(t, []byte("1"), v)
	require.Len(t, h, 1)
	require.Nil(t, serde.Headers(nil).Clone())
}
