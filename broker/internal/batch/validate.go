package batch

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// checksum computes the CRC-32C of a batch: attributes through the end.
func checksum(b []byte) uint32 { return crc32.Checksum(b[offAttributes:], castagnoli) }

// Validate checks that b holds exactly one complete, intact v2 batch and
// returns its header. It checks, in order: the magic byte is 2
// (ErrUnsupportedMagic), the header is complete (ErrShort), Length matches
// len(b) (ErrCorrupt), the CRC-32C matches (ErrCorrupt), and the record count
// is consistent: NumRecords >= 0, LastOffsetDelta == NumRecords-1 when
// NumRecords > 0, and the codec is known (ErrInvalid). A batch with no
// records is valid: compaction leaves such batches behind.
//
// Validate does not modify or retain b.
func Validate(b []byte) (Header, error) {
	h, err := VerifyChecksum(b)
	if err != nil {
		return h, err
	}
	if h.NumRecords < 0 {
		return h, fmt.Errorf("batch at offset %d: record count %d: %w", h.BaseOffset, h.NumRecords, ErrInvalid)
	}
	if h.NumRecords > 0 && h.LastOffsetDelta != h.NumRecords-1 {
		return h, fmt.Errorf("batch at offset %d: %d records but last offset delta %d: %w",
			h.BaseOffset, h.NumRecords, h.LastOffsetDelta, ErrInvalid)
	}
	if c := h.Compression(); c > Zstd {
		return h, fmt.Errorf("batch at offset %d: %v: %w", h.BaseOffset, c, ErrInvalid)
	}
	return h, nil
}

// VerifyChecksum checks the framing of one stored batch: magic 2, Length
// consistent with len(b), and the CRC-32C. Unlike Validate it does not check
// the record count against LastOffsetDelta, which compaction legitimately
// breaks (a compacted batch keeps its offset range but loses records), so it
// is what log recovery uses. Errors are those of Validate.
func VerifyChecksum(b []byte) (Header, error) {
	if len(b) > offMagic && b[offMagic] != 2 {
		return Header{}, fmt.Errorf("batch: magic %d: %w", int8(b[offMagic]), ErrUnsupportedMagic)
	}
	h, err := ParseHeader(b)
	if err != nil {
		return Header{}, err
	}
	if h.Length < minLength || int64(h.Length) != int64(len(b)-lengthFieldEnd) {
		return h, fmt.Errorf("batch: length field %d but %d bytes follow it: %w", h.Length, len(b)-lengthFieldEnd, ErrCorrupt)
	}
	if sum := checksum(b); sum != h.CRC {
		return h, fmt.Errorf("batch at offset %d: crc %08x, computed %08x: %w", h.BaseOffset, h.CRC, sum, ErrCorrupt)
	}
	return h, nil
}

// Split calls fn with each complete batch in records, the records field of a
// Produce request (or any run of batches, such as a segment file's bytes).
// The slices passed to fn alias records; fn may modify them in place.
//
// Split checks framing only, not CRCs: call Validate on each batch. It
// returns ErrUnsupportedMagic for a magic 0 or 1 message set, ErrCorrupt for
// a trailing partial batch, ErrInvalid for a length field too small to hold
// a header, and the first error fn returns, unwrapped.
func Split(records []byte, fn func(batch []byte) error) error {
	for pos := 0; pos < len(records); {
		rest := records[pos:]
		if len(rest) > offMagic && rest[offMagic] != 2 {
			return fmt.Errorf("batch: at byte %d: magic %d: %w", pos, int8(rest[offMagic]), ErrUnsupportedMagic)
		}
		if len(rest) < HeaderSize {
			return fmt.Errorf("batch: at byte %d: %d trailing bytes, less than a header: %w", pos, len(rest), ErrCorrupt)
		}
		length := int32(binary.BigEndian.Uint32(rest[offLength:]))
		if length < minLength {
			return fmt.Errorf("batch: at byte %d: length field %d: %w", pos, length, ErrInvalid)
		}
		size := int64(lengthFieldEnd) + int64(length)
		if size > int64(len(rest)) {
			return fmt.Errorf("batch: at byte %d: batch of %d bytes but only %d remain: %w", pos, size, len(rest), ErrCorrupt)
		}
		if err := fn(rest[:size:size]); err != nil {
			return err
		}
		pos += int(size)
	}
	return nil
}
