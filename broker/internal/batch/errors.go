package batch

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
)

// Sentinel errors. Each wraps the kerr value the broker should answer with.
var (
	// ErrShort: fewer bytes than a batch header or than the batch claims.
	ErrShort = fmt.Errorf("batch too short: %w", kerr.CorruptMessage)
	// ErrCorrupt: the length or CRC-32C does not match the bytes.
	ErrCorrupt = fmt.Errorf("batch corrupt: %w", kerr.CorruptMessage)
	// ErrUnsupportedMagic: a message set of magic 0 or 1, or an unknown magic.
	ErrUnsupportedMagic = fmt.Errorf("batch magic not supported: %w", kerr.UnsupportedForMessageFormat)
	// ErrInvalid: well-formed bytes whose contents break the format's rules
	// (record count, offset deltas, unknown codec, malformed records).
	ErrInvalid = fmt.Errorf("batch invalid: %w", kerr.InvalidRecord)
)
