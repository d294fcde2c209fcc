//go:build !linux

package wire

import (
	"errors"
	"net"
	"os"
	"syscall"
)

// rawConnFor returns nil: without Linux's sendfile semantics every batch
// set is copied (see fetchData.add).
func rawConnFor(net.Conn) syscall.RawConn { return nil }

func sendFile(syscall.RawConn, *os.File, int64, int64) error {
	return errors.New("sendfile: not supported on this platform")
}
