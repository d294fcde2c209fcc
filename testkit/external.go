package testkit

import (
	"os"
	"strings"
)

// BootstrapEnv names the environment variable that points the testkit at an
// external Kafka cluster: a comma-separated list of host:port. When it is set,
// [NewBroker] starts nothing and hands out that cluster's addresses, topics it
// creates get unique names, and a test suite runs against Apache Kafka (or
// any Kafka-compatible cluster) unchanged.
const BootstrapEnv = "KSPRING_TEST_BOOTSTRAP"

// External reports whether the tests run against an external cluster
// ($KSPRING_TEST_BOOTSTRAP is set). Tests that need the embedded broker
// (broker properties, stopping or killing brokers) skip with it.
func External() bool { return len(externalAddrs()) > 0 }

func externalAddrs() []string { return splitAddrs(os.Getenv(BootstrapEnv)) }

// splitAddrs splits a bootstrap list "h1:p1,h2:p2" into its addresses.
func splitAddrs(s string) []string {
	var out []string
	for a := range strings.SplitSeq(s, ",") {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, a)
		}
	}
	return out
}
