package listener

import (
	"fmt"
	"slices"
	"strings"
)

// PropertyResolver looks a property up by key, as Spring's Environment does
// for ${...} placeholders. It reports false for a key it does not know. The
// value it returns may hold placeholders of its own: ResolvePlaceholders
// resolves them in turn.
type PropertyResolver func(key string) (string, bool)

// PlaceholderError reports a ${...} placeholder that does not resolve: a
// key with no value and no default, a cycle of keys that refer to one
// another, or a ${ with no closing }. It wraps ErrUnresolvedPlaceholder and
// ErrConfig.
type PlaceholderError struct {
	// Text is the text being resolved.
	Text string
	// Key is the placeholder's key: the unknown one, or the first of a cycle.
	// Empty for an unclosed placeholder.
	Key string
	// Cycle lists the keys of a cycle, the first one repeated at the end
	// (a -> b -> a); nil for an unknown key.
	Cycle []string
}

func (e *PlaceholderError) Error() string {
	switch {
	case e.Key == "":
		return fmt.Sprintf("unclosed placeholder in %q: every ${ needs a }", e.Text)
	case e.Cycle != nil:
		return fmt.Sprintf("circular placeholder reference %s in %q", strings.Join(e.Cycle, " -> "), e.Text)
	}
	return fmt.Sprintf("unresolved placeholder ${%s} in %q: set %s in the configuration or %s in the environment, or give a default as ${%s:value}",
		e.Key, e.Text, e.Key, EnvName(e.Key), e.Key)
}

// Unwrap returns ErrUnresolvedPlaceholder and ErrConfig.
func (e *PlaceholderError) Unwrap() []error { return []error{ErrUnresolvedPlaceholder, ErrConfig} }

// EnvName is the environment variable a Spring user writes for key:
// spring.kafka.bootstrap-servers is SPRING_KAFKA_BOOTSTRAP_SERVERS.
func EnvName(key string) string {
	return strings.ToUpper(strings.NewReplacer(".", "_", "-", "_", "[", "_", "]", "").Replace(key))
}

// ResolvePlaceholders replaces every ${key} and ${key:default} in s, as
// Spring's PropertySourcesPlaceholderConfigurer does:
//
//   - A value found for a key is resolved in turn, so properties may refer to
//     properties; a cycle (a=${b}, b=${a}) is a *PlaceholderError naming it.
//   - Placeholders nest: in the key (${${env}.host}) and in the default
//     (${a:${b:c}}). A default is resolved only when it is used.
//   - The default is everything after the first ':' of the placeholder, so
//     ${KAFKA:localhost:9092} defaults to localhost:9092; ${key:} defaults
//     to the empty string.
//   - \${ is a literal ${.
//
// A key the resolver does not know and that has no default is a
// *PlaceholderError. A nil resolver knows no key. ResolvePlaceholders is
// safe for concurrent use if lookup is.
func ResolvePlaceholders(s string, lookup PropertyResolver) (string, error) {
	if !strings.Contains(s, "${") {
		return s, nil
	}
	r := resolver{lookup: lookup, text: s}
	return r.parse(s, nil)
}

// resolvePlaceholders is ResolvePlaceholders for endpoint attributes.
func resolvePlaceholders(s string, lookup PropertyResolver) (string, error) {
	return ResolvePlaceholders(s, lookup)
}

type resolver struct {
	lookup PropertyResolver
	text   string // the whole text, for errors
}

// parse resolves the placeholders of s; visiting holds the keys being
// resolved further up, to catch cycles.
func (r *resolver) parse(s string, visiting []string) (string, error) {
	var b strings.Builder
	for {
		i := placeholderStart(s)
		if i < 0 {
			b.WriteString(unescape(s))
			return b.String(), nil
		}
		b.WriteString(unescape(s[:i]))
		end := closingBrace(s, i+2)
		if end < 0 {
			return "", &PlaceholderError{Text: r.text}
		}
		v, err := r.placeholder(s[i+2:end], visiting)
		if err != nil {
			return "", err
		}
		b.WriteString(v)
		s = s[end+1:]
	}
}

// placeholder resolves the body of one ${...}.
func (r *resolver) placeholder(body string, visiting []string) (string, error) {
	rawKey, def, hasDef := cutDefault(body)
	key, err := r.parse(rawKey, visiting)
	if err != nil {
		return "", err
	}
	key = strings.TrimSpace(key)
	if slices.Contains(visiting, key) {
		cycle := append(slices.Clone(visiting[slices.Index(visiting, key):]), key)
		return "", &PlaceholderError{Text: r.text, Key: cycle[0], Cycle: cycle}
	}
	var v string
	var ok bool
	if r.lookup != nil && key != "" {
		v, ok = r.lookup(key)
	}
	switch {
	case ok:
		return r.parse(v, append(visiting, key))
	case hasDef:
		return r.parse(def, visiting)
	}
	return "", &PlaceholderError{Text: r.text, Key: key}
}

// placeholderStart returns the index of the first ${ in s not escaped as \${.
func placeholderStart(s string) int {
	from := 0
	for {
		i := strings.Index(s[from:], "${")
		if i < 0 {
			return -1
		}
		i += from
		if i == 0 || s[i-1] != '\\' {
			return i
		}
		from = i + 2
	}
}

// closingBrace returns the index of the } closing a placeholder whose body
// starts at from, allowing nested ${...} and {...}; -1 if there is none.
func closingBrace(s string, from int) int {
	depth := 1
	for i := from; i < len(s); i++ {
		switch s[i] {
		case '{':
			depth++
		case '}':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

// cutDefault splits a placeholder body at its first ':' outside nested
// placeholders.
func cutDefault(body string) (key, def string, ok bool) {
	depth := 0
	for i := 0; i < len(body); i++ {
		switch body[i] {
		case '{':
			depth++
		case '}':
			depth--
		case ':':
			if depth == 0 {
				return body[:i], body[i+1:], true
			}
		}
	}
	return body, "", false
}

func unescape(s string) string { return strings.ReplaceAll(s, `\${`, "${") }
