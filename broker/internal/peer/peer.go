// Package peer is the broker's client for talking to other brokers of its
// cluster over the Kafka protocol: a follower's replica fetches, and the
// requests a broker sends to the active controller (BrokerRegistration,
// BrokerHeartbeat, AlterPartition, AllocateProducerIds, and forwarded
// admin requests).
//
// Start from [Client]: one connection to one broker, dialled on first use
// and again after an error. Requests carry the version the caller set on
// them; brokers of one cluster run the same code, so there is no version
// negotiation. A Client is safe for concurrent use; its requests are sent
// one at a time, in order.
package peer

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Dialer opens a connection to addr; tests use it to cut links.
type Dialer func(ctx context.Context, addr string) (net.Conn, error)

// MaxResponseBytes bounds a response; a larger one closes the connection.
const MaxResponseBytes = 256 << 20

// Client is a connection to one broker. Create it with [New].
type Client struct {
	addr     string
	clientID string
	dial     Dialer

	mu   sync.Mutex // held for a whole round trip
	br   *bufio.Reader
	buf  []byte
	corr int32

	nmu    sync.Mutex // guards nc and closed, so Close need not wait for a round trip
	nc     net.Conn
	closed bool
}

// New returns a client of the broker at addr that dials with dial (nil:
// plain TCP). clientID names the sender in the other broker's logs.
func New(addr, clientID string, dial Dialer) *Client {
	if dial == nil {
		var d net.Dialer
		dial = func(ctx context.Context, addr string) (net.Conn, error) { return d.DialContext(ctx, "tcp", addr) }
	}
	return &Client{addr: addr, clientID: clientID, dial: dial}
}

// Addr returns the address the client talks to.
func (c *Client) Addr() string { return c.addr }

// ErrClosed is returned by requests on a closed Client.
var ErrClosed = errors.New("peer client closed")

// Request sends req at the version set on it and returns the response.
// ctx bounds the whole round trip; on any error the connection is closed,
// and the next request dials again.
func (c *Client) Request(ctx context.Context, req kmsg.Request) (kmsg.Response, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	resp, err := c.roundTrip(ctx, req)
	if err != nil {
		c.dropLocked()
		return nil, fmt.Errorf("broker %s: %s: %w", c.addr, kmsg.NameForKey(req.Key()), err)
	}
	return resp, nil
}

func (c *Client) roundTrip(ctx context.Context, req kmsg.Request) (kmsg.Response, error) {
	c.nmu.Lock()
	nc, closed := c.nc, c.closed
	c.nmu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	if nc == nil {
		var err error
		if nc, err = c.dial(ctx, c.addr); err != nil {
			return nil, err
		}
		c.nmu.Lock()
		if c.closed {
			c.nmu.Unlock()
			nc.Close()
			return nil, ErrClosed
		}
		c.nc = nc
		c.nmu.Unlock()
		c.br = bufio.NewReaderSize(nc, 64<<10)
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(time.Minute)
	}
	_ = nc.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { _ = nc.SetDeadline(time.Now()) })
	defer stop()

	c.corr++
	corr := c.corr
	b := append(c.buf[:0], 0, 0, 0, 0)
	b = binary.BigEndian.AppendUint16(b, uint16(req.Key()))
	b = binary.BigEndian.AppendUint16(b, uint16(req.GetVersion()))
	b = binary.BigEndian.AppendUint32(b, uint32(corr))
	b = binary.BigEndian.AppendUint16(b, uint16(len(c.clientID)))
	b = append(b, c.clientID...)
	if req.IsFlexible() {
		b = append(b, 0) // no header tags
	}
	b = req.AppendTo(b)
	binary.BigEndian.PutUint32(b, uint32(len(b)-4))
	c.buf = b
	if _, err := nc.Write(b); err != nil {
		return nil, err
	}

	var hdr [4]byte
	if _, err := io.ReadFull(c.br, hdr[:]); err != nil {
		return nil, err
	}
	n := int32(binary.BigEndian.Uint32(hdr[:]))
	if n < 4 || n > MaxResponseBytes {
		return nil, fmt.Errorf("response of %d bytes", n)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(c.br, body); err != nil {
		return nil, err
	}
	if got := int32(binary.BigEndian.Uint32(body)); got != corr {
		return nil, fmt.Errorf("response correlation id %d, want %d", got, corr)
	}
	body = body[4:]
	resp := req.ResponseKind()
	resp.SetVersion(req.GetVersion())
	if resp.IsFlexible() && req.Key() != 18 { // ApiVersions responses have no header tags
		var tagged int
		body, tagged = skipTags(body)
		if tagged < 0 {
			return nil, errors.New("malformed response header")
		}
	}
	if err := resp.ReadFrom(body); err != nil {
		return nil, fmt.Errorf("decode response: %w", err)
	}
	return resp, nil
}

// skipTags skips the tagged fields of a flexible response header.
func skipTags(b []byte) ([]byte, int) {
	n, used := binary.Uvarint(b)
	if used <= 0 {
		return nil, -1
	}
	b = b[used:]
	for range n {
		if _, u := binary.Uvarint(b); u <= 0 {
			return nil, -1
		} else {
			b = b[u:]
		}
		size, u := binary.Uvarint(b)
		if u <= 0 || uint64(len(b)-u) < size {
			return nil, -1
		}
		b = b[u+int(size):]
	}
	return b, int(n)
}

func (c *Client) dropLocked() {
	c.nmu.Lock()
	if c.nc != nil {
		_ = c.nc.Close()
		c.nc = nil
	}
	c.nmu.Unlock()
	c.br = nil
}

// Close closes the connection at once; a request in flight fails, and
// requests after Close fail with ErrClosed.
func (c *Client) Close() {
	c.nmu.Lock()
	defer c.nmu.Unlock()
	c.closed = true
	if c.nc != nil {
		_ = c.nc.Close()
		c.nc = nil
	}
}
