package main

import (
	"fmt"
	"strconv"
	"strings"
)

// sizes is a flag.Value for a comma-separated, strictly increasing list of
// byte amounts such as "500MB,5GB".
type sizes []int64

func (s *sizes) String() string {
	out := make([]string, len(*s))
	for i, n := range *s {
		out[i] = human(n)
	}
	return strings.Join(out, ",")
}

func (s *sizes) Set(v string) error {
	var out sizes
	for part := range strings.SplitSeq(v, ",") {
		n, err := parseSize(part)
		if err != nil {
			return err
		}
		if len(out) > 0 && n <= out[len(out)-1] {
			return fmt.Errorf("size %q: checkpoints must increase", part)
		}
		out = append(out, n)
	}
	*s = out
	return nil
}

var units = []struct {
	suffix string
	mult   int64
}{ // longest suffixes first
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12},
	{"B", 1},
}

// parseSize parses "500MB", "1.5GiB", "4096" (bytes).
func parseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	mult := int64(1)
	num := s
	for _, u := range units {
		if before, ok := strings.CutSuffix(s, u.suffix); ok {
			num, mult = strings.TrimSpace(before), u.mult
			break
		}
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f <= 0 {
		return 0, fmt.Errorf("size %q: want a positive number with an optional unit (KB, MB, GB, KiB, MiB, GiB)", s)
	}
	return int64(f * float64(mult)), nil
}

// human formats n bytes with a decimal unit.
func human(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.2fGB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.1fMB", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1fKB", float64(n)/1e3)
	default:
		return fmt.Sprintf("%dB", n)
	}
}
