package serde_test

import (
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kspring/kspring/serde"
)

// roundTrip serializes v with s, checks the bytes, and reads them back.
func roundTrip[T any](t *testing.T, s serde.Serde[T], v T, want []byte) {
	t.Helper()
	var h serde.Headers
	b, err := s.Serialize("t", &h, v)
	require.NoError(t, err)
	require.Equal(t, want, b)
	got, err := s.Deserialize("t", h, b)
	require.NoError(t, err)
	require.Equal(t, v, got)
}

// The byte layouts are those of Kafka's Java serializers.
func TestKafkaCompatibleEncodings(t *testing.T) {
	t.Run("string", func(t *testing.T) { roundTrip[string](t, serde.String{}, "héllo", []byte("héllo")) })
	t.Run("bytes", func(t *testing.T) { roundTrip[[]byte](t, serde.Bytes{}, []byte{0, 1, 2}, []byte{0, 1, 2}) })
	t.Run("int16", func(t *testing.T) { roundTrip[int16](t, serde.Int16{}, -2, []byte{0xff, 0xfe}) })
	t.Run("int32", func(t *testing.T) { roundTrip[int32](t, serde.Int32{}, 1, []byte{0, 0, 0, 1}) })
	t.Run("int32 min", func(t *testing.T) {
		roundTrip[int32](t, serde.Int32{}, math.MinInt32, []byte{0x80, 0, 0, 0})
	})
	t.Run("int64", func(t *testing.T) {
		roundTrip[int64](t, serde.Int64{}, 258, []byte{0, 0, 0, 0, 0, 0, 1, 2})
	})
	t.Run("int64 -1", func(t *testing.T) {
		roundTrip[int64](t, serde.Int64{}, -1, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	})
	t.Run("float32", func(t *testing.T) { roundTrip[float32](t, serde.Float32{}, 1.5, []byte{0x3f, 0xc0, 0, 0}) })
	t.Run("float64", func(t *testing.T) {
		roundTrip[float64](t, serde.Float64{}, 1.5, []byte{0x3f, 0xf8, 0, 0, 0, 0, 0, 0})
	})
}

func TestNullDataDeserializesToZero(t *testing.T) {
	s, err := serde.String{}.Deserialize("t", nil, nil)
	require.NoError(t, err)
	require.Empty(t, s)

	b, err := serde.Bytes{}.Deserialize("t", nil, nil)
	require.NoError(t, err)
	require.Nil(t, b)

	n, err := serde.Int64{}.Deserialize("t", nil, nil)
	require.NoError(t, err)
	require.Zero(t, n)
}

func TestNumericWrongSizeIsDeserializationError(t *testing.T) {
	for name, deser := range map[string]func([]byte) error{
		"int16":   func(b []byte) error { _, err := serde.Int16{}.Deserialize("t", nil, b); return err },
		"int32":   func(b []byte) error { _, err := serde.Int32{}.Deserialize("t", nil, b); return err },
		"int64":   func(b []byte) error { _, err := serde.Int64{}.Deserialize("t", nil, b); return err },
		"float32": func(b []byte) error { _, err := serde.Float32{}.Deserialize("t", nil, b); return err },
		"float64": func(b []byte) error { _, err := serde.Float64{}.Deserialize("t", nil, b); return err },
	} {
		t.Run(name, func(t *testing.T) {
			err := deser([]byte{1, 2, 3})
			var de *serde.DeserializationError
			require.ErrorAs(t, err, &de)
			require.Equal(t, "t", de.Topic)
			require.Equal(t, []byte{1, 2, 3}, de.Data)
			require.ErrorContains(t, err, "got 3")
		})
	}
}

func TestBytesDeserializeCopies(t *testing.T) {
	buf := []byte("abc")
	got, err := serde.Bytes{}.Deserialize("t", nil, buf)
	require.NoError(t, err)
	buf[0] = 'x'
	require.Equal(t, []byte("abc"), got)
}

func TestNullable(t *testing.T) {
	s := serde.Nullable[int32](serde.Int32{})
	var h serde.Headers

	b, err := s.Serialize("t", &h, nil)
	require.NoError(t, err)
	require.Nil(t, b, "a nil pointer is a tombstone")

	v, err := s.Deserialize("t", nil, nil)
	require.NoError(t, err)
	require.Nil(t, v)

	seven := int32(7)
	b, err = s.Serialize("t", &h, &seven)
	require.NoError(t, err)
	require.Equal(t, []byte{0, 0, 0, 7}, b)
	v, err = s.Deserialize("t", nil, b)
	require.NoError(t, err)
	require.Equal(t, &seven, v)

	_, err = s.Deserialize("t", nil, []byte{1})
	var de *serde.DeserializationError
	require.ErrorAs(t, err, &de)
}

func TestFuncAdaptersAndCombine(t *testing.T) {
	upper := serde.SerializerFunc[string](func(topic string, h *serde.Headers, v string) ([]byte, error) {
		h.Add("topic", []byte(topic))
		return []byte(v + "!"), nil
	})
	lower := serde.DeserializerFunc[string](func(_ string, h serde.Headers, data []byte) (string, error) {
		tp, _ := h.Get("topic")
		return string(tp) + ":" + string(data), nil
	})
	s := serde.Combine[string](upper, lower)

	var h serde.Headers
	b, err := s.Serialize("orders", &h, "x")
	require.NoError(t, err)
	got, err := s.Deserialize("orders", h, b)
	require.NoError(t, err)
	require.Equal(t, "orders:x!", got)
}

func TestSerializeHelpersWrapEveryFailure(t *testing.T) {
	boom := errors.New("boom")
	failing := serde.SerializerFunc[int](func(string, *serde.Headers, int) ([]byte, error) { return nil, boom })
	panicking := serde.SerializerFunc[int](func(string, *serde.Headers, int) ([]byte, error) { panic("bad") })
	typed := serde.SerializerFunc[int](func(string, *serde.Headers, int) ([]byte, error) {
		return nil, &serde.SerializationError{Topic: "other", Cause: boom}
	})

	tests := []struct {
		name  string
		s     serde.Serializer[int]
		key   bool
		cause error
	}{
		{"plain error as key", failing, true, boom},
		{"plain error as value", failing, false, boom},
		{"panic", panicking, false, serde.ErrPanic},
		{"typed error is normalized", typed, true, boom},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var h serde.Headers
			var err error
			if tc.key {
				_, err = serde.SerializeKey(tc.s, "orders", &h, 1)
			} else {
				_, err = serde.SerializeValue(tc.s, "orders", &h, 1)
			}
			var se *serde.SerializationError
			require.ErrorAs(t, err, &se)
			require.Equal(t, "orders", se.Topic)
			require.Equal(t, tc.key, se.Key)
			require.ErrorIs(t, err, tc.cause)
			require.ErrorContains(t, err, fmt.Sprintf("serialize %s for topic \"orders\"", map[bool]string{true: "key", false: "value"}[tc.key]))
		})
	}

	b, err := serde.SerializeValue[string](serde.String{}, "orders", new(serde.Headers), "ok")
	require.NoError(t, err)
	require.Equal(t, []byte("ok"), b)
}

