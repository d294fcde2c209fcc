package log

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/kspring/kspring/broker/internal/batch"
)

var t0 = time.UnixMilli(1_700_000_000_000)

// testConfig is small enough to roll segments often and index densely.
func testConfig() Config {
	cfg := DefaultConfig()
	cfg.SegmentBytes = 4096
	cfg.IndexIntervalBytes = 256
	cfg.FileDeleteDelay = 0
	return cfg
}

func testLogger(t testing.TB) *zap.Logger {
	if tt, ok := t.(*testing.T); ok {
		return zaptest.NewLogger(tt, zaptest.Level(zap.WarnLevel))
	}
	return zap.NewNop()
}

// openLog opens a log in dir and closes it at the end of the test.
func openLog(t testing.TB, dir string, cfg Config) *Log {
	t.Helper()
	l, err := Open(dir, cfg, testLogger(t))
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close() })
	return l
}

// crash abandons the log as a killed process would: files closed, nothing
// flushed or marked clean.
func crash(t testing.TB, l *Log) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closeFiles()
	l.closed = true
}

// value is the value of the record at offset, so reads can be checked.
func value(offset int64, size int) []byte {
	v := bytes.Repeat([]byte{byte(offset)}, size)
	copy(v, fmt.Sprintf("offset-%d|", offset))
	return v
}

// records makes n records whose values encode their future offsets, with
// timestamps ts, ts+1, ...
func records(firstOffset int64, n, size int) []batch.Record {
	recs := make([]batch.Record, n)
	for i := range recs {
		recs[i] = batch.Record{TimestampDelta: int64(i), Key: []byte("k"), Value: value(firstOffset+int64(i), size)}
	}
	return recs
}

// appendRecords appends one batch of n records of size bytes and checks the
// offsets it got.
func appendRecords(t testing.TB, l *Log, n, size int, ts int64, opts ...batch.BuildOption) AppendResult {
	t.Helper()
	end := l.EndOffset()
	b := batch.Build(nil, 0, ts, records(end, n, size), opts...)
	res, err := l.Append(b, 3, time.UnixMilli(ts))
	require.NoError(t, err)
	require.False(t, res.Duplicate)
	require.Equal(t, end, res.BaseOffset)
	require.Equal(t, end+int64(n)-1, res.LastOffset)
	return res
}

type readRecord struct {
	offset int64
	ts     int64
	value  []byte
}

// readAll reads the whole log with small fetches and decodes every record
// at or after the start offset.
func readAll(t testing.TB, l *Log, maxBytes int) []readRecord {
	t.Helper()
	var out []readRecord
	next := l.StartOffset()
	for next < l.EndOffset() {
		data, err := l.Read(next, maxBytes, l.EndOffset())
		require.NoError(t, err)
		require.NotEmpty(t, data, "read at %d", next)
		require.NoError(t, batch.Split(data, func(b []byte) error {
			h, err := batch.Validate(b)
			require.NoError(t, err)
			require.Equal(t, int32(3), h.PartitionLeaderEpoch)
			return batch.Records(b, func(r batch.Record) error {
				off := h.BaseOffset + int64(r.OffsetDelta)
				if off >= next {
					ts := h.FirstTimestamp + r.TimestampDelta
					if h.TimestampType() {
						ts = h.MaxTimestamp
					}
					out = append(out, readRecord{offset: off, ts: ts, value: r.Value})
					next = off + 1
				}
				return nil
			})
		}))
	}
	return out
}

// requireRecords checks that recs are exactly offsets from..to-1 with the
// values appendRecords wrote.
func requireRecords(t testing.TB, recs []readRecord, from, to int64, size int) {
	t.Helper()
	require.Len(t, recs, int(to-from))
	for i, r := range recs {
		require.Equal(t, from+int64(i), r.offset)
		require.Equal(t, value(r.offset, size), r.value, "offset %d", r.offset)
	}
}

// segmentFiles lists the base offsets of the .log files in dir.
func segmentFiles(t testing.TB, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*.log"))
	require.NoError(t, err)
	sort.Strings(m)
	for i := range m {
		m[i] = filepath.Base(m[i])
	}
	return m
}

func lastSegmentPath(t testing.TB, dir string) string {
	t.Helper()
	segs := segmentFiles(t, dir)
	require.NotEmpty(t, segs)
	return filepath.Join(dir, segs[len(segs)-1])
}

func fileSize(t testing.TB, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	require.NoError(t, err)
	return fi.Size()
}

// checkThroughRestarts runs check on l, on the log reopened after a clean
// close, and on it reopened after a crash.
func checkThroughRestarts(t *testing.T, l *Log, dir string, cfg Config, check func(*Log)) {
	t.Helper()
	check(l)
	require.NoError(t, l.Close())
	l = openLog(t, dir, cfg)
	check(l)
	crash(t, l)
	check(openLog(t, dir, cfg))
}
