package testkit

import (
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

// runID tells this test binary's names from those of earlier runs against
// the same external cluster.
var runID = func() string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}()

var nameSeq atomic.Uint64

// maxNameLen keeps names within Kafka's 249-character topic limit.
const maxNameLen = 249

// UniqueName returns a topic or group name that no other test, run or call
// uses: prefix, the test's name and a suffix unique to the call, with every
// character Kafka does not allow in a topic name replaced by '-', e.g.
// "orders-TestBilling-refund-3fa2c1-7". Tests that run with t.Parallel, or
// against a shared external cluster, use it to keep their topics and groups
// apart. Safe for concurrent use.
func UniqueName(t testing.TB, prefix string) string {
	suffix := "-" + runID + "-" + strconv.FormatUint(nameSeq.Add(1), 10)
	name := sanitize(prefix) + "-" + sanitize(t.Name())
	if len(name)+len(suffix) > maxNameLen {
		name = name[:maxNameLen-len(suffix)]
	}
	return name + suffix
}

// sanitize keeps the characters Kafka allows in topic names
// ([a-zA-Z0-9._-]) and replaces the others with '-'.
func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
			return r
		}
		return '-'
	}, s)
}
