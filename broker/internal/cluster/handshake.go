package cluster

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
)

// The quorum handshake: every raft connection opens with a hello that
// names the quorum the dialer belongs to, and the accepting node drops a
// connection from another quorum before raft reads a byte of it.
//
// Raft itself cannot tell quorums apart: it takes an AppendEntries or an
// InstallSnapshot from any leader with a higher term, and every kspring
// quorum names its voters "1", "2", "3". When a broker dies its controller
// port is free, and another cluster on the machine (a parallel test, a
// second cluster) may bind it; the dead broker's peers keep calling that
// address and, without the handshake, their leader takes the stranger's
// node over and replaces its metadata log with its own: the stranger's
// brokers then see two cluster ids, lose topics and fail appends. KRaft
// avoids this by carrying the cluster id in every quorum RPC; the
// handshake is its counterpart, and it carries the quorum's voters
// (controller.quorum.voters, the same on every voter) since the cluster id
// is itself decided through raft.
//
// Wire form: "KSQ1", 16 bytes of SHA-256 over the sorted "id@host:port"
// voters, and the dialer's node id (int32, big endian).

const helloMagic = "KSQ1"

// helloLen is the size of a hello on the wire.
const helloLen = len(helloMagic) + quorumIDLen + 4

const quorumIDLen = 16

// helloTimeout bounds how long an accepted connection may take to send its
// hello.
const helloTimeout = 5 * time.Second

// errForeignQuorum: a connection's hello named another quorum.
var errForeignQuorum = errors.New("connection from a node of another metadata quorum (controller.quorum.voters differ)")

// quorumID identifies a quorum by its voters.
type quorumID [quorumIDLen]byte

// quorumIDOf returns the id of the quorum of voters.
func quorumIDOf(voters map[int32]string) quorumID {
	list := make([]string, 0, len(voters))
	for id, addr := range voters {
		list = append(list, strconv.Itoa(int(id))+"@"+addr)
	}
	slices.Sort(list)
	sum := sha256.Sum256([]byte(strings.Join(list, ",")))
	var q quorumID
	copy(q[:], sum[:])
	return q
}

func (q quorumID) hello(from int32) []byte {
	b := make([]byte, 0, helloLen)
	b = append(b, helloMagic...)
	b = append(b, q[:]...)
	return binary.BigEndian.AppendUint32(b, uint32(from))
}

// sendHello writes this node's hello on a dialed connection.
func (s *streamLayer) sendHello(c net.Conn, deadline time.Time) error {
	if err := c.SetWriteDeadline(deadline); err != nil {
		return err
	}
	if _, err := c.Write(s.quorum.hello(s.self)); err != nil {
		return fmt.Errorf("quorum handshake with %s: %w", c.RemoteAddr(), err)
	}
	return c.SetWriteDeadline(time.Time{})
}

// helloConn is an accepted connection whose hello is checked by its first
// Read, on raft's goroutine for the connection, so that a slow or silent
// peer never holds up the accept loop.
type helloConn struct {
	net.Conn
	s    *streamLayer
	once sync.Once
	err  error
}

func (c *helloConn) Read(p []byte) (int, error) {
	c.once.Do(func() { c.err = c.readHello() })
	if c.err != nil {
		return 0, c.err
	}
	return c.Conn.Read(p)
}

// readHello reads and checks the peer's hello, and closes the connection
// if it is not from this quorum.
func (c *helloConn) readHello() error {
	var b [helloLen]byte
	_ = c.Conn.SetReadDeadline(time.Now().Add(helloTimeout))
	_, err := io.ReadFull(c.Conn, b[:])
	_ = c.Conn.SetReadDeadline(time.Time{})
	if err != nil {
		c.Close()
		return fmt.Errorf("quorum handshake from %s: %w", c.RemoteAddr(), err)
	}
	from := int32(binary.BigEndian.Uint32(b[len(helloMagic)+quorumIDLen:]))
	if string(b[:len(helloMagic)]) != helloMagic || quorumID(b[len(helloMagic):len(helloMagic)+quorumIDLen]) != c.s.quorum {
		c.s.refused(c.RemoteAddr(), from)
		c.Close()
		return fmt.Errorf("quorum handshake from %s: %w", c.RemoteAddr(), errForeignQuorum)
	}
	return nil
}

// refused logs a connection from another quorum.
func (s *streamLayer) refused(addr net.Addr, from int32) {
	s.logger.Warn("refused a connection from a node of another metadata quorum: its controller.quorum.voters differ "+
		"(a node of another cluster calling an address this node now holds, or a misconfigured voter)",
		zap.Stringer("remote", addr), zap.Int32("its node.id", from))
}
