package framework

import (
	"fmt"
	"reflect"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// ManagementConfig is the management tree of an application's
// configuration: Spring Boot Actuator's keys, so a Spring service's
// application.yml turns on the same endpoints. kspring serves two
// endpoints, health and prometheus, on their own HTTP server (Spring's
// management.server.port), under management.endpoints.web.base-path
// (/actuator):
//
//	management:
//	  server.port: 8081              # unset: no actuator server (0: a free port)
//	  endpoints.web.exposure.include: health,prometheus
//	  endpoint.health.show-details: always
type ManagementConfig struct {
	Server    ManagementServerConfig `yaml:"server"`
	Endpoints EndpointsConfig        `yaml:"endpoints"`
	Endpoint  EndpointConfig         `yaml:"endpoint"`
	Tracing   TracingConfig          `yaml:"tracing"`
}

// ManagementServerConfig is management.server.*.
type ManagementServerConfig struct {
	// Port is management.server.port. Unset or -1: no actuator server,
	// as without a web server in Spring; 0 picks a free port
	// ([Actuator.Addr] tells which).
	Port *int `yaml:"port"`
	// Address is management.server.address. Default 127.0.0.1, not
	// Spring's every interface: the endpoints are unauthenticated.
	Address string `yaml:"address"`
}

// EndpointsConfig is management.endpoints.*.
type EndpointsConfig struct {
	Web struct {
		// BasePath is management.endpoints.web.base-path. Default /actuator.
		BasePath string `yaml:"base-path"`
		Exposure struct {
			// Include lists the exposed endpoints ("health", "prometheus",
			// "*"). Default: health, as in Spring Boot.
			Include StringList `yaml:"include"`
			// Exclude lists endpoints never exposed; it wins over Include.
			Exclude StringList `yaml:"exclude"`
		} `yaml:"exposure"`
	} `yaml:"web"`
}

// EndpointConfig is management.endpoint.*.
type EndpointConfig struct {
	Health struct {
		// ShowDetails is management.endpoint.health.show-details: never
		// (the default), always or when-authorized (which, without
		// authentication, is never).
		ShowDetails string `yaml:"show-details"`
		// ShowComponents is management.endpoint.health.show-components;
		// unset: as ShowDetails.
		ShowComponents string `yaml:"show-components"`
	} `yaml:"health"`
}

// TracingConfig is management.tracing.*.
type TracingConfig struct {
	// Enabled is management.tracing.enabled. Tracing needs a
	// trace.TracerProvider in the fx graph; false turns it off even then.
	Enabled *bool `yaml:"enabled"`
}

// LoadManagementConfig reads the management tree of p, with placeholders
// resolved as [LoadConfig] does. Only what kspring uses is read: without
// management.server.port, the management.endpoint.* keys (the health
// endpoint's settings) are left alone, placeholders and all, as Spring
// leaves the settings of a bean it does not create.
func LoadManagementConfig(p *Properties) (ManagementConfig, error) {
	var c ManagementConfig
	if err := loadTree(p, "management.server", &c.Server); err != nil {
		return ManagementConfig{}, err
	}
	if err := loadTree(p, "management.endpoints", &c.Endpoints); err != nil {
		return ManagementConfig{}, err
	}
	if err := loadTree(p, "management.tracing", &c.Tracing); err != nil {
		return ManagementConfig{}, err
	}
	if c.serverOn() {
		if err := loadTree(p, "management.endpoint", &c.Endpoint); err != nil {
			return ManagementConfig{}, err
		}
	}
	if err := c.validate(); err != nil {
		return ManagementConfig{}, fmt.Errorf("kspring: config: %w", err)
	}
	return c, nil
}

// loadTree reads the tree of p under prefix into out, a pointer to a
// struct with yaml tags.
func loadTree[T any](p *Properties, prefix string, out *T) error {
	tree, err := p.Tree(prefix, yamlKeys(reflect.TypeFor[T](), ""))
	if err != nil {
		return fmt.Errorf("kspring: config: %w", err)
	}
	b, err := yaml.Marshal(tree)
	if err != nil {
		return fmt.Errorf("kspring: config: %w", err)
	}
	if err := yaml.Unmarshal(b, out); err != nil {
		return fmt.Errorf("kspring: config %s: %w", prefix, err)
	}
	return nil
}

func (c ManagementConfig) validate() error {
	if p := c.Server.Port; p != nil && (*p < -1 || *p > 65535) {
		return fmt.Errorf("management.server.port: %d is not a port", *p)
	}
	for _, v := range []struct{ key, val string }{
		{"management.endpoint.health.show-details", c.Endpoint.Health.ShowDetails},
		{"management.endpoint.health.show-components", c.Endpoint.Health.ShowComponents},
	} {
		switch strings.ToLower(v.val) {
		case "", "never", "always", "when-authorized", "when_authorized":
		default:
			return fmt.Errorf("%s: %q is not never, always or when-authorized", v.key, v.val)
		}
	}
	if bp := c.Endpoints.Web.BasePath; bp != "" && !strings.HasPrefix(bp, "/") {
		return fmt.Errorf("management.endpoints.web.base-path: %q must start with /", bp)
	}
	return nil
}

// exposed reports whether endpoint id is exposed over HTTP.
func (c ManagementConfig) exposed(id string) bool {
	w := c.Endpoints.Web.Exposure
	if slices.Contains(w.Exclude, id) || slices.Contains(w.Exclude, "*") {
		return false
	}
	include := w.Include
	if include == nil {
		include = StringList{"health"}
	}
	return slices.Contains(include, id) || slices.Contains(include, "*")
}

// serverOn reports whether the actuator server runs.
func (c ManagementConfig) serverOn() bool { return c.Server.Port != nil && *c.Server.Port >= 0 }

// showComponents and showDetails say what the health endpoint shows.
func (c ManagementConfig) showDetails() bool {
	return strings.EqualFold(c.Endpoint.Health.ShowDetails, "always")
}

func (c ManagementConfig) showComponents() bool {
	if c.Endpoint.Health.ShowComponents == "" {
		return c.showDetails()
	}
	return strings.EqualFold(c.Endpoint.Health.ShowComponents, "always")
}

// basePath is the endpoints' path prefix.
func (c ManagementConfig) basePath() string {
	bp := strings.TrimSuffix(c.Endpoints.Web.BasePath, "/")
	if c.Endpoints.Web.BasePath == "" {
		bp = "/actuator"
	}
	return bp
}
