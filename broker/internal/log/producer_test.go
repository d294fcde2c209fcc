package log

import (
	"encoding/binary"
	"hash/crc32"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/kspring/kspring/broker/internal/batch"
)

// produce appends n records from producer pid with the given epoch and base
// sequence.
func produce(t *testing.T, l *Log, pid int64, epoch int16, seq int32, n int) (AppendResult, error) {
	t.Helper()
	b := batch.Build(nil, 0, t0.UnixMilli(), records(0, n, 10), batch.WithProducer(pid, epoch, seq))
	return l.Append(b, 3, t0)
}

func mustProduce(t *testing.T, l *Log, pid int64, epoch int16, seq int32, n int) AppendResult {
	t.Helper()
	res, err := produce(t, l, pid, epoch, seq, n)
	require.NoError(t, err)
	require.False(t, res.Duplicate)
	return res
}

func TestIdempotentProducer(t *testing.T) {
	l := openLog(t, t.TempDir(), testConfig())
	first := mustProduce(t, l, 1, 0, 0, 3)  // seq 0-2
	second := mustProduce(t, l, 1, 0, 3, 2) // seq 3-4
	mustProduce(t, l, 2, 0, 0, 1)           // another producer
	third := mustProduce(t, l, 1, 0, 5, 1)  // seq 5
	end := l.EndOffset()

	t.Run("retried batch is a duplicate", func(t *testing.T) {
		for _, want := range []AppendResult{first, second, third} {
			seq := map[int64]int32{first.BaseOffset: 0, second.BaseOffset: 3, third.BaseOffset: 5}[want.BaseOffset]
			n := int(want.LastOffset - want.BaseOffset + 1)
			res, err := produce(t, l, 1, 0, seq, n)
			require.NoError(t, err)
			require.True(t, res.Duplicate)
			require.Equal(t, want.BaseOffset, res.BaseOffset)
			require.Equal(t, want.LastOffset, res.LastOffset)
		}
		require.Equal(t, end, l.EndOffset(), "duplicates are not written")
	})

	tests := []struct {
		name  string
		epoch int16
		seq   int32
		n     int
		want  error
		code  *kerr.Error
	}{
		{"gap", 0, 7, 1, ErrOutOfOrderSequence, kerr.OutOfOrderSequenceNumber},
		{"overlap but not equal", 0, 4, 2, ErrOutOfOrderSequence, kerr.OutOfOrderSequenceNumber},
		{"repeat of an older range shape", 0, 1, 1, ErrOutOfOrderSequence, kerr.OutOfOrderSequenceNumber},
		{"new epoch not starting at zero", 1, 6, 1, ErrOutOfOrderSequence, kerr.OutOfOrderSequenceNumber},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := produce(t, l, 1, tt.epoch, tt.seq, tt.n)
			require.ErrorIs(t, err, tt.want)
			var ke *kerr.Error
			require.ErrorAs(t, err, &ke)
			require.Equal(t, tt.code, ke)
			require.Equal(t, end, l.EndOffset(), "refused batches are not written")
		})
	}

	t.Run("new epoch fences the old one", func(t *testing.T) {
		mustProduce(t, l, 1, 1, 0, 1)
		_, err := produce(t, l, 1, 0, 6, 1)
		require.ErrorIs(t, err, ErrInvalidProducerEpoch)
		var ke *kerr.Error
		require.ErrorAs(t, err, &ke)
		require.Equal(t, kerr.InvalidProducerEpoch, ke)
		epoch, last, ok := l.ProducerState(1)
		require.True(t, ok)
		require.Equal(t, int16(1), epoch)
		require.Equal(t, int32(0), last)
	})

	t.Run("unknown producer may start anywhere", func(t *testing.T) {
		mustProduce(t, l, 99, 4, 1234, 2)
		_, last, _ := l.ProducerState(99)
		require.Equal(t, int32(1235), last)
	})

	t.Run("sequence wraps at int32 max", func(t *testing.T) {
		mustProduce(t, l, 7, 0, math.MaxInt32-1, 2)
		mustProduce(t, l, 7, 0, 0, 1)
		_, last, _ := l.ProducerState(7)
		require.Equal(t, int32(0), last)
	})

	t.Run("only the last five batches are remembered", func(t *testing.T) {
		for i := range 6 {
			mustProduce(t, l, 8, 0, int32(i), 1)
		}
		res, err := produce(t, l, 8, 0, 5, 1)
		require.NoError(t, err)
		require.True(t, res.Duplicate)
		_, err = produce(t, l, 8, 0, 0, 1)
		require.ErrorIs(t, err, ErrOutOfOrderSequence, "seq 0 fell out of the window")
	})

	t.Run("non-idempotent batches are not checked", func(t *testing.T) {
		b := batch.Build(nil, 0, 1, records(0, 1, 1))
		_, err := l.Append(b, 3, t0)
		require.NoError(t, err)
		b = batch.Build(nil, 0, 1, records(0, 1, 1))
		res, err := l.Append(b, 3, t0)
		require.NoError(t, err)
		require.False(t, res.Duplicate)
	})
}

