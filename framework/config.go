package framework

import (
	"fmt"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/kspring/kspring/listener"
	"github.com/kspring/kspring/template"
)

// Config is the spring.kafka tree of an application's configuration, under
// Spring Boot's key names, so a Spring service's application.yml works as it
// is. Only what kspring maps is here; unknown keys are ignored, as Spring does.
type Config struct {
	// BootstrapServers is spring.kafka.bootstrap-servers. Empty: the module
	// starts the bundled broker in-process (the embedded default).
	BootstrapServers StringList `yaml:"bootstrap-servers"`
	// ClientID is spring.kafka.client-id, the default for producer and consumer.
	ClientID string `yaml:"client-id"`
	// Properties are spring.kafka.properties.*: Kafka client properties for
	// both producer and consumer.
	Properties map[string]string `yaml:"properties"`

	// Security and SSL are spring.kafka.security.* and spring.kafka.ssl.*,
	// for every client (see security.go).
	Security SecurityConfig `yaml:"security"`
	SSL      SSLConfig      `yaml:"ssl"`

	Producer template.Config          `yaml:"producer"`
	Consumer listener.ConsumerConfig  `yaml:"consumer"`
	Listener listener.ContainerConfig `yaml:"listener"`
	Template TemplateConfig           `yaml:"template"`
	Admin    AdminConfig              `yaml:"admin"`

	// Embedded configures the bundled broker used when BootstrapServers is
	// empty (kspring's own keys, under spring.kafka.embedded).
	Embedded EmbeddedConfig `yaml:"embedded"`

	// ProducerSecurity and ConsumerSecurity are
	// spring.kafka.producer.security/ssl and spring.kafka.consumer's, read
	// beside template.Config and listener.ConsumerConfig (which have no
	// security keys of their own).
	ProducerSecurity ClientSecurity `yaml:"-"`
	ConsumerSecurity ClientSecurity `yaml:"-"`
}

// TemplateConfig is spring.kafka.template.*.
type TemplateConfig struct {
	DefaultTopic string `yaml:"default-topic"`
}

// AdminConfig is spring.kafka.admin.*: the admin client that creates the
// declared topics at start.
type AdminConfig struct {
	// AutoCreate creates declared topics at start. Default true.
	AutoCreate *bool `yaml:"auto-create"`
	// FailFast stops the application if the cluster cannot be reached at
	// start. Default false in Spring; kspring fails on a topic it cannot
	// create either way.
	FailFast bool `yaml:"fail-fast"`
	// OperationTimeout bounds topic creation. Default 30s.
	OperationTimeout listener.Duration `yaml:"operation-timeout"`
	// ClientID names the admin client.
	ClientID   string            `yaml:"client-id"`
	Properties map[string]string `yaml:"properties"`
	// Security and SSL are spring.kafka.admin.security.* and .ssl.*.
	Security SecurityConfig `yaml:"security"`
	SSL      SSLConfig      `yaml:"ssl"`
}

// EmbeddedConfig configures the bundled broker.
type EmbeddedConfig struct {
	// LogDir keeps the broker's data. Default: a new temporary directory,
	// removed at stop.
	LogDir string `yaml:"log-dir"`
	// Listener is the address to listen on. Default 127.0.0.1:0 (a free port).
	Listener string `yaml:"listener"`
	// Properties are broker properties by Kafka's names (num.partitions, ...).
	Properties map[string]string `yaml:"properties"`
}

// StringList is a list that reads from a YAML sequence or a comma-separated
// string, as Spring binds bootstrap-servers.
type StringList []string

// UnmarshalYAML implements yaml.Unmarshaler.
func (l *StringList) UnmarshalYAML(n *yaml.Node) error {
	var out []string
	switch n.Kind {
	case yaml.ScalarNode:
		for s := range strings.SplitSeq(n.Value, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	case yaml.SequenceNode:
		for _, c := range n.Content {
			out = append(out, strings.TrimSpace(c.Value))
		}
	default:
		return fmt.Errorf("line %d: want a list or a comma-separated string", n.Line)
	}
	*l = out
	return nil
}

// LoadConfig reads the spring.kafka tree of p into a Config. Every value's
// ${...} placeholders are resolved first (see [Properties.Tree]); a
// placeholder that does not resolve is an error naming the key and its file.
func LoadConfig(p *Properties) (Config, error) {
	tree, err := p.Tree("spring.kafka", yamlKeys(reflect.TypeFor[Config](), ""))
	if err != nil {
		return Config{}, fmt.Errorf("kspring: config: %w", err)
	}
	b, err := yaml.Marshal(tree)
	if err != nil {
		return Config{}, fmt.Errorf("kspring: config: %w", err)
	}
	var c Config
	if err := yaml.Unmarshal(b, &c); err != nil {
		return Config{}, fmt.Errorf("kspring: config spring.kafka: %w", err)
	}
	var clients struct {
		Producer ClientSecurity `yaml:"producer"`
		Consumer ClientSecurity `yaml:"consumer"`
	}
	if err := yaml.Unmarshal(b, &clients); err != nil {
		return Config{}, fmt.Errorf("kspring: config spring.kafka: %w", err)
	}
	c.ProducerSecurity, c.ConsumerSecurity = clients.Producer, clients.Consumer
	if err := c.validate(); err != nil {
		return Config{}, fmt.Errorf("kspring: config: %w", err)
	}
	return c, nil
}

// yamlKeys lists the dotted yaml keys of a struct type's scalar fields, for
// matching environment variables; a map field is listed as "key.*".
func yamlKeys(t reflect.Type, prefix string) []string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var out []string
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || name == "-" || !f.IsExported() {
			continue
		}
		key := name
		if prefix != "" {
			key = prefix + "." + name
		}
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Struct && !ft.Implements(reflect.TypeFor[yaml.Unmarshaler]()) &&
			!reflect.PointerTo(ft).Implements(reflect.TypeFor[yaml.Unmarshaler]()) {
			out = append(out, yamlKeys(ft, key)...)
			continue
		}
		if ft.Kind() == reflect.Map {
			out = append(out, key+".*")
			continue
		}
		out = append(out, key)
	}
	return out
}
