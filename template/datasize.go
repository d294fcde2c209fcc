package template

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// DataSize is a number of bytes that reads like Spring Boot's DataSize: a plain
// number of bytes ("16384") or a number with a unit B, KB, MB, GB or TB in
// powers of 1024 ("16KB", "32MB"). It decodes from YAML, JSON and text.
type DataSize int64

// Common sizes.
const (
	Byte     DataSize = 1
	Kilobyte          = 1024 * Byte
	Megabyte          = 1024 * Kilobyte
	Gigabyte          = 1024 * Megabyte
)

// ParseDataSize parses "1048576", "512B", "16KB", "32MB", "1GB" or "1TB"; the
// unit is case-insensitive and may follow a space.
func ParseDataSize(s string) (DataSize, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	mult := Byte
	for _, u := range []struct {
		suffix string
		mult   DataSize
	}{{"TB", 1024 * Gigabyte}, {"GB", Gigabyte}, {"MB", Megabyte}, {"KB", Kilobyte}, {"B", Byte}} {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("data size %q: want a byte count such as 16384 or 16KB", s)
	}
	return DataSize(n) * mult, nil
}

// UnmarshalText parses a data size from text.
func (d *DataSize) UnmarshalText(b []byte) error {
	v, err := ParseDataSize(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// UnmarshalJSON accepts a JSON number of bytes or a string such as "16KB".
func (d *DataSize) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		s = string(b)
	}
	return d.UnmarshalText([]byte(s))
}

// UnmarshalYAML accepts a YAML number of bytes or a string such as "16KB". It
// has the signature that both gopkg.in/yaml.v2 and yaml.v3 understand.
func (d *DataSize) UnmarshalYAML(unmarshal func(any) error) error {
	var s string
	if err := unmarshal(&s); err != nil {
		return err
	}
	return d.UnmarshalText([]byte(s))
}