func TestIdempotentBatchesInOneAppend(t *testing.T) {
	l := openLog(t, t.TempDir(), testConfig())
	var data []byte
	data = batch.Build(data, 0, 1, records(0, 2, 1), batch.WithProducer(5, 0, 0))
	data = batch.Build(data, 0, 1, records(0, 2, 1), batch.WithProducer(5, 0, 2))
	_, err := l.Append(data, 0, t0)
	require.NoError(t, err)
	_, last, _ := l.ProducerState(5)
	require.Equal(t, int32(3), last)

	// A bad second batch refuses the whole append and leaves state alone.
	data = batch.Build(nil, 0, 1, records(0, 1, 1), batch.WithProducer(5, 0, 4))
	data = batch.Build(data, 0, 1, records(0, 1, 1), batch.WithProducer(5, 0, 9))
	_, err = l.Append(data, 0, t0)
	require.ErrorIs(t, err, ErrOutOfOrderSequence)
	_, last, _ = l.ProducerState(5)
	require.Equal(t, int32(3), last)
	require.Equal(t, int64(4), l.EndOffset())
}

func TestProducerStateSurvivesReopen(t *testing.T) {
	for _, clean := range []bool{true, false} {
		t.Run(map[bool]string{true: "clean", false: "crash"}[clean], func(t *testing.T) {
			dir := t.TempDir()
			l := openLog(t, dir, testConfig())
			var results []AppendResult
			// Enough batches to roll segments, so snapshots and replay both count.
			for i := range 60 {
				results = append(results, mustProduce(t, l, 1, 2, int32(i*3), 3))
				mustProduce(t, l, 2, 0, int32(i), 1)
			}
			mustProduce(t, l, 3, 0, 0, 1)
			require.Greater(t, len(segmentFiles(t, dir)), 2)
			if clean {
				require.NoError(t, l.Close())
			} else {
				crash(t, l)
			}

			l = openLog(t, dir, testConfig())
			epoch, last, ok := l.ProducerState(1)
			require.True(t, ok)
			require.Equal(t, int16(2), epoch)
			require.Equal(t, int32(179), last)
			_, last, _ = l.ProducerState(2)
			require.Equal(t, int32(59), last)

			res, err := produce(t, l, 1, 2, 177, 3)
			require.NoError(t, err)
			require.True(t, res.Duplicate, "retry after restart is still a duplicate")
			require.Equal(t, results[59].BaseOffset, res.BaseOffset)
			_, err = produce(t, l, 1, 1, 180, 1)
			require.ErrorIs(t, err, ErrInvalidProducerEpoch)
			_, err = produce(t, l, 1, 2, 181, 1)
			require.ErrorIs(t, err, ErrOutOfOrderSequence)
			mustProduce(t, l, 1, 2, 180, 1)
		})
	}
}

func TestProducerStateRebuiltWithoutSnapshots(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, testConfig())
	for i := range 40 {
		mustProduce(t, l, 1, 0, int32(i*2), 2)
	}
	crash(t, l)
	offs, err := listSnapshots(dir)
	require.NoError(t, err)
	for _, off := range offs {
		writeAt(t, snapshotPath(dir, off), 3, []byte{0xff}) // break every CRC
	}
	l = openLog(t, dir, testConfig())
	_, last, ok := l.ProducerState(1)
	require.True(t, ok)
	require.Equal(t, int32(79), last)
}

func TestProducerStateAfterTruncate(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, testConfig())
	for i := range 40 {
		mustProduce(t, l, 1, 0, int32(i*2), 2)
	}
	require.NoError(t, l.Truncate(30))
	_, last, ok := l.ProducerState(1)
	require.True(t, ok)
	require.Equal(t, int32(29), last)
	mustProduce(t, l, 1, 0, 30, 2)
}

