package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// status holds the memory lines of /proc/self/status, in bytes.
type status struct {
	VmRSS, VmHWM, RssAnon, RssFile int64
}

func readStatus() (status, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return status{}, fmt.Errorf("rss: %w", err)
	}
	defer f.Close()
	return parseStatus(f)
}

// parseStatus reads the "Name:   123 kB" lines it knows from r; VmRSS is
// required.
func parseStatus(r io.Reader) (status, error) {
	var st status
	fields := map[string]*int64{"VmRSS": &st.VmRSS, "VmHWM": &st.VmHWM, "RssAnon": &st.RssAnon, "RssFile": &st.RssFile}
	found := false
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		p, known := fields[name]
		if !ok || !known {
			continue
		}
		num, unit, _ := strings.Cut(strings.TrimSpace(rest), " ")
		n, err := strconv.ParseInt(num, 10, 64)
		if err != nil || unit != "kB" {
			return status{}, fmt.Errorf("rss: /proc/self/status line %q: want \"<n> kB\"", sc.Text())
		}
		*p = n << 10
		found = found || name == "VmRSS"
	}
	if err := sc.Err(); err != nil {
		return status{}, fmt.Errorf("rss: reading /proc/self/status: %w", err)
	}
	if !found {
		return status{}, fmt.Errorf("rss: /proc/self/status has no VmRSS line")
	}
	return st, nil
}
