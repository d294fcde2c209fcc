package framework

import (
	"bufio"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Properties is an application's configuration as flat, dotted keys
// ("spring.kafka.bootstrap-servers"), the way Spring's Environment sees it:
// a YAML or .properties file with environment variables over it. Values
// keep their text; lists are joined with commas, as Spring does when it
// reads a list as a string.
//
// Properties is immutable after [LoadProperties] and safe for concurrent use.
type Properties struct {
	values map[string]string
	env    map[string]string // normalized env var name -> value
}

// NewProperties returns Properties over values, with no environment.
// The map is copied.
func NewProperties(values map[string]string) *Properties {
	return &Properties{values: maps.Clone(values), env: map[string]string{}}
}

// LoadProperties reads a Spring configuration file, application.yml (or
// .yaml) or application.properties, and puts the environment over it. An
// empty path reads no file. environ is a list of KEY=value pairs, usually
// os.Environ().
func LoadProperties(path string, environ []string) (*Properties, error) {
	p := &Properties{values: map[string]string{}, env: map[string]string{}}
	if path != "" {
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("kspring: config: %w", err)
		}
		defer f.Close()
		if strings.HasSuffix(path, ".properties") {
			err = readJavaProperties(f, p.values)
		} else {
			err = readYAML(f, p.values)
		}
		if err != nil {
			return nil, fmt.Errorf("kspring: config %s: %w", path, err)
		}
	}
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if ok && k != "" {
			p.env[normalizeKey(k)] = v
		}
	}
	return p, nil
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

// Get returns the value of key: an environment variable in Spring's relaxed
// form wins over the file.
func (p *Properties) Get(key string) (string, bool) {
	if v, ok := p.env[normalizeKey(key)]; ok {
		return v, true
	}
	v, ok := p.values[key]
	return v, ok
}

// Keys returns the keys from the file, sorted.
func (p *Properties) Keys() []string {
	return slices.Sorted(maps.Keys(p.values))
}

// Resolve replaces ${key} and ${key:default} placeholders in s, as Spring
// does for annotation values. Placeholders may nest in defaults. A key with
// no value and no default is an error naming it.
func (p *Properties) Resolve(s string) (string, error) {
	return p.resolve(s, 0)
}

func (p *Properties) resolve(s string, depth int) (string, error) {
	if depth > 16 {
		return "", fmt.Errorf("placeholders in %q nest too deep (a cycle?)", s)
	}
	var out strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			out.WriteString(s)
			return out.String(), nil
		}
		out.WriteString(s[:i])
		end := matchingBrace(s, i+2)
		if end < 0 {
			return "", fmt.Errorf("unclosed placeholder in %q", s)
		}
		key, def, hasDef := strings.Cut(s[i+2:end], ":")
		v, ok := p.Get(key)
		switch {
		case ok:
		case hasDef:
			v = def
		default:
			return "", fmt.Errorf("unknown placeholder ${%s}: set %s in the config file or %s in the environment",
				key, key, envName(key))
		}
		v, err := p.resolve(v, depth+1)
		if err != nil {
			return "", err
		}
		out.WriteString(v)
		s = s[end+1:]
	}
}

// matchingBrace returns the index of the '}' closing a placeholder whose
// body starts at from, allowing nested ${...}.
func matchingBrace(s string, from int) int {
	depth := 1
	for i := from; i < len(s); i++ {
		switch {
		case strings.HasPrefix(s[i:], "${"):
			depth++
			i++
		case s[i] == '}':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

// envName is the environment variable Spring users write for key.
func envName(key string) string {
	return strings.ToUpper(strings.NewReplacer(".", "_", "-", "_").Replace(key))
}

// Tree returns the properties under prefix (plus matching environment
// variables for the keys in known) as a nested map ready to decode into a
// struct with yaml tags. Keys below a "properties" segment stay whole
// (spring.kafka.producer.properties.linger.ms is the map entry "linger.ms").
// Scalar values are parsed as YAML scalars, so
// "3" becomes a number and "true" a bool.
func (p *Properties) Tree(prefix string, known []string) map[string]any {
	flat := map[string]string{}
	for k, v := range p.values {
		// List items (key[0]) are also kept comma-joined under key.
		if rest, ok := strings.CutPrefix(k, prefix+"."); ok && !strings.Contains(rest, "[") {
			flat[rest] = v
		}
	}
	for _, k := range known {
		if v, ok := p.env[normalizeKey(prefix+"."+k)]; ok {
			flat[k] = v
		}
	}
	root := map[string]any{}
	for _, k := range slices.Sorted(maps.Keys(flat)) {
		parts := strings.Split(k, ".")
		// Keys under a "properties" map are Kafka's dotted names, kept whole.
		if i := slices.Index(parts, "properties"); i >= 0 && i < len(parts)-1 {
			parts = append(parts[:i+1], strings.Join(parts[i+1:], "."))
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
		m[parts[len(parts)-1]] = scalar(flat[k])
	}
	return root
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

// readYAML flattens a YAML document into dotted keys. Sequences of scalars
// become comma-joined values (and also key[i] entries); maps nest with dots.
// A "---" separated multi-document file is read in order, later documents
// overriding earlier ones (Spring profiles are not applied).
func readYAML(r io.Reader, out map[string]string) error {
	dec := yaml.NewDecoder(r)
	for {
		var doc yaml.Node
		if err := dec.Decode(&doc); err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
		if len(doc.Content) == 0 {
			continue
		}
		if err := flattenYAML("", doc.Content[0], out); err != nil {
			return err
		}
	}
}

func flattenYAML(prefix string, n *yaml.Node, out map[string]string) error {
	join := func(k string) string {
		if prefix == "" {
			return k
		}
		return prefix + "." + k
	}
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if err := flattenYAML(join(n.Content[i].Value), n.Content[i+1], out); err != nil {
				return err
			}
		}
	case yaml.SequenceNode:
		var items []string
		for i, c := range n.Content {
			if err := flattenYAML(fmt.Sprintf("%s[%d]", prefix, i), c, out); err != nil {
				return err
			}
			if c.Kind == yaml.ScalarNode {
				items = append(items, c.Value)
			}
		}
		if len(items) == len(n.Content) {
			out[prefix] = strings.Join(items, ",")
		}
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return nil
		}
		out[prefix] = n.Value
	case yaml.AliasNode:
		return flattenYAML(prefix, n.Alias, out)
	default:
		return fmt.Errorf("line %d: unsupported YAML node", n.Line)
	}
	return nil
}

// readJavaProperties reads key=value (or key: value) lines with # and !
// comments and backslash continuations.
func readJavaProperties(r io.Reader, out map[string]string) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	line, pending := 0, ""
	for sc.Scan() {
		line++
		s := strings.TrimSpace(sc.Text())
		if pending == "" && (s == "" || s[0] == '#' || s[0] == '!') {
			continue
		}
		if strings.HasSuffix(s, `\`) {
			pending += strings.TrimSuffix(s, `\`)
			continue
		}
		s, pending = pending+s, ""
		i := strings.IndexAny(s, "=:")
		if i <= 0 {
			return fmt.Errorf("line %d: %q is not key=value", line, s)
		}
		out[strings.TrimSpace(s[:i])] = strings.TrimSpace(s[i+1:])
	}
	return sc.Err()
}
