package wire

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"

	"github.com/kspring/kspring/broker/internal/sasl"
)

// Request is one decoded request with its header, handed to a handler.
type Request struct {
	Key           int16
	Version       int16
	CorrelationID int32
	ClientID      *string
	Body          kmsg.Request
	// Unsupported is set on an ApiVersions request at a version newer than
	// the broker serves; it is answered per KIP-511.
	Unsupported bool
	conn        *conn
	started     time.Time // when the handler started; set only with metrics
}

// ClientHost returns the client's address as "/ip" as Kafka reports it.
func (r *Request) ClientHost() string {
	if a, ok := r.conn.nc.RemoteAddr().(*net.TCPAddr); ok {
		return "/" + a.IP.String()
	}
	return "/" + r.conn.nc.RemoteAddr().String()
}

// errClose tells the connection to close after logging why.
type errClose struct{ reason string }

func (e errClose) Error() string { return e.reason }

// conn is one client connection, served by one goroutine.
type conn struct {
	s  *Server
	nc net.Conn
	br *bufio.Reader

	log *zap.Logger

	mu       sync.Mutex
	closing  bool
	inFlight bool

	hdr   [4]byte
	out   []byte          // response buffer, reused
	fetch fetchData       // batches of the fetch response being written
	raw   syscall.RawConn // for sendfile; nil if the connection cannot

	// Security state, touched only by the connection's goroutine.
	listener        *Listener
	principal       string
	authenticated   bool         // SASL done, or a listener without SASL
	saslMechanism   string       // chosen by SaslHandshake
	saslSession     sasl.Session // the exchange in progress
	rawSASL         bool         // tokens in raw frames (SaslHandshake v0)
	closeAfterWrite bool         // a failed handshake or authentication
}

func newConn(s *Server, nc net.Conn, l *Listener) *conn {
	if tc, ok := nc.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true)
		// As Kafka, best effort: the kernel caps the sizes (and doubles
		// them, for its own bookkeeping).
		if n := s.settings.SendBufferBytes; n > 0 {
			_ = tc.SetWriteBuffer(int(n))
		}
		if n := s.settings.ReceiveBufferBytes; n > 0 {
			_ = tc.SetReadBuffer(int(n))
		}
	}
	return &conn{
		s: s, nc: nc, listener: l,
		br:  bufio.NewReaderSize(nc, 64<<10),
		raw: rawConnFor(nc),
		log: s.logger.With(zap.String("peer", nc.RemoteAddr().String())),
	}
}

// shutdown asks the connection to close once its in-flight request (if any)
// is answered. Called with Server.mu held.
func (c *conn) shutdown() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closing = true
	if !c.inFlight {
		// Unblock a read waiting for the next request.
		_ = c.nc.SetReadDeadline(time.Now())
	}
}

func (c *conn) setInFlight(v bool) (closing bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.inFlight = v
	return c.closing
}

func (c *conn) serve() {
	defer c.nc.Close()
	defer c.fetch.reset()
	if !c.secure() {
		return
	}
	for {
		if idle := c.s.settings.ConnectionsMaxIdle; idle > 0 {
			_ = c.nc.SetReadDeadline(time.Now().Add(idle))
		}
		if c.setInFlight(false) {
			return
		}
		if c.rawSASL && !c.authenticated {
			if err := c.rawAuthenticate(); err != nil {
				c.log.Info("SASL authentication failed; closing connection", zap.String("mechanism", c.saslMechanism), zap.Error(err))
				return
			}
			continue
		}
		req, err := c.readRequest()
		if err != nil {
			c.logReadError(err)
			return
		}
		if c.setInFlight(true) {
			// Shutting down: still answer the request we read.
			_ = c.nc.SetReadDeadline(time.Time{})
		}
		if !c.admitted(req) {
			// Kafka closes a connection that skips authentication.
			c.log.Info("closing connection: request before SASL authentication",
				zap.String("api", kmsg.NameForKey(req.Key)), zap.String("listener", c.listener.Name))
			return
		}
		resp, err := c.s.handle(c.s.ctx, req)
		if err != nil {
			c.log.Warn("closing connection", zap.String("api", kmsg.NameForKey(req.Key)),
				zap.Int16("version", req.Version), zap.Error(err))
			return
		}
		if resp == nil { // acks=0 produce: no response, as in Kafka
			continue
		}
		if err := c.writeResponse(req, resp); err != nil {
			c.log.Debug("write failed; closing connection", zap.Error(err))
			return
		}
		if c.closeAfterWrite {
			return
		}
	}
}

