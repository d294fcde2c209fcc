package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kspring/kspring/broker/internal/log"
)

// Fetch responses are mostly record batches. Rather than copy them into the
// encoded response, writeFetch encodes the response with a placeholder in
// place of each large batch set and then writes the encoded pieces around
// them: batch sets copied into memory go out in the same writev, batch sets
// left in segment files (see fetchData) go out with sendfile(2), from the
// page cache to the socket without passing through the broker's memory.

// zeroCopyMin is the smallest batch set worth sending as a piece of its own.
const zeroCopyMin = 4 << 10

const placeholderLen = 16

// placeholderMagic starts every placeholder; it is random per process, so
// no client-controlled bytes can forge one.
var placeholderMagic = rand.Uint64()

// memMarkBit sets the index of a copied batch set's placeholder apart from
// the file parts' indexes.
const memMarkBit = 1 << 63

// spliced is one batch set taken out of the encoded response.
type spliced struct {
	p    *kmsg.FetchResponseTopicPartition
	mark []byte
	data []byte   // a copied batch set, or
	file filePart // one left in files
}

func (s spliced) len() int {
	if s.data != nil {
		return len(s.data)
	}
	return s.file.n
}

// writeFetch writes a fetch response whose large batch sets go out as
// pieces of their own. It reports false, writing nothing, when no batch
// set is large enough to be worth it; the caller writes the plain encoding.
func (c *conn) writeFetch(req *Request, resp *kmsg.FetchResponse) (bool, error) {
	var parts []spliced
	for ti := range resp.Topics {
		for pi := range resp.Topics[ti].Partitions {
			p := &resp.Topics[ti].Partitions[pi]
			if fp, ok := c.fetch.filePartFor(p.RecordBatches); ok {
				parts = append(parts, spliced{mark: fp.mark, file: fp})
				continue
			}
			if len(p.RecordBatches) < zeroCopyMin {
				continue
			}
			mark := make([]byte, placeholderLen)
			binary.BigEndian.PutUint64(mark[:8], placeholderMagic)
			binary.BigEndian.PutUint64(mark[8:], memMarkBit|uint64(len(parts)))
			parts = append(parts, spliced{p: p, mark: mark, data: p.RecordBatches})
			p.RecordBatches = mark
		}
	}
	if len(parts) == 0 {
		return false, nil
	}
	b := c.encode(req, resp)
	c.out = keepBuffer(b)
	for _, s := range parts {
		if s.data != nil {
			s.p.RecordBatches = s.data // the response is the caller's again
		}
	}

	// Each placeholder is preceded by its length: a 4-byte int32, or in
	// flexible versions the uvarint of length+1 (one byte for 17). Find
	// them all and the frame's real size before writing a byte.
	prefix := 4
	if resp.IsFlexible() {
		prefix = 1
	}
	at := make([]int, len(parts))
	lens := make([][]byte, len(parts))
	size, pos := len(b), 0
	for i, s := range parts {
		j := bytes.Index(b[pos:], s.mark)
		if j < prefix {
			return true, errors.New("fetch response: placeholder not found in the encoding")
		}
		at[i] = pos + j
		if resp.IsFlexible() {
			lens[i] = binary.AppendUvarint(nil, uint64(s.len())+1)
		} else {
			lens[i] = binary.BigEndian.AppendUint32(nil, uint32(s.len()))
		}
		size += len(lens[i]) + s.len() - prefix - placeholderLen
		pos = at[i] + placeholderLen
	}
	binary.BigEndian.PutUint32(b, uint32(size-4))

	bufs := make(net.Buffers, 0, 3*len(parts)+1)
	pos = 0
	for i, s := range parts {
		bufs = append(bufs, b[pos:at[i]-prefix], lens[i])
		pos = at[i] + placeholderLen
		if s.data != nil {
			bufs = append(bufs, s.data)
			continue
		}
		if _, err := bufs.WriteTo(c.nc); err != nil {
			return true, err
		}
		for _, ch := range c.fetch.chunks[s.file.from:s.file.to] {
			if err := c.sendChunk(ch); err != nil {
				return true, err
			}
		}
	}
	bufs = append(bufs, b[pos:])
	_, err := bufs.WriteTo(c.nc)
	return true, err
}

// sendChunk writes a chunk of a segment file to the connection with
// sendfile.
func (c *conn) sendChunk(ch log.Chunk) error {
	f, pos, n := ch.File()
	if err := sendFile(c.raw, f, pos, n); err != nil {
		return fmt.Errorf("send %d bytes at %d of %s: %w", n, pos, f.Name(), err)
	}
	return nil
}
