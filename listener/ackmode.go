package listener

import (
	"fmt"
	"strings"
)

// AckMode says when the container commits offsets, as Spring's
// ContainerProperties.AckMode. Whatever the mode, no offset is committed for
// a record that was neither processed nor recovered (at-least-once).
type AckMode int

const (
	// AckRecord commits after each record is processed. Commits are
	// pipelined: the next record is handled while the commit is in flight,
	// and commits that pile up coalesce into one.
	AckRecord AckMode = iota
	// AckBatch commits once the records taken from a partition in one go
	// (up to max-poll-records) are processed: Spring's default.
	AckBatch
	// AckManual commits what the handler acknowledged, after the current
	// batch of records.
	AckManual
	// AckManualImmediate commits when the handler acknowledges.
	AckManualImmediate
	// AckCount commits once ack-count records were processed since the last
	// commit, checked after each batch.
	AckCount
	// AckTime commits once ack-time has passed since the last commit,
	// checked after each batch.
	AckTime
	// AckCountTime commits when either AckCount or AckTime would.
	AckCountTime
)

var ackModeNames = [...]string{"RECORD", "BATCH", "MANUAL", "MANUAL_IMMEDIATE", "COUNT", "TIME", "COUNT_TIME"}

// String returns Spring's name of the mode, e.g. "MANUAL_IMMEDIATE".
func (m AckMode) String() string {
	if m >= 0 && int(m) < len(ackModeNames) {
		return ackModeNames[m]
	}
	return fmt.Sprintf("AckMode(%d)", int(m))
}

// manual reports whether the handler acknowledges records itself.
func (m AckMode) manual() bool { return m == AckManual || m == AckManualImmediate }

// ParseAckMode parses Spring's names ("RECORD", "BATCH", "MANUAL",
// "MANUAL_IMMEDIATE", "COUNT", "TIME", "COUNT_TIME"), in any case and with
// '-' for '_' as Spring Boot's relaxed binding allows.
func ParseAckMode(s string) (AckMode, error) {
	name := strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(s), "-", "_"))
	for i, n := range ackModeNames {
		if n == name {
			return AckMode(i), nil
		}
	}
	return 0, fmt.Errorf("%w: ack-mode %q is not one of %s", ErrConfig, s, strings.Join(ackModeNames[:], ", "))
}

// UnmarshalText parses an ack mode with ParseAckMode.
func (m *AckMode) UnmarshalText(b []byte) error {
	v, err := ParseAckMode(string(b))
	if err != nil {
		return err
	}
	*m = v
	return nil
}

// MarshalText returns the mode's name.
func (m AckMode) MarshalText() ([]byte, error) { return []byte(m.String()), nil }
