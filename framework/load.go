package framework

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/kspring/kspring/listener"
)

// LoadProperties reads an application's configuration as Spring Boot does,
// and puts the environment over it. environ is a list of KEY=value pairs,
// usually os.Environ().
//
// path is Spring's spring.config.location: a file (application.yml, .yaml
// or .properties) or a comma-separated list of files and directories, later
// ones winning. A directory (or a path ending in /) stands for the
// application.properties, .yml and .yaml in it, .properties winning. An item
// prefixed "optional:" may be missing; another missing item is an error. An
// empty path reads no file.
//
// Over these files, in order (later wins):
//
//   - Documents of a multi-document file ("---" in YAML, "#---" in
//     .properties) apply in order; one with spring.config.activate.on-profile
//     only when its profile expression matches the active profiles, one with
//     spring.config.activate.on-cloud-platform only on that platform.
//   - spring.config.import names more files (relative to the importing
//     file; "optional:", "file:" and "classpath:" prefixes accepted); their
//     values win over the document that imports them.
//   - The active profiles (SPRING_PROFILES_ACTIVE, else spring.profiles.active
//     in the files; see [Properties.Profiles]) each layer the
//     profile-specific files <name>-<profile>.<ext> found beside the files
//     above, later profiles winning.
//   - Environment variables, in Spring's relaxed form, win over every file.
//
// An error names the file and what is wrong in it.
func LoadProperties(path string, environ []string) (*Properties, error) {
	p := NewProperties(nil)
	p.setEnv(environ)
	l := &loader{env: p.env, platform: cloudPlatform(p.env)}

	var locs []location
	var base []*document
	for _, item := range splitList(path) {
		loc, err := locate(item, "")
		if err != nil {
			return nil, fmt.Errorf("kspring: config: %w", err)
		}
		locs = append(locs, loc)
		for _, f := range loc.files("") {
			docs, err := readConfigFile(f)
			if err != nil {
				return nil, fmt.Errorf("kspring: config %w", err)
			}
			base = append(base, docs...)
		}
	}

	// The profiles come from the environment and the documents that apply
	// whatever the profiles are.
	unconditional, err := l.expand(base, func(d *document) (bool, error) {
		return d.onProfile == "" && l.onPlatform(d), nil
	})
	if err != nil {
		return nil, err
	}
	pre := NewProperties(nil)
	pre.env, pre.envNames = p.env, p.envNames
	for _, d := range unconditional {
		overlay(pre.values, pre.origins, d)
	}
	if p.profiles, err = activeProfiles(pre.Lookup); err != nil {
		return nil, fmt.Errorf("kspring: config: active profiles: %w", err)
	}

	active := func(d *document) (bool, error) {
		if !l.onPlatform(d) {
			return false, nil
		}
		if d.onProfile == "" {
			return true, nil
		}
		ok, err := matchProfiles(d.onProfile, p.profiles)
		if err != nil {
			return false, fmt.Errorf("kspring: config %s: spring.config.activate.on-profile: %w", d.file, err)
		}
		return ok, nil
	}
	all := base
	for _, profile := range p.profiles {
		for _, loc := range locs {
			for _, f := range loc.files(profile) {
				docs, err := readConfigFile(f)
				if err != nil {
					return nil, fmt.Errorf("kspring: config %w", err)
				}
				all = append(all, docs...)
			}
		}
	}
	docs, err := l.expand(all, active)
	if err != nil {
		return nil, err
	}
	for _, d := range docs {
		overlay(p.values, p.origins, d)
	}
	return p, nil
}

// loader expands spring.config.import.
type loader struct {
	env      map[string]string
	platform string
	chain    []string // files being imported, to stop cycles
}

// onPlatform reports whether d's on-cloud-platform condition holds.
func (l *loader) onPlatform(d *document) bool {
	return d.onCloud == "" || strings.EqualFold(d.onCloud, l.platform)
}