func TestDeserializeHelpersWrapEveryFailure(t *testing.T) {
	boom := errors.New("boom")
	data := []byte("payload")
	hdrs := serde.Headers{{Key: "h", Value: []byte("v")}}

	tests := []struct {
		name  string
		d     serde.Deserializer[int]
		key   bool
		cause error
	}{
		{"plain error", serde.DeserializerFunc[int](func(string, serde.Headers, []byte) (int, error) { return 0, boom }), false, boom},
		{"panic as key", serde.DeserializerFunc[int](func(string, serde.Headers, []byte) (int, error) { panic("bad") }), true, serde.ErrPanic},
		{"json error keeps its cause", serde.JSON[int]{}, true, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			if tc.key {
				_, err = serde.DeserializeKey(tc.d, "orders", hdrs, data)
			} else {
				_, err = serde.DeserializeValue(tc.d, "orders", hdrs, data)
			}
			var de *serde.DeserializationError
			require.ErrorAs(t, err, &de)
			require.Equal(t, "orders", de.Topic)
			require.Equal(t, tc.key, de.Key)
			require.Equal(t, data, de.Data)
			require.Equal(t, hdrs, de.Headers)
			require.NotNil(t, de.Cause)
			if tc.cause != nil {
				require.ErrorIs(t, err, tc.cause)
			}
		})
	}

	v, err := serde.DeserializeValue[int32](serde.Int32{}, "orders", nil, []byte{0, 0, 0, 9})
	require.NoError(t, err)
	require.Equal(t, int32(9), v)
}

func TestFor(t *testing.T) {
	require.IsType(t, serde.String{}, serde.For[string]())
	require.IsType(t, serde.Bytes{}, serde.For[[]byte]())
	require.IsType(t, serde.Int16{}, serde.For[int16]())
	require.IsType(t, serde.Int32{}, serde.For[int32]())
	require.IsType(t, serde.Int64{}, serde.For[int64]())
	require.IsType(t, serde.Float32{}, serde.For[float32]())
	require.IsType(t, serde.Float64{}, serde.For[float64]())
	require.IsType(t, serde.JSON[order]{}, serde.For[order]())
	require.IsType(t, serde.JSON[*order]{}, serde.For[*order]())
	require.IsType(t, serde.JSON[any]{}, serde.For[any]())
}
