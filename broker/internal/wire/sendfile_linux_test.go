package wire

import (
	"bytes"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSendFile sends a range of a file over TCP, and refuses, with an
// error rather than a short response, a range the file no longer holds
// (a log truncated under an outstanding chunk).
func TestSendFile(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789abcdef"), 64<<10) // 1 MiB: more than a socket buffer
	path := filepath.Join(t.TempDir(), "segment.log")
	require.NoError(t, os.WriteFile(path, data, 0o644))
	f, err := os.Open(path)
	require.NoError(t, err)
	t.Cleanup(func() { f.Close() })

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	defer client.Close()
	server, err := ln.Accept()
	require.NoError(t, err)
	raw := rawConnFor(server)
	require.NotNil(t, raw)

	got := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(client)
		got <- b
	}()
	require.NoError(t, sendFile(raw, f, 3, int64(len(data))-10))
	err = sendFile(raw, f, int64(len(data))-5, 10) // 5 bytes past the end
	require.ErrorIs(t, err, io.ErrUnexpectedEOF)
	server.Close()
	require.Equal(t, append(append([]byte{}, data[3:len(data)-7]...), data[len(data)-5:]...), <-got)
}
