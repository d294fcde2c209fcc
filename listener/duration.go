package listener

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Duration is a time.Duration that reads like Spring Boot's Duration
// properties: a plain number of milliseconds ("500"), a number with a unit
// ns, us, ms, s, m, h or d ("500ms", "10s", "1m"), or ISO-8601 ("PT10S"). It
// decodes from YAML, JSON and text.
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

var (
	simpleDuration = regexp.MustCompile(`^([+-]?\d+)([a-zA-Z]{0,2})$`)
	isoDuration    = regexp.MustCompile(`^([+-])?P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$`)
)

// ParseDuration parses a duration in Spring Boot's simple or ISO-8601 form.
func ParseDuration(s string) (Duration, error) {
	t := strings.TrimSpace(s)
	if m := simpleDuration.FindStringSubmatch(t); m != nil {
		n, err := strconv.ParseInt(m[1], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("duration %q: %w", s, err)
		}
		unit := time.Millisecond
		switch strings.ToLower(m[2]) {
		case "", "ms":
		case "ns":
			unit = time.Nanosecond
		case "us":
			unit = time.Microsecond
		case "s":
			unit = time.Second
		case "m":
			unit = time.Minute
		case "h":
			unit = time.Hour
		case "d":
			unit = 24 * time.Hour
		default:
			return 0, fmt.Errorf("duration %q: unknown unit %q (ns, us, ms, s, m, h, d)", s, m[2])
		}
		return Duration(time.Duration(n) * unit), nil
	}
	if m := isoDuration.FindStringSubmatch(strings.ToUpper(t)); m != nil && t != "P" && !strings.HasSuffix(strings.ToUpper(t), "T") {
		var d time.Duration
		for i, unit := range []time.Duration{24 * time.Hour, time.Hour, time.Minute} {
			if m[i+2] != "" {
				n, _ := strconv.ParseInt(m[i+2], 10, 64)
				d += time.Duration(n) * unit
			}
		}
		if m[5] != "" {
			f, _ := strconv.ParseFloat(m[5], 64)
			d += time.Duration(f * float64(time.Second))
		}
		if m[1] == "-" {
			d = -d
		}
		return Duration(d), nil
	}
	return 0, fmt.Errorf("duration %q: want milliseconds (500), a unit (500ms, 10s, 1m) or ISO-8601 (PT10S)", s)
}

// UnmarshalText parses a duration with ParseDuration.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// UnmarshalJSON accepts a number of milliseconds or a string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		s = string(b)
	}
	return d.UnmarshalText([]byte(s))
}

// UnmarshalYAML accepts a number of milliseconds or a string. It has the
// signature that both gopkg.in/yaml.v2 and yaml.v3 understand.
func (d *Duration) UnmarshalYAML(unmarshal func(any) error) error {
	var s string
	if err := unmarshal(&s); err != nil {
		return err
	}
	return d.UnmarshalText([]byte(s))
}

// String formats d as time.Duration does.
func (d Duration) String() string { return time.Duration(d).String() }