// produceAt is produce with the append happening at now.
func produceAt(t *testing.T, l *Log, now time.Time, pid int64, seq int32) AppendResult {
	t.Helper()
	b := batch.Build(nil, 0, now.UnixMilli(), records(0, 1, 10), batch.WithProducer(pid, 0, seq))
	res, err := l.Append(b, 3, now)
	require.NoError(t, err)
	return res
}

// TestProducerStateExpires: a producer that has not written for
// ProducerIDExpiration is forgotten by Maintain, one that has is kept, and
// the write times survive a reopen (snapshot version 2).
func TestProducerStateExpires(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig()
	cfg.ProducerIDExpiration = time.Hour
	l := openLog(t, dir, cfg)
	old := produceAt(t, l, t0, 1, 0)
	produceAt(t, l, t0.Add(40*time.Minute), 2, 0)

	require.NoError(t, l.Maintain(t0.Add(59*time.Minute)))
	_, _, ok := l.ProducerState(1)
	require.True(t, ok, "not idle for an hour yet")

	require.NoError(t, l.Maintain(t0.Add(time.Hour)))
	_, _, ok = l.ProducerState(1)
	require.False(t, ok, "idle for an hour: expired")
	_, _, ok = l.ProducerState(2)
	require.True(t, ok)

	// An expired producer is new again: its retry is no longer recognised
	// (as in Kafka), and it may go on at any sequence.
	again := produceAt(t, l, t0.Add(time.Hour), 1, 0)
	require.False(t, again.Duplicate)
	require.Greater(t, again.BaseOffset, old.BaseOffset)
	produceAt(t, l, t0.Add(time.Hour), 3, 7)

	// Write times survive a clean reopen: producer 2 (last write at 40m)
	// expires at 1h40m, not an hour after the reopen.
	require.NoError(t, l.Close())
	l = openLog(t, dir, cfg)
	require.NoError(t, l.Maintain(t0.Add(100*time.Minute)))
	_, _, ok = l.ProducerState(2)
	require.False(t, ok)
	_, _, ok = l.ProducerState(1)
	require.True(t, ok)
}

func TestProducerStateNeverExpiresWhenDisabled(t *testing.T) {
	cfg := testConfig()
	cfg.ProducerIDExpiration = -1
	l := openLog(t, t.TempDir(), cfg)
	produceAt(t, l, t0, 1, 0)
	require.NoError(t, l.Maintain(t0.Add(365*24*time.Hour)))
	_, _, ok := l.ProducerState(1)
	require.True(t, ok)
}

// TestProducerSnapshotOldVersions: snapshots written before write times
// (version 1) and before transactions (version 2) still load; version 1's
// producers count as written when it was loaded, and neither has an open
// transaction.
func TestProducerSnapshotOldVersions(t *testing.T) {
	ps := producerState{7: {epoch: 2, lastWrite: 123, txnFirst: 12, batches: []batchMeta{{firstSeq: 0, lastSeq: 4, baseOffset: 10, lastOffset: 14}}}}
	v3 := ps.encode()
	body := v3[:len(v3)-4]
	withCRC := func(b []byte) []byte { return binary.BigEndian.AppendUint32(b, crc32.Checksum(b, castagnoli)) }
	// Version 2 is version 3 without the 8-byte open transaction; version
	// 1 is version 2 without the 8-byte write time.
	v2 := binary.BigEndian.AppendUint16(nil, 2)
	v2 = append(v2, body[2:24]...) // count, id, epoch, write time
	v2 = withCRC(append(v2, body[32:]...))
	v1 := binary.BigEndian.AppendUint16(nil, 1)
	v1 = append(v1, body[2:16]...) // count, id, epoch
	v1 = withCRC(append(v1, body[32:]...))

	for _, tc := range []struct {
		name string
		snap []byte
		want *producerEntry
	}{
		{"v1", v1, &producerEntry{epoch: 2, lastWrite: 999, txnFirst: -1, batches: ps[7].batches}},
		{"v2", v2, &producerEntry{epoch: 2, lastWrite: 123, txnFirst: -1, batches: ps[7].batches}},
		{"v3", v3, ps[7]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeProducerState(tc.snap, 999)
			require.NoError(t, err)
			require.Equal(t, producerState{7: tc.want}, got)
		})
	}

	v4 := withCRC(append(binary.BigEndian.AppendUint16(nil, 4), body[2:]...)) // a version from the future
	_, err := decodeProducerState(v4, 999)
	require.ErrorIs(t, err, errBadSnapshot)
}
