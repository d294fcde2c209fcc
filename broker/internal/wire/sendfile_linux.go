package wire

import (
	"errors"
	"io"
	"net"
	"os"
	"syscall"
)

// maxSendfile is the most one sendfile call is asked to move; Linux moves
// at most 0x7ffff000 bytes a call anyway.
const maxSendfile = 1 << 30

// rawConnFor returns the raw connection to sendfile to, or nil when nc is
// not a TCP connection (sendFile is then never called).
func rawConnFor(nc net.Conn) syscall.RawConn {
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		return nil
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return nil
	}
	return rc
}

// sendFile writes n bytes of f from pos to dst with sendfile(2), waiting
// through the runtime's poller while the socket buffer is full, so the
// write deadline (if any) applies. A file shorter than pos+n is an error:
// the response has promised the bytes.
func sendFile(dst syscall.RawConn, f *os.File, pos, n int64) error {
	src, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var werr, serr error
	cerr := src.Control(func(sfd uintptr) {
		werr = dst.Write(func(dfd uintptr) bool {
			for n > 0 {
				w, err := syscall.Sendfile(int(dfd), int(sfd), &pos, int(min(n, maxSendfile)))
				if w > 0 {
					n -= int64(w)
				}
				switch {
				case errors.Is(err, syscall.EINTR):
				case errors.Is(err, syscall.EAGAIN):
					return false // wait until writable
				case err != nil:
					serr = err
					return true
				case w == 0:
					serr = io.ErrUnexpectedEOF // the file is shorter than promised
					return true
				}
			}
			return true
		})
	})
	return errors.Join(cerr, werr, serr)
}