func (c *conn) logReadError(err error) {
	var ec errClose
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed):
	case errors.Is(err, os.ErrDeadlineExceeded):
		c.mu.Lock()
		closing := c.closing
		c.mu.Unlock()
		if !closing {
			c.log.Debug("closing idle connection")
		}
	case errors.As(err, &ec):
		c.log.Warn("closing connection: bad request", zap.String("reason", ec.reason))
	default:
		c.log.Debug("read failed; closing connection", zap.Error(err))
	}
}

// rawAuthenticate runs one step of a SASL exchange in raw frames (after a
// SaslHandshake v0): a size-prefixed token in, a size-prefixed token out.
func (c *conn) rawAuthenticate() error {
	if _, err := io.ReadFull(c.br, c.hdr[:]); err != nil {
		return err
	}
	size := int32(binary.BigEndian.Uint32(c.hdr[:]))
	if size < 0 || size > maxSASLToken {
		return fmt.Errorf("SASL token of %d bytes", size)
	}
	tok := make([]byte, size)
	if _, err := io.ReadFull(c.br, tok); err != nil {
		return err
	}
	if c.saslSession == nil {
		if c.s.users == nil {
			return errors.New("the broker has no users")
		}
		sess, err := sasl.New(c.saslMechanism, c.s.users)
		if err != nil {
			return err
		}
		c.saslSession = sess
	}
	out, err := c.saslSession.Step(tok)
	if err != nil {
		return err
	}
	frame := binary.BigEndian.AppendUint32(nil, uint32(len(out)))
	if _, err := c.nc.Write(append(frame, out...)); err != nil {
		return err
	}
	if c.saslSession.Done() {
		logLegacyNonce(c, c.saslSession)
		c.authenticated = true
		c.principal = "User:" + c.saslSession.User()
		c.saslSession = nil
	}
	return nil
}

// maxSASLToken bounds a raw SASL token, as Kafka's 524288-byte default of
// sasl.server.max.receive.size.
const maxSASLToken = 512 << 10

// readRequest reads one frame and decodes its header and body.
func (c *conn) readRequest() (*Request, error) {
	if _, err := io.ReadFull(c.br, c.hdr[:]); err != nil {
		return nil, err
	}
	size := int32(binary.BigEndian.Uint32(c.hdr[:]))
	if size < 8 {
		return nil, errClose{fmt.Sprintf("frame size %d is smaller than a request header", size)}
	}
	if size > c.s.settings.MaxRequestBytes {
		return nil, errClose{fmt.Sprintf("frame size %d exceeds socket.request.max.bytes %d", size, c.s.settings.MaxRequestBytes)}
	}
	// Once a frame starts, it must arrive within a bounded time.
	_ = c.nc.SetReadDeadline(time.Now().Add(2 * time.Minute))
	// A fresh buffer per request: decoded byte fields (records, member
	// metadata) alias it and may outlive the request.
	buf := make([]byte, size)
	if _, err := io.ReadFull(c.br, buf); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, errClose{fmt.Sprintf("truncated frame: want %d bytes", size)}
		}
		return nil, err
	}
	_ = c.nc.SetReadDeadline(time.Time{})
	return c.s.decode(c, buf)
}

