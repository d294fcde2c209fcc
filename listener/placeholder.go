package listener

import (
	"fmt"
	"strings"
)

// PropertyResolver looks a property up by key, as Spring's Environment does
// for ${...} placeholders. It reports false for a key it does not know.
type PropertyResolver func(key string) (string, bool)

// resolvePlaceholders replaces every ${key} and ${key:default} in s. A key
// the resolver does not know takes its default; without one it is an error
// wrapping ErrUnresolvedPlaceholder.
func resolvePlaceholders(s string, resolve PropertyResolver) (string, error) {
	if !strings.Contains(s, "${") {
		return s, nil
	}
	var b strings.Builder
	rest := s
	for {
		i := strings.Index(rest, "${")
		if i < 0 {
			b.WriteString(rest)
			return b.String(), nil
		}
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			return "", fmt.Errorf("%w: %q: no closing }", ErrConfig, s)
		}
		b.WriteString(rest[:i])
		expr := rest[i+2 : i+j]
		key, def, hasDef := strings.Cut(expr, ":")
		key = strings.TrimSpace(key)
		var v string
		var ok bool
		if resolve != nil && key != "" {
			v, ok = resolve(key)
		}
		switch {
		case ok:
			b.WriteString(v)
		case hasDef:
			b.WriteString(def)
		default:
			return "", fmt.Errorf("%w: ${%s} in %q", ErrUnresolvedPlaceholder, expr, s)
		}
		rest = rest[i+j+1:]
	}
}
