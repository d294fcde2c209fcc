// Package jaas parses the one-line JAAS configurations that Kafka clients
// and brokers take in sasl.jaas.config:
//
//	org.apache.kafka.common.security.plain.PlainLoginModule required username="alice" password="pw" user_alice="pw";
//
// It is shared by the broker (users of PLAIN's server side) and the
// framework (a client's username and password). Parse is pure; safe for
// concurrent use.
package jaas

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
)

// Config is one login module entry.
type Config struct {
	// LoginModule is the class name, e.g.
	// org.apache.kafka.common.security.scram.ScramLoginModule.
	LoginModule string
	// Flag is required, requisite, sufficient or optional.
	Flag string
	// Options are the key=value options, in the order given.
	Options map[string]string
}

// Well-known login modules.
const (
	PlainLoginModule = "org.apache.kafka.common.security.plain.PlainLoginModule"
	ScramLoginModule = "org.apache.kafka.common.security.scram.ScramLoginModule"
)

// ErrSyntax is wrapped by every parse error.
var ErrSyntax = errors.New("jaas: malformed sasl.jaas.config")

// Parse parses a sasl.jaas.config value: exactly one login module, its
// control flag, options as key=value or key="value" (with \" and \\
// escapes inside quotes), and the closing ';'.
func Parse(s string) (Config, error) {
	p := parser{s: s}
	var c Config
	c.LoginModule = p.word()
	if c.LoginModule == "" {
		return c, fmt.Errorf("%w: no login module", ErrSyntax)
	}
	c.Flag = p.word()
	switch c.Flag {
	case "required", "requisite", "sufficient", "optional":
	default:
		return c, fmt.Errorf("%w: login module %s: control flag %q: want required, requisite, sufficient or optional", ErrSyntax, c.LoginModule, c.Flag)
	}
	c.Options = map[string]string{}
	for {
		p.space()
		if p.eof() {
			return c, fmt.Errorf("%w: missing ';' at the end", ErrSyntax)
		}
		if p.s[p.i] == ';' {
			p.i++
			p.space()
			if !p.eof() {
				return c, fmt.Errorf("%w: text after ';': %q (one login module only)", ErrSyntax, p.s[p.i:])
			}
			return c, nil
		}
		key := p.key()
		if key == "" {
			return c, fmt.Errorf("%w: option expected at %q", ErrSyntax, p.s[p.i:])
		}
		p.space()
		if p.eof() || p.s[p.i] != '=' {
			return c, fmt.Errorf("%w: option %s: missing '='", ErrSyntax, key)
		}
		p.i++
		p.space()
		v, err := p.value()
		if err != nil {
			return c, fmt.Errorf("%w: option %s: %v", ErrSyntax, key, err)
		}
		c.Options[key] = v
	}
}

type parser struct {
	s string
	i int
}

func (p *parser) eof() bool { return p.i >= len(p.s) }

func (p *parser) space() {
	for !p.eof() && unicode.IsSpace(rune(p.s[p.i])) {
		p.i++
	}
}

// word reads a run of characters up to a space or ';'.
func (p *parser) word() string {
	p.space()
	start := p.i
	for !p.eof() && !unicode.IsSpace(rune(p.s[p.i])) && p.s[p.i] != ';' {
		p.i++
	}
	return p.s[start:p.i]
}

func (p *parser) key() string {
	start := p.i
	for !p.eof() {
		c := p.s[p.i]
		if c == '=' || c == ';' || c == '"' || unicode.IsSpace(rune(c)) {
			break
		}
		p.i++
	}
	return p.s[start:p.i]
}

func (p *parser) value() (string, error) {
	if p.eof() {
		return "", errors.New("missing value")
	}
	if p.s[p.i] != '"' {
		v := p.key()
		if v == "" {
			return "", errors.New("missing value")
		}
		return v, nil
	}
	p.i++
	var b strings.Builder
	for !p.eof() {
		c := p.s[p.i]
		p.i++
		switch c {
		case '"':
			return b.String(), nil
		case '\\':
			if p.eof() {
				return "", errors.New("unterminated escape")
			}
			b.WriteByte(p.s[p.i])
			p.i++
		default:
			b.WriteByte(c)
		}
	}
	return "", errors.New("unterminated quoted value")
}

// Users returns the user_<name>="password" options of a PLAIN server's
// configuration, as Kafka's PlainServerCallbackHandler reads them.
func (c Config) Users() map[string]string {
	out := map[string]string{}
	for k, v := range c.Options {
		if name, ok := strings.CutPrefix(k, "user_"); ok && name != "" {
			out[name] = v
		}
	}
	return out
}

// Credentials returns the username and password options of a client's
// configuration.
func (c Config) Credentials() (username, password string, ok bool) {
	u, okU := c.Options["username"]
	pw, okP := c.Options["password"]
	return u, pw, okU && okP
}
