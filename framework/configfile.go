package framework

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"
)

// document is one YAML document ("---" separated) or one section of a
// .properties file ("#---" separated), flattened to dotted keys, with the
// conditions under which Spring activates it.
type document struct {
	file   string
	values map[string]string
	// onProfile is spring.config.activate.on-profile (or the legacy
	// spring.profiles): a profile expression; "" for a document that is
	// always active.
	onProfile string
	// onCloud is spring.config.activate.on-cloud-platform.
	onCloud string
}

// readConfigFile reads the documents of a Spring configuration file:
// .properties, else YAML.
func readConfigFile(path string) ([]*document, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var docs []map[string]string
	if strings.HasSuffix(path, ".properties") {
		docs, err = readJavaProperties(f)
	} else {
		docs, err = readYAML(f)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	out := make([]*document, 0, len(docs))
	for _, values := range docs {
		d := &document{file: path, values: values}
		d.onProfile = values["spring.config.activate.on-profile"]
		if d.onProfile == "" {
			d.onProfile = values["spring.profiles"] // Spring Boot 2.3 and older
		}
		d.onCloud = values["spring.config.activate.on-cloud-platform"]
		out = append(out, d)
	}
	return out, nil
}

// readYAML flattens each document of a YAML stream into dotted keys.
// Sequences of scalars become comma-joined values (and also key[i] entries);
// maps nest with dots; a key in Spring's bracket form ("[linger.ms]") keeps
// its dots.
func readYAML(r io.Reader) ([]map[string]string, error) {
	dec := yaml.NewDecoder(r)
	var docs []map[string]string
	for {
		var doc yaml.Node
		if err := dec.Decode(&doc); err == io.EOF {
			return docs, nil
		} else if err != nil {
			return nil, err
		}
		if len(doc.Content) == 0 {
			continue
		}
		values := map[string]string{}
		if err := flattenYAML("", doc.Content[0], values); err != nil {
			return nil, err
		}
		docs = append(docs, values)
	}
}

func flattenYAML(prefix string, n *yaml.Node, out map[string]string) error {
	join := func(k string) string {
		if len(k) > 2 && k[0] == '[' && k[len(k)-1] == ']' {
			k = k[1 : len(k)-1]
		}
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
// comments and backslash continuations. A line "#---" or "!---" starts a
// new document, as in Spring Boot.
func readJavaProperties(r io.Reader) ([]map[string]string, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	cur := map[string]string{}
	docs := []map[string]string{cur}
	line, pending := 0, ""
	for sc.Scan() {
		line++
		s := strings.TrimSpace(sc.Text())
		if pending == "" && (s == "#---" || s == "!---") {
			cur = map[string]string{}
			docs = append(docs, cur)
			continue
		}
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
			return nil, fmt.Errorf("line %d: %q is not key=value", line, s)
		}
		cur[strings.TrimSpace(s[:i])] = strings.TrimSpace(s[i+1:])
	}
	return docs, sc.Err()
}

// overlay copies d's values over values, noting where each came from. A
// list in d replaces the whole list of the same key, not item by item.
func overlay(values, origins map[string]string, d *document) {
	for k := range d.values {
		if strings.HasSuffix(k, "]") {
			continue
		}
		for old := range values {
			if strings.HasPrefix(old, k+"[") {
				delete(values, old)
				delete(origins, old)
			}
		}
	}
	for k, v := range d.values {
		values[k] = v
		origins[k] = d.file
	}
}