// decode parses a request header and body. Byte fields of the body alias buf.
func (s *Server) decode(c *conn, buf []byte) (*Request, error) {
	r := kbin.Reader{Src: buf}
	req := &Request{conn: c}
	req.Key = r.Int16()
	req.Version = r.Int16()
	req.CorrelationID = r.Int32()
	req.ClientID = r.NullableString()
	if err := r.Complete(); err != nil {
		return nil, errClose{"truncated request header"}
	}
	a, ok := apiFor(req.Key)
	if !ok {
		return nil, errClose{fmt.Sprintf("unknown api key %d", req.Key)}
	}
	body := kmsg.RequestForKey(req.Key)
	if req.Version < a.min || req.Version > a.max {
		if req.Key == apiVersionsKey {
			// KIP-511: answer with v0 and our range; the client retries lower.
			body.SetVersion(0)
			req.Body = body
			req.Unsupported = true
			return req, nil
		}
		return nil, errClose{fmt.Sprintf("unsupported %s version %d (supported %d-%d)",
			kmsg.NameForKey(req.Key), req.Version, a.min, a.max)}
	}
	body.SetVersion(req.Version)
	if body.IsFlexible() {
		kmsg.SkipTags(&r)
		if err := r.Complete(); err != nil {
			return nil, errClose{"truncated request header tags"}
		}
	}
	if err := body.ReadFrom(r.Src); err != nil {
		return nil, errClose{fmt.Sprintf("malformed %s v%d request: %v", kmsg.NameForKey(req.Key), req.Version, err)}
	}
	req.Body = body
	return req, nil
}

// writeResponse frames and writes resp.
func (c *conn) writeResponse(req *Request, resp kmsg.Response) error {
	defer c.s.answered(req)
	defer c.fetch.reset()
	if f, ok := resp.(*kmsg.FetchResponse); ok {
		if done, err := c.writeFetch(req, f); done || err != nil {
			return err
		}
	}
	b := c.encode(req, resp)
	_, err := c.nc.Write(b)
	c.out = keepBuffer(b)
	return err
}

// encode frames resp into the connection's response buffer: size,
// correlation id, header tags, body.
func (c *conn) encode(req *Request, resp kmsg.Response) []byte {
	b := slices.Grow(c.out[:0], responseSizeHint(resp))
	b = append(b, 0, 0, 0, 0)
	b = kbin.AppendInt32(b, req.CorrelationID)
	// ApiVersions answers with response header v0 whatever its version (KIP-511).
	if resp.IsFlexible() && req.Key != apiVersionsKey {
		b = append(b, 0) // empty tagged fields
	}
	b = resp.AppendTo(b)
	binary.BigEndian.PutUint32(b, uint32(len(b)-4))
	return b
}

// maxKeptBuffer bounds the buffers a connection keeps between requests.
const maxKeptBuffer = 16 << 20

// keepBuffer returns b emptied for reuse, or nil if it is too large to
// keep, so an idle connection does not pin a huge buffer.
func keepBuffer(b []byte) []byte {
	if cap(b) > maxKeptBuffer {
		return nil
	}
	return b[:0]
}

// responseSizeHint estimates the encoded size of a response so the buffer
// is allocated once: fetch responses are mostly their record batches.
func responseSizeHint(resp kmsg.Response) int {
	f, ok := resp.(*kmsg.FetchResponse)
	if !ok {
		return 512
	}
	n := 64
	for _, t := range f.Topics {
		n += 32 + len(t.Topic)
		for _, p := range t.Partitions {
			n += 64 + len(p.RecordBatches)
		}
	}
	return n
}

// handle runs the handler of req.
func (s *Server) handle(ctx context.Context, req *Request) (kmsg.Response, error) {
	a, _ := apiFor(req.Key)
	if s.metrics == nil {
		return a.fn(s, ctx, req)
	}
	req.started = time.Now()
	resp, err := a.fn(s, ctx, req)
	if resp == nil && err == nil {
		s.answered(req) // acks=0: nothing to write
	}
	return resp, err
}
