package wire

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"net"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Fetch responses are mostly record batches read from the log. Rather than
// copy them into the encoded response, writeFetch encodes the response with
// a unique placeholder in place of each large batch set, then writes the
// encoded pieces and the batches themselves with one writev.

// zeroCopyMin is the smallest batch set worth sending as its own buffer.
const zeroCopyMin = 4 << 10

const placeholderLen = 16

// placeholderMagic starts every placeholder; it is random per process, so
// no client-controlled bytes can forge one.
var placeholderMagic = rand.Uint64()

// spliced is one batch set taken out of the response for writev.
type spliced struct {
	p    *kmsg.FetchResponseTopicPartition
	data []byte
	mark []byte
}

// writeFetch writes a fetch response whose large batch sets go out as
// separate buffers. It reports false (writing nothing) when no partition
// is large enough to be worth it.
func (c *conn) writeFetch(req *Request, resp *kmsg.FetchResponse) (bool, error) {
	var parts []spliced
	for ti := range resp.Topics {
		for pi := range resp.Topics[ti].Partitions {
			p := &resp.Topics[ti].Partitions[pi]
			if len(p.RecordBatches) < zeroCopyMin {
				continue
			}
			mark := make([]byte, placeholderLen)
			binary.BigEndian.PutUint64(mark[:8], placeholderMagic)
			binary.BigEndian.PutUint64(mark[8:], uint64(len(parts)))
			parts = append(parts, spliced{p: p, data: p.RecordBatches, mark: mark})
			p.RecordBatches = mark
		}
	}
	if len(parts) == 0 {
		return false, nil
	}
	b := c.encode(req, resp)
	for _, s := range parts {
		s.p.RecordBatches = s.data // the response is the caller's again
	}
	// Each placeholder is preceded by its length: a 4-byte int32, or in
	// flexible versions the uvarint of length+1 (one byte for 17).
	prefix := 4
	if resp.IsFlexible() {
		prefix = 1
	}
	bufs := make(net.Buffers, 0, 3*len(parts)+1)
	size, pos := len(b), 0
	for i := range parts {
		at := bytes.Index(b[pos:], parts[i].mark)
		if at < prefix {
			// Cannot happen: the placeholder is in the encoding. Fall back
			// to the plain write, which encodes the batches inline.
			return false, nil
		}
		at += pos
		var lenBuf []byte
		if resp.IsFlexible() {
			lenBuf = binary.AppendUvarint(nil, uint64(len(parts[i].data))+1)
		} else {
			lenBuf = binary.BigEndian.AppendUint32(nil, uint32(len(parts[i].data)))
		}
		bufs = append(bufs, b[pos:at-prefix], lenBuf, parts[i].data)
		size += len(lenBuf) + len(parts[i].data) - prefix - placeholderLen
		pos = at + placeholderLen
	}
	bufs = append(bufs, b[pos:])
	binary.BigEndian.PutUint32(b, uint32(size-4))
	_, err := bufs.WriteTo(c.nc)
	c.out = keepBuffer(b)
	c.scratch = keepBuffer(c.scratch)
	return true, err
}
