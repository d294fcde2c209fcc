package serde_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kspring/kspring/serde"
)

type order struct {
	ID     string  `json:"id"`
	Amount float64 `json:"amount"`
}

func TestJSONWritesSpringTypeHeader(t *testing.T) {
	tests := []struct {
		name       string
		s          serde.JSON[order]
		wantHeader string
	}{
		{"no type id", serde.JSON[order]{}, ""},
		{"value", serde.JSON[order]{TypeID: "com.acme.Order"}, serde.TypeIDHeader},
		{"key", serde.JSON[order]{TypeID: "com.acme.OrderKey", IsKey: true}, serde.KeyTypeIDHeader},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// A stale type header from an earlier step is replaced, as Spring does.
			h := serde.Headers{{Key: serde.TypeIDHeader, Value: []byte("stale")}}
			b, err := tc.s.Serialize("orders", &h, order{ID: "o-1", Amount: 9.5})
			require.NoError(t, err)
			require.JSONEq(t, `{"id":"o-1","amount":9.5}`, string(b))

			if tc.wantHeader == "" {
				require.Equal(t, serde.Headers{{Key: serde.TypeIDHeader, Value: []byte("stale")}}, h)
				return
			}
			require.Equal(t, [][]byte{[]byte(tc.s.TypeID)}, h.Values(tc.wantHeader))

			got, err := tc.s.Deserialize("orders", h, b)
			require.NoError(t, err)
			require.Equal(t, order{ID: "o-1", Amount: 9.5}, got)
		})
	}
}

func TestJSONReadsSpringWrittenRecord(t *testing.T) {
	// What Spring's JsonSerializer writes for a Java Order with Jackson defaults.
	h := serde.Headers{{Key: serde.TypeIDHeader, Value: []byte("com.acme.Order")}}
	got, err := serde.JSON[order]{}.Deserialize("orders", h, []byte(`{"id":"o-2","amount":1.25,"extra":true}`))
	require.NoError(t, err)
	require.Equal(t, order{ID: "o-2", Amount: 1.25}, got)
}

func TestJSONTombstones(t *testing.T) {
	s := serde.JSON[*order]{TypeID: "com.acme.Order"}
	var h serde.Headers

	b, err := s.Serialize("orders", &h, nil)
	require.NoError(t, err)
	require.Nil(t, b)
	require.Empty(t, h, "no type header on a tombstone")

	got, err := s.Deserialize("orders", nil, nil)
	require.NoError(t, err)
	require.Nil(t, got)

	var anyS serde.JSON[any]
	b, err = anyS.Serialize("orders", &h, nil)
	require.NoError(t, err)
	require.Nil(t, b)

	zero, err := serde.JSON[order]{}.Deserialize("orders", nil, nil)
	require.NoError(t, err)
	require.Zero(t, zero)
}

func TestJSONErrorsAreTyped(t *testing.T) {
	_, err := serde.JSON[order]{IsKey: true}.Deserialize("orders", nil, []byte("{not json"))
	var de *serde.DeserializationError
	require.ErrorAs(t, err, &de)
	require.True(t, de.Key)
	require.Equal(t, "orders", de.Topic)
	require.Equal(t, []byte("{not json"), de.Data)
	require.ErrorContains(t, err, `deserialize key from topic "orders" (9 bytes)`)

	_, err = serde.JSON[chan int]{}.Serialize("orders", new(serde.Headers), make(chan int))
	var se *serde.SerializationError
	require.ErrorAs(t, err, &se)
	require.Equal(t, "orders", se.Topic)
}
