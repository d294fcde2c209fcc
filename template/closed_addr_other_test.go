//go:build !unix

package template_test

import (
	"net"
	"testing"

	"github.com/stretchr/testify/require"
)

// closedAddr returns a loopback address where nothing listens (a port
// freed at once; on unix it stays bound for the test's life).
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}
