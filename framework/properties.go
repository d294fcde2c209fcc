package framework

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/kspring/kspring/listener"
)

// Properties is an application's configuration as flat, dotted keys
// ("spring.kafka.bootstrap-servers"), the way Spring's Environment sees it:
// application.yml (or .properties), the profile-specific files and documents
// of the active profiles over it, imported files, and environment variables
// over all of them. Values keep their text, ${...} placeholders included;
// lists are joined with commas, as Spring does when it reads a list as a
// string. Placeholders are resolved when a value is read through [Tree] or
// [Properties.Resolve]: only what kspring reads must resolve, so a server.*
// key with a placeholder the Go service cannot fill is no error.
//
// Properties is immutable after [LoadProperties] and safe for concurrent use.
type Properties struct {
	values   map[string]string
	origins  map[string]string // key -> the file it came from
	env      map[string]string // normalized env var name -> value
	envNames map[string]string // normalized env var name -> the name as set
	profiles []string
}

// NewProperties returns Properties over values, with no environment and no
// profiles. The map is copied.
func NewProperties(values map[string]string) *Properties {
	v := maps.Clone(values)
	if v == nil {
		v = map[string]string{}
	}
	return &Properties{values: v, origins: map[string]string{},
		env: map[string]string{}, envNames: map[string]string{}}
}

// normalizeKey is Spring's relaxed form for matching an environment
// variable to a property: SPRING_KAFKA_BOOTSTRAP_SERVERS,
// SPRING_KAFKA_BOOTSTRAPSERVERS and spring.kafka.bootstrap-servers all
// normalize alike. List indexes ([0] or _0_) are kept as .0.
func normalizeKey(k string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(k) {
		switch r {
		case '-', '_', '.', '[', ']':
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// setEnv records environ (KEY=value pairs) as the environment.
func (p *Properties) setEnv(environ []string) {
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if ok && k != "" {
			p.env[normalizeKey(k)] = v
			p.envNames[normalizeKey(k)] = k
		}
	}
}

// Get returns the raw value of key, placeholders unresolved: an environment
// variable in Spring's relaxed form wins over the files.
func (p *Properties) Get(key string) (string, bool) {
	if v, ok := p.env[normalizeKey(key)]; ok {
		return v, true
	}
	v, ok := p.values[key]
	return v, ok
}

// Origin says where the value of key comes from: "environment variable
// NAME", the file's path, or "" for a key set in code or not set.
func (p *Properties) Origin(key string) string {
	if name, ok := p.envNames[normalizeKey(key)]; ok {
		return "environment variable " + name
	}
	return p.origins[key]
}

// Keys returns the keys from the files, sorted.
func (p *Properties) Keys() []string {
	return slices.Sorted(maps.Keys(p.values))
}

// Profiles returns the active profiles, in order (later ones win): from
// SPRING_PROFILES_ACTIVE or spring.profiles.active, with
// spring.profiles.include and spring.profiles.group expanded; "default"
// when none is set.
func (p *Properties) Profiles() []string { return slices.Clone(p.profiles) }

// Resolve replaces ${key} and ${key:default} placeholders in s, as Spring
// does, with the rules of listener.ResolvePlaceholders: values found are
// resolved in turn, placeholders nest, cycles are an error. A key with no
// value and no default is an error naming it.
func (p *Properties) Resolve(s string) (string, error) {
	return listener.ResolvePlaceholders(s, p.Get)
}

// Lookup returns the value of key with its placeholders resolved. An error
// names the key and where its value comes from.
func (p *Properties) Lookup(key string) (string, bool, error) {
	v, ok := p.Get(key)
	if !ok {
		return "", false, nil
	}
	out, err := p.Resolve(v)
	if err != nil {
		return "", true, p.keyError(key, err)
	}
	return out, true, nil
}

// keyError wraps err with key and the origin of its value.
func (p *Properties) keyError(key string, err error) error {
	if o := p.Origin(key); o != "" {
		return fmt.Errorf("%s (in %s): %w", key, o, err)
	}
	return fmt.Errorf("%s: %w", key, err)
}

// Tree returns the properties under prefix as a nested map ready to decode
// into a struct with yaml tags, every value's placeholders resolved. known
// lists the dotted keys below prefix that environment variables may set in
// Spring's relaxed form (SPRING_KAFKA_CONSUMER_GROUP_ID); a known key ending
// in ".*" is a map whose entries environment variables set with underscores
// for dots (SPRING_KAFKA_PROPERTIES_SECURITY_PROTOCOL sets
// properties.security.protocol), as Spring binds maps.
//
// Keys below a "properties" segment stay whole
// (spring.kafka.producer.properties.linger.ms is the map entry "linger.ms";
// Spring's bracket form "[linger.ms]" reads the same). Scalar values are
// parsed as YAML scalars, so "3" becomes a number and "true" a bool.
//
// Every placeholder that does not resolve is reported, each error naming the
// key and the file (or environment variable) its value comes from.
func (p *Properties) Tree(prefix string, known []string) (map[string]any, error) {
	type entry struct{ value, key string } // key: the full key, for errors
	flat := map[string]entry{}
	for k, v := range p.values {
		// List items (key[0]) are also kept comma-joined under key.
		if rest, ok := strings.CutPrefix(k, prefix+"."); ok && !strings.Contains(rest, "[") {
			flat[rest] = entry{v, k}
		} else if ok {
			if i := strings.Index(rest, "properties.["); i >= 0 && strings.HasSuffix(rest, "]") {
				flat[rest] = entry{v, k}
			}
		}
	}
	for _, k := range known {
		if mapKey, ok := strings.CutSuffix(k, ".*"); ok {
			envPrefix := listener.EnvName(prefix+"."+mapKey) + "_"
			for norm, name := range p.envNames {
				if rest, ok := strings.CutPrefix(strings.ToUpper(name), envPrefix); ok && rest != "" {
					sub := strings.ToLower(strings.ReplaceAll(rest, "_", "."))
					flat[mapKey+"."+sub] = entry{p.env[norm], prefix + "." + mapKey + "." + sub}
				}
			}
			continue
		}
		if v, ok := p.env[normalizeKey(prefix+"."+k)]; ok {
			flat[k] = entry{v, prefix + "." + k}
		}
	}
	root := map[string]any{}
	var errs []error
	for _, k := range slices.Sorted(maps.Keys(flat)) {
		e := flat[k]
		v, err := p.Resolve(e.value)
		if err != nil {
			errs = append(errs, p.keyError(e.key, err))
			continue
		}
		parts := strings.Split(k, ".")
		// Keys under a "properties" map are Kafka's dotted names, kept whole.
		if i := slices.Index(parts, "properties"); i >= 0 && i < len(parts)-1 {
			name := strings.Join(parts[i+1:], ".")
			if strings.HasPrefix(name, "[") && strings.HasSuffix(name, "]") {
				name = name[1 : len(name)-1]
			}
			parts = append(parts[:i+1], name)
		}
		m := root
		for _, part := range parts[:len(parts)-1] {
			next, ok := m[part].(map[string]any)
			if !ok {
				next = map[string]any{}
				m[part] = next
			}
			m = next
		}
		m[parts[len(parts)-1]] = scalar(v)
	}
	return root, errors.Join(errs...)
}

// scalar turns text into the YAML scalar it reads as.
func scalar(s string) any {
	if _, err := strconv.ParseInt(s, 10, 64); err == nil {
		var v any
		if yaml.Unmarshal([]byte(s), &v) == nil {
			return v
		}
	}
	switch strings.ToLower(s) {
	case "true":
		return true
	case "false":
		return false
	}
	return s
}
