package wire

import (
	"encoding/binary"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kspring/kspring/broker/internal/log"
)

// fetchData holds the record batches of the fetch response a connection is
// about to write: small batch sets copied into scratch, large ones left in
// the segment files as chunks, to be sent from there (see writeFetch). It
// belongs to the connection's goroutine and lives from readFetch until the
// response is written, when reset releases the chunks.
type fetchData struct {
	scratch []byte      // copied batch sets; reused across responses
	chunks  []log.Chunk // referenced file ranges of the file parts, in order
	files   []filePart  // partitions whose batch sets stay in files
}

// filePart is one partition whose batch set is chunks[from:to], n bytes.
// Its RecordBatches hold mark until the response is written.
type filePart struct {
	from, to int
	n        int
	mark     []byte
}

// reset releases every chunk and forgets the parts; scratch is kept, up
// to a bound, for the next response.
func (d *fetchData) reset() {
	log.ReleaseChunks(d.chunks)
	clear(d.chunks)
	d.chunks = d.chunks[:0]
	d.files = d.files[:0]
	d.scratch = keepBuffer(d.scratch)
}

// add puts one partition's batch set, the chunks d.chunks[from:], into sp:
// as a file part when fromFile (the connection can sendfile) and the set is
// large enough to be worth it, else copied into scratch, in which case the
// chunks are released at once.
func (d *fetchData) add(sp *kmsg.FetchResponseTopicPartition, from int, fromFile bool) error {
	got := d.chunks[from:]
	n := int(log.ChunksLen(got))
	if fromFile && n >= zeroCopyMin {
		mark := make([]byte, placeholderLen)
		binary.BigEndian.PutUint64(mark[:8], placeholderMagic)
		binary.BigEndian.PutUint64(mark[8:], uint64(len(d.files)))
		d.files = append(d.files, filePart{from: from, to: len(d.chunks), n: n, mark: mark})
		sp.RecordBatches = mark
		return nil
	}
	defer d.drop(from)
	start := len(d.scratch)
	for _, c := range got {
		var err error
		if d.scratch, err = c.AppendTo(d.scratch); err != nil {
			d.scratch = d.scratch[:start]
			return err
		}
	}
	sp.RecordBatches = d.scratch[start:len(d.scratch):len(d.scratch)]
	return nil
}

// drop releases and forgets the chunks from index from on.
func (d *fetchData) drop(from int) {
	log.ReleaseChunks(d.chunks[from:])
	clear(d.chunks[from:])
	d.chunks = d.chunks[:from]
}

// filePartFor returns the file part whose mark b is, if it is one. Record
// data cannot pass for a mark: its magic is random per process and no
// batch is as short as a mark.
func (d *fetchData) filePartFor(b []byte) (filePart, bool) {
	if len(b) != placeholderLen || binary.BigEndian.Uint64(b) != placeholderMagic {
		return filePart{}, false
	}
	i := binary.BigEndian.Uint64(b[8:])
	if i >= uint64(len(d.files)) {
		return filePart{}, false
	}
	return d.files[i], true
}
