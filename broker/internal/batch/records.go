package batch

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// Record is one record of a batch. Key and Value are nil for a null key or
// value and non-nil (possibly empty) otherwise.
type Record struct {
	Attributes     int8 // unused by Kafka so far; kept as read
	TimestampDelta int64
	OffsetDelta    int32
	Key, Value     []byte
	Headers        []RecordHeader
}

// RecordHeader is one header of a record. Value is nil for a null value.
type RecordHeader struct {
	Key   string
	Value []byte
}

// Records decodes the records of the batch at the start of b and calls fn
// with each in order, stopping at the first error fn returns (returned
// unwrapped). It decompresses the records section when the batch is
// compressed. It does not check the CRC: run Validate first on untrusted
// bytes. Malformed records, a record count that does not match the data, or
// a records section that does not decompress give ErrInvalid.
//
// The Key, Value and header Value slices alias b (uncompressed batches) or a
// buffer allocated for this call (compressed batches). They stay valid after
// fn returns as long as b is not modified; copy them to keep them past that.
// A record's absolute offset is Header.BaseOffset + OffsetDelta, and its
// timestamp is FirstTimestamp + TimestampDelta (or MaxTimestamp when the
// batch uses LogAppendTime).
func Records(b []byte, fn func(r Record) error) error {
	if len(b) > offMagic && b[offMagic] != 2 {
		return fmt.Errorf("batch: magic %d: %w", int8(b[offMagic]), ErrUnsupportedMagic)
	}
	h, err := ParseHeader(b)
	if err != nil {
		return err
	}
	if h.Length < minLength || int64(h.Size()) > int64(len(b)) {
		return fmt.Errorf("batch at offset %d: length field %d but %d bytes: %w", h.BaseOffset, h.Length, len(b), ErrShort)
	}
	if h.NumRecords < 0 {
		return fmt.Errorf("batch at offset %d: record count %d: %w", h.BaseOffset, h.NumRecords, ErrInvalid)
	}
	data := b[HeaderSize:h.Size()]
	if c := h.Compression(); c != None {
		if data, err = decompress(c, data); err != nil {
			return fmt.Errorf("batch at offset %d: %v records: %v: %w", h.BaseOffset, c, err, ErrInvalid)
		}
	}
	d := decoder{b: data}
	for i := range h.NumRecords {
		r, err := d.record()
		if err != nil {
			return fmt.Errorf("batch at offset %d: record %d of %d: %v: %w", h.BaseOffset, i, h.NumRecords, err, ErrInvalid)
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	if len(d.b) != 0 {
		return fmt.Errorf("batch at offset %d: %d bytes after the last of %d records: %w", h.BaseOffset, len(d.b), h.NumRecords, ErrInvalid)
	}
	return nil
}

var errTruncated = errors.New("truncated")

// decoder reads Kafka's zigzag varints and length-prefixed bytes.
type decoder struct{ b []byte }

func (d *decoder) varlong() (int64, error) {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		return 0, errTruncated
	}
	d.b = d.b[n:]
	return v, nil
}

func (d *decoder) varint() (int32, error) {
	v, err := d.varlong()
	if err != nil {
		return 0, err
	}
	if v < math.MinInt32 || v > math.MaxInt32 {
		return 0, fmt.Errorf("varint %d out of int32 range", v)
	}
	return int32(v), nil
}

// bytes reads a varint length and that many bytes; length -1 is null.
func (d *decoder) bytes() ([]byte, error) {
	n, err := d.varint()
	if err != nil {
		return nil, err
	}
	if n < 0 {
		if n != -1 {
			return nil, fmt.Errorf("length %d", n)
		}
		return nil, nil
	}
	if int(n) > len(d.b) {
		return nil, errTruncated
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v, nil
}

func (d *decoder) record() (Record, error) {
	size, err := d.varint()
	if err != nil {
		return Record{}, err
	}
	if size < 0 || int(size) > len(d.b) {
		return Record{}, fmt.Errorf("record length %d, %d bytes remain", size, len(d.b))
	}
	body := decoder{b: d.b[:size]}
	d.b = d.b[size:]

	var r Record
	if len(body.b) < 1 {
		return Record{}, errTruncated
	}
	r.Attributes = int8(body.b[0])
	body.b = body.b[1:]
	if r.TimestampDelta, err = body.varlong(); err != nil {
		return Record{}, err
	}
	if r.OffsetDelta, err = body.varint(); err != nil {
		return Record{}, err
	}
	if r.Key, err = body.bytes(); err != nil {
		return Record{}, err
	}
	if r.Value, err = body.bytes(); err != nil {
		return Record{}, err
	}
	nh, err := body.varint()
	if err != nil {
		return Record{}, err
	}
	if nh < 0 || int(nh) > len(body.b)/2 { // each header takes at least two bytes
		return Record{}, fmt.Errorf("header count %d", nh)
	}
	if nh > 0 {
		r.Headers = make([]RecordHeader, nh)
		for i := range r.Headers {
			k, err := body.bytes()
			if err != nil {
				return Record{}, err
			}
			if k == nil {
				return Record{}, errors.New("null header key")
			}
			r.Headers[i].Key = string(k)
			if r.Headers[i].Value, err = body.bytes(); err != nil {
				return Record{}, err
			}
		}
	}
	if len(body.b) != 0 {
		return Record{}, fmt.Errorf("%d bytes left in record", len(body.b))
	}
	return r, nil
}
