package framework

import (
	"fmt"
	"slices"
	"strings"
)

// activeProfiles computes Spring's active profiles: SPRING_PROFILES_ACTIVE
// (or spring.profiles.active in the files), after the profiles of
// spring.profiles.include; each followed by the members of its
// spring.profiles.group.<name>. With none, spring.profiles.default, else
// "default". get returns a property's value with placeholders resolved.
func activeProfiles(get func(key string) (string, bool, error)) ([]string, error) {
	list := func(key string) ([]string, error) {
		v, _, err := get(key)
		if err != nil {
			return nil, err
		}
		var out []string
		for s := range strings.SplitSeq(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
		return out, nil
	}
	include, err := list("spring.profiles.include")
	if err != nil {
		return nil, err
	}
	active, err := list("spring.profiles.active")
	if err != nil {
		return nil, err
	}
	named := append(include, active...)
	if len(named) == 0 {
		if named, err = list("spring.profiles.default"); err != nil {
			return nil, err
		}
		if len(named) == 0 {
			named = []string{"default"}
		}
	}
	var out []string
	var add func(p string, depth int) error
	add = func(p string, depth int) error {
		if depth > 16 {
			return fmt.Errorf("spring.profiles.group.%s: groups nest too deep (a cycle?)", p)
		}
		if slices.Contains(out, p) {
			return nil
		}
		out = append(out, p)
		members, err := list("spring.profiles.group." + p)
		if err != nil {
			return err
		}
		for _, m := range members {
			if err := add(m, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	for _, p := range named {
		if err := add(p, 0); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// matchProfiles reports whether a spring.config.activate.on-profile
// expression matches the active profiles: a comma-separated list matches if
// any item does; an item may use !, & and | with parentheses, as Spring's
// Profiles.of.
func matchProfiles(expr string, active []string) (bool, error) {
	for item := range strings.SplitSeq(expr, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		p := &profileParser{in: item, active: active}
		ok, err := p.or()
		if err == nil && p.skipSpace() < len(p.in) {
			err = fmt.Errorf("unexpected %q", p.in[p.pos:])
		}
		if err != nil {
			return false, fmt.Errorf("profile expression %q: %w", expr, err)
		}
		if ok {
			return true, nil
		}
	}
	return false, nil
}

type profileParser struct {
	in     string
	pos    int
	active []string
}

func (p *profileParser) skipSpace() int {
	for p.pos < len(p.in) && p.in[p.pos] == ' ' {
		p.pos++
	}
	return p.pos
}

func (p *profileParser) or() (bool, error) {
	v, err := p.and()
	for err == nil && p.skipSpace() < len(p.in) && p.in[p.pos] == '|' {
		p.pos++
		var w bool
		w, err = p.and()
		v = v || w
	}
	return v, err
}

func (p *profileParser) and() (bool, error) {
	v, err := p.not()
	for err == nil && p.skipSpace() < len(p.in) && p.in[p.pos] == '&' {
		p.pos++
		var w bool
		w, err = p.not()
		v = v && w
	}
	return v, err
}

func (p *profileParser) not() (bool, error) {
	if p.skipSpace() >= len(p.in) {
		return false, fmt.Errorf("missing a profile name")
	}
	switch p.in[p.pos] {
	case '!':
		p.pos++
		v, err := p.not()
		return !v, err
	case '(':
		p.pos++
		v, err := p.or()
		if err != nil {
			return false, err
		}
		if p.skipSpace() >= len(p.in) || p.in[p.pos] != ')' {
			return false, fmt.Errorf("missing )")
		}
		p.pos++
		return v, nil
	}
	start := p.pos
	for p.pos < len(p.in) && !strings.ContainsRune("!&|() ", rune(p.in[p.pos])) {
		p.pos++
	}
	if p.pos == start {
		return false, fmt.Errorf("missing a profile name at %q", p.in[start:])
	}
	return slices.Contains(p.active, p.in[start:p.pos]), nil
}

// cloudPlatform is the cloud platform Spring Boot would detect from the
// environment, for spring.config.activate.on-cloud-platform: "kubernetes",
// "cloud_foundry", "heroku", or "none".
func cloudPlatform(env map[string]string) string {
	has := func(names ...string) bool {
		for _, n := range names {
			if _, ok := env[normalizeKey(n)]; !ok {
				return false
			}
		}
		return true
	}
	switch {
	case has("KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT"):
		return "kubernetes"
	case has("VCAP_APPLICATION") || has("VCAP_SERVICES"):
		return "cloud_foundry"
	case has("DYNO"):
		return "heroku"
	}
	return "none"
}
