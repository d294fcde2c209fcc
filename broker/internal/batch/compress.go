package batch

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// MaxDecompressedSize bounds the records section of one batch after
// decompression. A batch that inflates beyond it is rejected with
// ErrInvalid, so a hostile batch cannot exhaust memory.
const MaxDecompressedSize = 256 << 20

// maxDecompressed is MaxDecompressedSize; tests lower it.
var maxDecompressed = MaxDecompressedSize

// xerialMagic opens snappy data framed by the Java snappy-java library
// (SnappyOutputStream), which the Java client uses. It is followed by a
// version and a compatible-version int32, then chunks of
// [int32 length][raw snappy block].
var xerialMagic = []byte{0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0}

const xerialHeaderSize = 16

// zstdDecoder is used only through DecodeAll, which starts no goroutines
// and is safe for concurrent use.
var zstdDecoder = sync.OnceValues(func() (*zstd.Decoder, error) {
	return zstd.NewReader(nil,
		zstd.WithDecoderConcurrency(0),
		zstd.WithDecoderMaxMemory(MaxDecompressedSize),
	)
})

// zstdEncoder is used only through EncodeAll, which starts no goroutines
// and is safe for concurrent use.
var zstdEncoder = sync.OnceValues(func() (*zstd.Encoder, error) {
	return zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1))
})

var (
	gzipReaders = sync.Pool{New: func() any { return new(gzip.Reader) }}
	// gzipWriters are reused: a new one allocates its compressor's state,
	// hundreds of kilobytes, for every batch.
	gzipWriters = sync.Pool{New: func() any { return gzip.NewWriter(nil) }}
	lz4Readers  = sync.Pool{New: func() any { return lz4.NewReader(nil) }}
	// lz4Writers write 64 KiB blocks, as the Java client does: a frame
	// declares its block size, and lz4's default of 4 MiB would make every
	// writer and every reader of the frame allocate 4 MiB for a batch of
	// a few kilobytes.
	lz4Writers = sync.Pool{New: func() any {
		zw := lz4.NewWriter(nil)
		_ = zw.Apply(lz4.BlockSizeOption(lz4.Block64Kb))
		return zw
	}}
)

// decompress returns the decompressed records section. For None it returns
// src itself.
func decompress(c Codec, src []byte) ([]byte, error) {
	switch c {
	case None:
		return src, nil
	case Gzip:
		zr := gzipReaders.Get().(*gzip.Reader)
		defer gzipReaders.Put(zr)
		if err := zr.Reset(bytes.NewReader(src)); err != nil {
			return nil, err
		}
		return readAllBounded(zr, 4*len(src))
	case Snappy:
		return decodeSnappy(src)
	case LZ4:
		zr := lz4Readers.Get().(*lz4.Reader)
		defer lz4Readers.Put(zr)
		zr.Reset(bytes.NewReader(src))
		return readAllBounded(zr, 4*len(src))
	case Zstd:
		dec, err := zstdDecoder()
		if err != nil {
			return nil, err
		}
		// Frames that declare their size are checked before decoding.
		var fh zstd.Header
		if err := fh.Decode(src); err == nil && fh.HasFCS && fh.FrameContentSize > uint64(maxDecompressed) {
			return nil, fmt.Errorf("zstd: frame of %d bytes exceeds %d", fh.FrameContentSize, maxDecompressed)
		}
		out, err := dec.DecodeAll(src, nil)
		if err != nil {
			return nil, err
		}
		if len(out) > maxDecompressed {
			return nil, fmt.Errorf("zstd: decompressed size exceeds %d bytes", maxDecompressed)
		}
		return out, nil
	}
	return nil, fmt.Errorf("unknown codec %v", c)
}

// readAllBounded reads r to the end, failing past MaxDecompressedSize.
func readAllBounded(r io.Reader, sizeHint int) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(min(sizeHint, 1<<20))
	n, err := buf.ReadFrom(io.LimitReader(r, int64(maxDecompressed)+1))
	if err != nil {
		return nil, err
	}
	if n > int64(maxDecompressed) {
		return nil, fmt.Errorf("decompressed size exceeds %d bytes", maxDecompressed)
	}
	return buf.Bytes(), nil
}

// decodeSnappy decodes a raw snappy block (as franz-go and librdkafka send)
// or xerial-framed chunks (as the Java client sends).
func decodeSnappy(src []byte) ([]byte, error) {
	if !bytes.HasPrefix(src, xerialMagic) {
		return decodeSnappyBlock(nil, src)
	}
	if len(src) < xerialHeaderSize {
		return nil, errors.New("snappy: truncated xerial header")
	}
	var out []byte
	for rest := src[xerialHeaderSize:]; len(rest) > 0; {
		if len(rest) < 4 {
			return nil, errors.New("snappy: truncated xerial chunk length")
		}
		n := binary.BigEndian.Uint32(rest)
		rest = rest[4:]
		if uint64(n) > uint64(len(rest)) {
			return nil, fmt.Errorf("snappy: xerial chunk of %d bytes, %d remain", n, len(rest))
		}
		var err error
		if out, err = decodeSnappyBlock(out, rest[:n]); err != nil {
			return nil, err
		}
		rest = rest[n:]
	}
	return out, nil
}

// decodeSnappyBlock appends the decoding of one raw snappy block to dst.
func decodeSnappyBlock(dst, block []byte) ([]byte, error) {
	n, err := snappy.DecodedLen(block)
	if err != nil {
		return nil, fmt.Errorf("snappy: %w", err)
	}
	if n < 0 || len(dst)+n > maxDecompressed {
		return nil, fmt.Errorf("snappy: decoded size %d exceeds %d bytes", n, maxDecompressed)
	}
	dec, err := snappy.Decode(make([]byte, n), block)
	if err != nil {
		return nil, fmt.Errorf("snappy: %w", err)
	}
	if dst == nil {
		return dec, nil
	}
	return append(dst, dec...), nil
}

// resettableWriter is a compressing writer that can be reused: gzip's and lz4's.
type resettableWriter interface {
	io.WriteCloser
	Reset(io.Writer)
}

// compressPooled appends src compressed by a writer from pool to dst.
func compressPooled(dst []byte, pool *sync.Pool, src []byte) ([]byte, error) {
	buf := bytes.NewBuffer(dst)
	zw := pool.Get().(resettableWriter)
	defer pool.Put(zw)
	zw.Reset(buf)
	if _, err := zw.Write(src); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// compress appends the compression of src with c to dst.
func compress(dst []byte, c Codec, src []byte) ([]byte, error) {
	switch c {
	case None:
		return append(dst, src...), nil
	case Gzip:
		return compressPooled(dst, &gzipWriters, src)
	case Snappy:
		return append(dst, snappy.Encode(nil, src)...), nil
	case LZ4:
		return compressPooled(dst, &lz4Writers, src)
	case Zstd:
		enc, err := zstdEncoder()
		if err != nil {
			return nil, err
		}
		return enc.EncodeAll(src, dst), nil
	}
	return nil, fmt.Errorf("unknown codec %v", c)
}
