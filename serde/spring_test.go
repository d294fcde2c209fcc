package serde_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kspring/kspring/serde"
)

type Order struct {
	ID string `json:"id"`
}

func TestJavaClassNamesSelectTheSerde(t *testing.T) {
	const k, s = "org.apache.kafka.common.serialization.", "org.springframework.kafka.support.serializer."
	for _, tc := range []struct {
		class string
		props map[string]string
		want  serde.Format
		err   string
	}{
		{"", nil, serde.FormatDefault, ""},
		{k + "StringDeserializer", nil, serde.FormatString, ""},
		{k + "ByteArrayDeserializer", nil, serde.FormatBytes, ""},
		{k + "IntegerDeserializer", nil, serde.FormatInt32, ""},
		{k + "LongDeserializer", nil, serde.FormatInt64, ""},
		{s + "JsonDeserializer", nil, serde.FormatJSON, ""},
		{s + "ErrorHandlingDeserializer", map[string]string{"spring.deserializer.value.delegate.class": s + "JsonDeserializer"}, serde.FormatJSON, ""},
		{s + "ErrorHandlingDeserializer", map[string]string{"spring.deserializer.value.delegate.class": k + "StringDeserializer"}, serde.FormatString, ""},
		{s + "ErrorHandlingDeserializer", nil, 0, "needs a delegate: set spring.deserializer.value.delegate.class"},
		{s + "ErrorHandlingDeserializer", map[string]string{"spring.deserializer.value.delegate.class": "com.acme.AvroDeserializer"}, 0, `"com.acme.AvroDeserializer"`},
		{"io.confluent.kafka.serializers.KafkaAvroDeserializer", nil, 0, `"io.confluent.kafka.serializers.KafkaAvroDeserializer"`},
		{k + "StringSerializer", nil, 0, "unknown serializer class"},
	} {
		t.Run(tc.class, func(t *testing.T) {
			f, err := serde.DeserializerFormat(tc.class, tc.props, false)
			if tc.err != "" {
				require.ErrorIs(t, err, serde.ErrUnknownClass)
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, f)
		})
	}
	f, err := serde.SerializerFormat(s + "JsonSerializer")
	require.NoError(t, err)
	require.Equal(t, serde.FormatJSON, f)
	_, err = serde.SerializerFormat("com.acme.Custom")
	require.ErrorIs(t, err, serde.ErrUnknownClass)
}

func TestSerdeForClassChecksTheGoType(t *testing.T) {
	d, err := serde.DeserializerFor[int64]("org.apache.kafka.common.serialization.LongDeserializer", nil, false)
	require.NoError(t, err)
	v, err := d.Deserialize("t", nil, []byte{0, 0, 0, 0, 0, 0, 0, 42})
	require.NoError(t, err)
	require.Equal(t, int64(42), v)

	_, err = serde.SerializerFor[Order]("org.apache.kafka.common.serialization.StringSerializer", nil, false)
	require.ErrorContains(t, err, "handles string data, not serde_test.Order")
	require.ErrorContains(t, err, "JsonSerializer")

	js, err := serde.SerializerFor[string]("org.springframework.kafka.support.serializer.JsonSerializer", nil, false)
	require.NoError(t, err)
	b, err := js.Serialize("t", &serde.Headers{}, "hi")
	require.NoError(t, err)
	require.Equal(t, `"hi"`, string(b), "JsonSerializer quotes strings, as Jackson does")
}

func TestSpringJSONProperties(t *testing.T) {
	const mapping = "order:com.acme.orders.Order, refund:com.acme.orders.Refund"
	t.Run("type mapping token written for the Go type of that name", func(t *testing.T) {
		for _, tc := range []struct {
			props map[string]string
			want  string
		}{
			{map[string]string{"spring.json.type.mapping": mapping}, "order"},
			{map[string]string{"spring.json.type.mapping": mapping, "spring.json.add.type.headers": "false"}, ""},
			{nil, ""},
		} {
			s, err := serde.SerializerFor[*Order]("", tc.props, false)
			require.NoError(t, err)
			var h serde.Headers
			_, err = s.Serialize("orders", &h, &Order{ID: "1"})
			require.NoError(t, err)
			got, _ := h.Get(serde.TypeIDHeader)
			require.Equal(t, tc.want, string(got))
		}
	})

	t.Run("trusted packages", func(t *testing.T) {
		for _, tc := range []struct {
			name   string
			props  map[string]string
			header string
			ok     bool
		}{
			{"not set: headers not checked", nil, "com.evil.Gadget", true},
			{"trusted package", map[string]string{"spring.json.trusted.packages": "com.acme.orders"}, "com.acme.orders.Order", true},
			{"sub-package with .*", map[string]string{"spring.json.trusted.packages": "com.acme.*"}, "com.acme.orders.Order", true},
			{"all", map[string]string{"spring.json.trusted.packages": "*"}, "com.evil.Gadget", true},
			{"mapped token", map[string]string{"spring.json.trusted.packages": "java.util", "spring.json.type.mapping": mapping}, "order", true},
			{"no header", map[string]string{"spring.json.trusted.packages": "java.util"}, "", true},
			{"untrusted", map[string]string{"spring.json.trusted.packages": "com.acme.orders"}, "com.evil.Gadget", false},
			{"headers not used", map[string]string{"spring.json.trusted.packages": "com.acme", "spring.json.use.type.headers": "false"}, "com.evil.Gadget", true},
		} {
			t.Run(tc.name, func(t *testing.T) {
				d, err := serde.DeserializerFor[Order]("org.springframework.kafka.support.serializer.JsonDeserializer", tc.props, false)
				require.NoError(t, err)
				var h serde.Headers
				if tc.header != "" {
					h.Set(serde.TypeIDHeader, []byte(tc.header))
				}
				v, err := serde.DeserializeValue(d, "orders", h, []byte(`{"id":"7"}`))
				if !tc.ok {
					var de *serde.DeserializationError
					require.ErrorAs(t, err, &de)
					require.ErrorContains(t, err, "not in the trusted packages")
					return
				}
				require.NoError(t, err)
				require.Equal(t, "7", v.ID)
			})
		}
	})

	t.Run("bad values", func(t *testing.T) {
		_, err := serde.ParseSpringJSON(map[string]string{"spring.json.type.mapping": "justaclass", "spring.json.add.type.headers": "maybe"}, false)
		require.ErrorContains(t, err, "not token:class")
		require.ErrorContains(t, err, "spring.json.add.type.headers")
	})
}
