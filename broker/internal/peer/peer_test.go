package peer_test

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/goleak"

	"github.com/kspring/kspring/broker"
	"github.com/kspring/kspring/broker/internal/peer"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func startBroker(t *testing.T) *broker.Broker {
	t.Helper()
	cfg := broker.DefaultConfig()
	cfg.Listeners = []string{"PLAINTEXT://127.0.0.1:0"}
	cfg.LogDirs = []string{t.TempDir()}
	b, err := broker.New(cfg)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, b.Start(ctx))
	t.Cleanup(func() { _ = b.Close(context.Background()) })
	return b
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

// Requests round-trip at the version they carry, flexible or not, over one
// connection.
func TestRoundTrips(t *testing.T) {
	b := startBroker(t)
	c := peer.New(b.Addr(), "peer-test", nil)
	defer c.Close()
	for _, v := range []int16{0, 3, 12} { // v9+ is flexible
		req := kmsg.NewPtrMetadataRequest()
		req.Version = v
		resp, err := c.Request(ctx(t), req)
		require.NoError(t, err, "Metadata v%d", v)
		md := resp.(*kmsg.MetadataResponse)
		require.Len(t, md.Brokers, 1)
		require.Equal(t, int32(1), md.Brokers[0].NodeID)
	}
	av := kmsg.NewPtrApiVersionsRequest()
	av.Version = 3
	resp, err := c.Request(ctx(t), av)
	require.NoError(t, err)
	require.NotEmpty(t, resp.(*kmsg.ApiVersionsResponse).ApiKeys)
}

// A broker that restarts (a new listener on the same port) is dialled again
// on the next request.
func TestRedialsAfterError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	accepted := make(chan net.Conn, 2)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	defer ln.Close()
	c := peer.New(addr, "peer-test", nil)
	defer c.Close()

	// The first server hangs up before answering.
	done := make(chan error, 1)
	go func() {
		_, err := c.Request(ctx(t), kmsg.NewPtrMetadataRequest())
		done <- err
	}()
	(<-accepted).Close()
	require.Error(t, <-done)

	// The second answers a valid (empty) Metadata v0 response.
	go func() {
		_, err := c.Request(ctx(t), kmsg.NewPtrMetadataRequest())
		done <- err
	}()
	srv := <-accepted
	defer srv.Close()
	var hdr [4]byte
	_, err = io.ReadFull(srv, hdr[:])
	require.NoError(t, err)
	body := make([]byte, binary.BigEndian.Uint32(hdr[:]))
	_, err = io.ReadFull(srv, body)
	require.NoError(t, err)
	corr := body[4:8]
	resp := kmsg.NewPtrMetadataResponse()
	out := append([]byte{0, 0, 0, 0}, corr...)
	out = resp.AppendTo(out)
	binary.BigEndian.PutUint32(out, uint32(len(out)-4))
	_, err = srv.Write(out)
	require.NoError(t, err)
	require.NoError(t, <-done)
}

// ctx bounds a request to a peer that never answers; Close ends one in
// flight at once, and later requests fail with ErrClosed.
func TestContextAndClose(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	c := peer.New(ln.Addr().String(), "peer-test", nil)
	short, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = c.Request(short, kmsg.NewPtrMetadataRequest())
	require.Error(t, err)

	done := make(chan error, 1)
	go func() {
		_, err := c.Request(ctx(t), kmsg.NewPtrMetadataRequest())
		done <- err
	}()
	time.Sleep(20 * time.Millisecond) // let it reach the read; Close must end it either way
	c.Close()
	select {
	case err := <-done:
		require.Error(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not end the request in flight")
	}
	_, err = c.Request(ctx(t), kmsg.NewPtrMetadataRequest())
	require.ErrorIs(t, err, peer.ErrClosed)
}

// A response larger than MaxResponseBytes is refused without allocating it.
func TestOversizedResponse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		var hdr [4]byte
		if _, err := io.ReadFull(c, hdr[:]); err != nil {
			return
		}
		_, _ = io.CopyN(io.Discard, c, int64(binary.BigEndian.Uint32(hdr[:])))
		_, _ = c.Write([]byte{0x7f, 0xff, 0xff, 0xff})
		_, _ = io.Copy(io.Discard, c)
	}()
	c := peer.New(ln.Addr().String(), "peer-test", nil)
	defer c.Close()
	_, err = c.Request(ctx(t), kmsg.NewPtrMetadataRequest())
	require.ErrorContains(t, err, "response of")
}
