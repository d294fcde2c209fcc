package listener_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kspring/kspring/listener"
)

func TestResolvePlaceholders(t *testing.T) {
	props := map[string]string{
		"a": "x", "b": "${a}-y", "env": "prod", "prod.host": "kafka-prod",
		"loop": "${loop}", "ping": "${pong}", "pong": "${ping}", "empty": "",
	}
	lookup := func(k string) (string, bool) { v, ok := props[k]; return v, ok }
	for _, tc := range []struct {
		in, want, err string
	}{
		{in: "plain", want: "plain"},
		{in: "${a}", want: "x"},
		{in: "pre-${b}-post", want: "pre-x-y-post"},
		{in: "${missing:fallback}", want: "fallback"},
		{in: "${KAFKA:localhost:9092}", want: "localhost:9092"},
		{in: "${missing:}", want: ""},
		{in: "${empty:unused}", want: ""},
		{in: "${missing:${a}}", want: "x"},
		{in: "${missing:${also.missing:deep}}", want: "deep"},
		{in: "${a:${never.resolved}}", want: "x"},
		{in: "${${env}.host}", want: "kafka-prod"},
		{in: `\${a} ${a}`, want: "${a} x"},
		{in: "{json} ${a}", want: "{json} x"},
		{in: "${missing}", err: "unresolved placeholder ${missing} in \"${missing}\": set missing in the configuration or MISSING in the environment"},
		{in: "${missing:${nope}}", err: "${nope}"},
		{in: "${a", err: "unclosed placeholder"},
		{in: "${loop}", err: "circular placeholder reference loop -> loop"},
		{in: "x ${ping}", err: "circular placeholder reference ping -> pong -> ping"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := listener.ResolvePlaceholders(tc.in, lookup)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				require.ErrorIs(t, err, listener.ErrUnresolvedPlaceholder)
				require.ErrorIs(t, err, listener.ErrConfig)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestResolvePlaceholdersWithoutResolver(t *testing.T) {
	got, err := listener.ResolvePlaceholders("${a:1}-${b:2}", nil)
	require.NoError(t, err)
	require.Equal(t, "1-2", got)
	_, err = listener.ResolvePlaceholders("${a}", nil)
	var pe *listener.PlaceholderError
	require.ErrorAs(t, err, &pe)
	require.Equal(t, "a", pe.Key)
}
