package log

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Files a partition directory holds besides its segments.
const (
	logStartFile      = "log-start-offset" // DeleteRecords' log start offset
	recoveryPointFile = "recovery-point"   // everything below it was fsynced
	cleanShutdownFile = "clean-shutdown"   // present only after a clean Close
	cleanerFile       = "cleaner-offset-checkpoint"
	deletedSuffix     = ".deleted"
	tmpSuffix         = ".tmp"
	cleanedSuffix     = ".cleaned" // a cleaned segment being written
	swapSuffix        = ".swap"    // a cleaned segment ready to replace the originals
)

// writeFileAtomic replaces dir/name with data through a temporary file and a
// rename. With durable set it fsyncs the file and the directory, so the new
// content survives a crash once it returns.
func writeFileAtomic(dir, name string, data []byte, durable bool) error {
	path := filepath.Join(dir, name)
	tmp := path + tmpSuffix
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil && durable {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err == nil && durable {
		err = syncDir(dir)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// Checkpoint files hold a version line and an offset line, as Kafka's
// checkpoint files do.
func writeCheckpoint(dir, name string, off int64, durable bool) error {
	return writeFileAtomic(dir, name, []byte("0\n"+strconv.FormatInt(off, 10)+"\n"), durable)
}

// readCheckpoint returns the offset in dir/name; ok is false if the file is
// missing or unreadable (a checkpoint is an optimisation or a lower bound,
// so a bad one is ignored, not fatal).
func readCheckpoint(dir, name string) (off int64, ok bool, err error) {
	b, err := os.ReadFile(filepath.Join(dir, name))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 2 || lines[0] != "0" {
		return 0, false, nil
	}
	off, perr := strconv.ParseInt(lines[1], 10, 64)
	if perr != nil || off < 0 {
		return 0, false, nil
	}
	return off, true, nil
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
