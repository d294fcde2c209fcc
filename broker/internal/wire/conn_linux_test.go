package wire

import (
	"net"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
)

// TestConnSocketBuffers checks that socket.send.buffer.bytes and
// socket.receive.buffer.bytes reach the accepted connection's socket (Linux
// reports twice the size set: the kernel's bookkeeping share), and that a
// size of 0 or less leaves the OS's default.
func TestConnSocketBuffers(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	accept := func(t *testing.T) net.Conn {
		t.Helper()
		client, err := net.Dial("tcp", ln.Addr().String())
		require.NoError(t, err)
		t.Cleanup(func() { client.Close() })
		server, err := ln.Accept()
		require.NoError(t, err)
		t.Cleanup(func() { server.Close() })
		return server
	}
	sockopt := func(t *testing.T, nc net.Conn, opt int) int {
		t.Helper()
		rc, err := nc.(*net.TCPConn).SyscallConn()
		require.NoError(t, err)
		var v int
		var gerr error
		require.NoError(t, rc.Control(func(fd uintptr) { v, gerr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, opt) }))
		require.NoError(t, gerr)
		return v
	}

	osDefault := accept(t)
	defSnd, defRcv := sockopt(t, osDefault, syscall.SO_SNDBUF), sockopt(t, osDefault, syscall.SO_RCVBUF)

	for _, tc := range []struct {
		name             string
		snd, rcv         int32
		wantSnd, wantRcv int
	}{
		{"set", 65536, 32768, 2 * 65536, 2 * 32768},
		{"os default", -1, 0, defSnd, defRcv},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &Server{settings: Settings{SendBufferBytes: tc.snd, ReceiveBufferBytes: tc.rcv}, logger: zap.NewNop()}
			c := newConn(s, accept(t), &Listener{Name: "PLAINTEXT", Protocol: "PLAINTEXT"})
			require.Equal(t, tc.wantSnd, sockopt(t, c.nc, syscall.SO_SNDBUF))
			require.Equal(t, tc.wantRcv, sockopt(t, c.nc, syscall.SO_RCVBUF))
		})
	}
}
