package log

import (
	"errors"
	"io/fs"
	"os"
	"slices"
)

// A segment's aborted transaction index lives in memory (aborts are rare)
// and in <base>.txnindex, which exists only once the segment holds an
// abort marker, as in Kafka. Entries are appended as markers are written;
// recovery reloads the file and rebuilds the entries of what it replays.

// addAborted records an abort marker written to s.
func (s *segment) addAborted(e AbortedTxn) error {
	f, err := os.OpenFile(s.txnPath(), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	_, err = f.WriteAt(appendAbortedTxn(nil, e), int64(len(s.aborted))*abortedTxnSize)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	s.aborted = append(s.aborted, e)
	s.abortedDirty = true
	s.abortedGen++
	return nil
}

func (s *segment) txnPath() string {
	return txnIndexPath(s.dirPath(), s.base)
}

// loadAborted reads the segment's .txnindex, if any. A torn last entry is
// dropped (recovery replays what it covered); an unreadable file is
// reported with errBadIndex.
func (s *segment) loadAborted() error {
	b, err := os.ReadFile(s.txnPath())
	if errors.Is(err, fs.ErrNotExist) {
		s.aborted = nil
		return nil
	}
	if err != nil {
		return err
	}
	entries, torn, err := ParseTxnIndex(b)
	if err != nil {
		return err
	}
	s.aborted = entries
	if torn {
		return s.rewriteAborted()
	}
	return nil
}

// dropAbortedFrom forgets the entries whose marker is at or after from,
// which a replay from there writes again.
func (s *segment) dropAbortedFrom(from int64) error {
	i := slices.IndexFunc(s.aborted, func(e AbortedTxn) bool { return e.LastOffset >= from })
	if i < 0 {
		return nil
	}
	s.aborted = s.aborted[:i]
	return s.rewriteAborted()
}

// rewriteAborted writes the in-memory entries over the file (removing it
// when there are none).
func (s *segment) rewriteAborted() error {
	if len(s.aborted) == 0 {
		if err := os.Remove(s.txnPath()); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	}
	var b []byte
	for _, e := range s.aborted {
		b = appendAbortedTxn(b, e)
	}
	s.abortedDirty = true
	s.abortedGen++
	return os.WriteFile(s.txnPath(), b, 0o644)
}

// syncTxnIndex fsyncs the .txnindex at path, which recovery trusts below
// the recovery point as it trusts the segment. A file gone meanwhile (its
// segment deleted) needs nothing.
func syncTxnIndex(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