// expand keeps the documents that are active, each followed by the
// documents of the files it imports.
func (l *loader) expand(docs []*document, active func(*document) (bool, error)) ([]*document, error) {
	var out []*document
	for _, d := range docs {
		ok, err := active(d)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		out = append(out, d)
		imports, ok := d.values["spring.config.import"]
		if !ok {
			continue
		}
		// Placeholders in an import resolve against the environment and
		// the importing document.
		resolved, err := listener.ResolvePlaceholders(imports, func(k string) (string, bool) {
			if v, ok := l.env[normalizeKey(k)]; ok {
				return v, true
			}
			v, ok := d.values[k]
			return v, ok
		})
		if err != nil {
			return nil, fmt.Errorf("kspring: config %s: spring.config.import: %w", d.file, err)
		}
		for _, item := range splitList(resolved) {
			loc, err := locate(item, filepath.Dir(d.file))
			if err != nil {
				return nil, fmt.Errorf("kspring: config %s: spring.config.import: %w", d.file, err)
			}
			for _, f := range loc.files("") {
				abs, _ := filepath.Abs(f)
				if slices.Contains(l.chain, abs) {
					continue // already being imported: Spring imports a file once
				}
				imported, err := readConfigFile(f)
				if err != nil {
					return nil, fmt.Errorf("kspring: config %w", err)
				}
				l.chain = append(l.chain, abs)
				more, err := l.expand(imported, active)
				l.chain = l.chain[:len(l.chain)-1]
				if err != nil {
					return nil, err
				}
				out = append(out, more...)
			}
		}
	}
	return out, nil
}

// location is one item of spring.config.location or spring.config.import:
// a file, or a directory of application.* files.
type location struct {
	dir      string
	stem     string   // file name without extension: "application", "orders"
	exts     []string // lowest precedence first
	optional bool
}

// locate parses a location item; a relative path is taken from dir.
func locate(item, dir string) (location, error) {
	s := strings.TrimSpace(item)
	optional := false
	if rest, ok := strings.CutPrefix(s, "optional:"); ok {
		s, optional = rest, true
	}
	for _, prefix := range []string{"file:", "classpath:", "classpath*:"} {
		s = strings.TrimPrefix(s, prefix)
	}
	if i := strings.Index(s, ":"); i > 1 {
		// configtree:, vault:, consul:, ... : not a file.
		if optional {
			return location{optional: true}, nil
		}
		return location{}, fmt.Errorf("%q: kspring reads files only; prefix the item with optional: to skip it", item)
	}
	dirItem := strings.HasSuffix(s, "/")
	if dir != "" && !filepath.IsAbs(s) {
		s = filepath.Join(dir, s)
	}
	st, err := os.Stat(s)
	switch {
	case err == nil && st.IsDir(), dirItem && errors.Is(err, fs.ErrNotExist) && optional:
		return location{dir: s, stem: "application", exts: []string{".yaml", ".yml", ".properties"}, optional: optional}, nil
	case errors.Is(err, fs.ErrNotExist) && optional:
		return location{optional: true}, nil
	case err != nil:
		return location{}, fmt.Errorf("%q: %w", item, err)
	}
	ext := filepath.Ext(s)
	return location{dir: filepath.Dir(s), stem: strings.TrimSuffix(filepath.Base(s), ext), exts: []string{ext}, optional: optional}, nil
}

// files returns the existing files of the location for profile ("" for
// the files without a profile), lowest precedence first.
func (l location) files(profile string) []string {
	if l.stem == "" {
		return nil
	}
	name := l.stem
	if profile != "" {
		name += "-" + profile
	}
	var out []string
	for _, ext := range l.exts {
		f := filepath.Join(l.dir, name+ext)
		if st, err := os.Stat(f); err == nil && !st.IsDir() {
			out = append(out, f)
		}
	}
	return out
}

// splitList splits a comma-separated list, dropping empty items.
func splitList(s string) []string {
	var out []string
	for item := range strings.SplitSeq(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}
