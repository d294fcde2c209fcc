package log

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/kspring/kspring/broker/internal/batch"
)

// leaderBatch builds a batch as a leader stored it: n records of 70 bytes
// at base, in leader epoch epoch.
func leaderBatch(base int64, n int, epoch int32, opts ...batch.BuildOption) []byte {
	opts = append([]batch.BuildOption{batch.WithPartitionLeaderEpoch(epoch)}, opts...)
	return batch.Build(nil, base, t0.UnixMilli()+base, records(base, n, 70), opts...)
}

// replicate appends batches with AppendReplicated and checks the result.
func replicate(t testing.TB, l *Log, batches ...[]byte) AppendResult {
	t.Helper()
	data := bytes.Join(batches, nil)
	sent := bytes.Clone(data)
	res, err := l.AppendReplicated(data, t0)
	require.NoError(t, err)
	require.Equal(t, sent, data, "the caller's batches are not patched")
	first, err := batch.ParseHeader(batches[0])
	require.NoError(t, err)
	last, err := batch.ParseHeader(batches[len(batches)-1])
	require.NoError(t, err)
	require.Equal(t, AppendResult{BaseOffset: first.BaseOffset, LastOffset: last.LastOffset(), LogAppendTime: -1, LogStartOffset: l.StartOffset()}, res)
	return res
}

// readRaw returns the bytes of every batch from the log start on.
func readRaw(t testing.TB, l *Log) []byte {
	t.Helper()
	var out []byte
	for next := l.StartOffset(); next < l.EndOffset(); {
		data, err := l.Read(next, 1<<20, l.EndOffset())
		require.NoError(t, err)
		require.NotEmpty(t, data)
		require.NoError(t, batch.Split(data, func(b []byte) error {
			h, err := batch.ParseHeader(b)
			next = h.LastOffset() + 1
			return err
		}))
		out = append(out, data...)
	}
	return out
}

func TestAppendReplicatedKeepsOffsetsAndEpochs(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, testConfig())
	var sent [][]byte
	add := func(b []byte) []byte { sent = append(sent, b); return b }

	// One call with several batches, a compaction gap and a new epoch.
	replicate(t, l, add(leaderBatch(0, 3, 1)), add(leaderBatch(3, 2, 1)), add(leaderBatch(10, 3, 2)))
	// An emptied batch (compaction keeps a producer's last batch) holding
	// offsets 13-16.
	replicate(t, l, add(batch.Build(nil, 13, t0.UnixMilli(), nil, batch.WithOffsetDeltas(3), batch.WithPartitionLeaderEpoch(2))))
	// Enough to roll segments, with gaps, epochs rising every 20 batches.
	want := []EpochEntry{{1, 0}, {2, 10}}
	// Calls of five batches each; gaps between the batches of a call.
	next := int64(17)
	for call := range 12 {
		var group [][]byte
		for i := call * 5; i < call*5+5; i++ {
			epoch := 4 + int32(i/20)*3
			if i%20 == 0 {
				want = append(want, EpochEntry{epoch, next})
			}
			group = append(group, add(leaderBatch(next, 2, epoch)))
			next += 2
			if i%5 != 4 {
				next += int64(i % 3)
			}
		}
		replicate(t, l, group...)
	}
	// A LogAppendTime batch keeps the leader's time.
	lat := leaderBatch(next, 1, 10)
	batch.SetLogAppendTime(lat, 42)
	replicate(t, l, add(lat))
	end := next + 1
	require.Greater(t, len(segmentFiles(t, dir)), 3)

	checkThroughRestarts(t, l, dir, testConfig(), func(l *Log) {
		require.Equal(t, end, l.EndOffset())
		require.Equal(t, bytes.Join(sent, nil), readRaw(t, l), "batches are stored exactly as the leader sent them")
		require.Equal(t, want, l.EpochEntries())
		epoch, ok := l.LatestEpoch()
		require.True(t, ok)
		require.Equal(t, int32(10), epoch)
	})
}

func TestAppendReplicatedRefusesBadOffsets(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, testConfig())
	replicate(t, l, leaderBatch(0, 5, 1))
	corrupt := leaderBatch(5, 1, 1)
	corrupt[len(corrupt)-1] ^= 1

	tests := []struct {
		name    string
		batches [][]byte
		want    error
	}{
		{"first batch below the log end", [][]byte{leaderBatch(4, 2, 1)}, ErrOffsetMismatch},
		{"first batch past the log end", [][]byte{leaderBatch(6, 2, 1)}, ErrOffsetMismatch},
		{"batch overlapping the one before", [][]byte{leaderBatch(5, 2, 1), leaderBatch(6, 1, 2)}, ErrOffsetMismatch},
		{"batch repeating the base of the one before", [][]byte{leaderBatch(5, 1, 1), leaderBatch(5, 1, 2)}, ErrOffsetMismatch},
		{"batch going back", [][]byte{leaderBatch(5, 1, 1), leaderBatch(8, 1, 2), leaderBatch(7, 1, 3)}, ErrOffsetMismatch},
		{"corrupt batch", [][]byte{leaderBatch(5, 1, 1), corrupt}, batch.ErrCorrupt},
		{"torn batch", [][]byte{leaderBatch(5, 1, 2)[:40]}, batch.ErrCorrupt},
		{"nothing", nil, batch.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			size := l.Size()
			_, err := l.AppendReplicated(bytes.Join(tt.batches, nil), t0)
			require.ErrorIs(t, err, tt.want)
			require.ErrorContains(t, err, dir)
			require.Equal(t, int64(5), l.EndOffset(), "nothing written")
			require.Equal(t, size, l.Size())
			require.Equal(t, []EpochEntry{{1, 0}}, l.EpochEntries())
		})
	}
	require.NoError(t, l.Close())
	_, err := l.AppendReplicated(leaderBatch(5, 1, 1), t0)
	require.ErrorIs(t, err, ErrClosed)
}

func TestReplicatedProducerStateServesTheNextLeader(t *testing.T) {
	dir := t.TempDir()
	l := openLog(t, dir, testConfig())
	prod := func(base int64, n int, epoch int16, seq int32) []byte {
		return leaderBatch(base, n, 1, batch.WithProducer(7, epoch, seq))
	}
	replicate(t, l, prod(0, 3, 0, 0), prod(3, 2, 0, 3))
	// The leader had lost the producer's state (retention) and accepted a
	// jump; a follower does not check sequences either.
	replicate(t, l, prod(5, 2, 0, 40))
	// Nor epochs: an older producer epoch (a zombie the leader let through
	// before it was fenced) is written and becomes the producer's epoch,
	// as in Kafka's ProducerStateEntry.
	replicate(t, l, leaderBatch(7, 1, 1, batch.WithProducer(8, 3, 0)), leaderBatch(8, 1, 1, batch.WithProducer(8, 2, 0)))
	// A replicated retry is not a duplicate on a follower: the leader
	// decided, and wrote it twice.
	replicate(t, l, prod(9, 2, 0, 40))
	replicate(t, l, prod(11, 2, 0, 42))

	checkThroughRestarts(t, l, dir, testConfig(), func(l *Log) {
		epoch, seq, ok := l.ProducerState(7)
		require.True(t, ok)
		require.Equal(t, [2]int32{0, 43}, [2]int32{int32(epoch), seq})
		epoch, _, ok = l.ProducerState(8)
		require.True(t, ok)
		require.Equal(t, int16(2), epoch)
	})

	// The follower becomes the leader: a producer retrying its last batch
	// gets the offsets the old leader gave it, and its sequence goes on.
	l = openLog(t, dir, testConfig())
	require.NoError(t, l.AssignEpoch(2, l.EndOffset()))
	retry := batch.Build(nil, 0, t0.UnixMilli(), records(0, 2, 70), batch.WithProducer(7, 0, 42))
	res, err := l.Append(retry, 2, t0)
	require.NoError(t, err)
	require.True(t, res.Duplicate)
	require.Equal(t, [2]int64{11, 12}, [2]int64{res.BaseOffset, res.LastOffset})
	_, err = l.Append(batch.Build(nil, 0, t0.UnixMilli(), records(0, 1, 70), batch.WithProducer(7, 0, 50)), 2, t0)
	require.ErrorIs(t, err, ErrOutOfOrderSequence)
	res, err = l.Append(batch.Build(nil, 0, t0.UnixMilli(), records(0, 1, 70), batch.WithProducer(7, 0, 44)), 2, t0)
	require.NoError(t, err)
	require.False(t, res.Duplicate)
	require.Equal(t, int64(13), res.BaseOffset)
	require.Equal(t, []EpochEntry{{1, 0}, {2, 13}}, l.EpochEntries())
}

func TestAppendReplicatedRollsForTheOffsetRange(t *testing.T) {
	tests := []struct {
		name    string
		far     int64 // base of the batch after the gap
		newBase int64 // base of the segment it lands in
	}{
		{"gap within range of the log end", maxRelOffset + 5, 10},
		{"gap wider than the offset range", 3 << 31, 3 << 31},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			l := openLog(t, dir, testConfig())
			sent := [][]byte{leaderBatch(0, 10, 1), leaderBatch(tt.far, 2, 1)}
			replicate(t, l, sent...)
			replicate(t, l, leaderBatch(tt.far+2, 1, 2))
			sent = append(sent, leaderBatch(tt.far+2, 1, 2))
			checkThroughRestarts(t, l, dir, testConfig(), func(l *Log) {
				require.Equal(t, []string{segmentName(0, ".log"), segmentName(tt.newBase, ".log")}, segmentFiles(t, dir))
				require.Equal(t, tt.far+3, l.EndOffset())
				require.Equal(t, bytes.Join(sent, nil), readRaw(t, l))
				data, err := l.Read(10, 1, l.EndOffset())
				require.NoError(t, err)
				h, err := batch.ParseHeader(data)
				require.NoError(t, err)
				require.Equal(t, tt.far, h.BaseOffset, "a read in the gap finds the next batch")
				require.Equal(t, []EpochEntry{{1, 0}, {2, tt.far + 2}}, l.EpochEntries())
			})
		})
	}
}

// A follower and a leader fed the same batches end with the same bytes.
func TestFollowerMatchesLeader(t *testing.T) {
	leader := openLog(t, t.TempDir(), testConfig())
	follower := openLog(t, t.TempDir(), testConfig())
	var seq int32
	for i := range 50 {
		b := batch.Build(nil, 0, t0.UnixMilli(), records(0, 1+i%3, 60), batch.WithProducer(5, 0, seq))
		seq += int32(1 + i%3)
		_, err := leader.Append(b, int32(i/10), t0)
		require.NoError(t, err)
		if i%10 == 9 {
			// Fetch what the leader has, in pieces.
			for follower.EndOffset() < leader.EndOffset() {
				data, err := leader.Read(follower.EndOffset(), 700, leader.EndOffset())
				require.NoError(t, err)
				_, err = follower.AppendReplicated(data, t0)
				require.NoError(t, err, fmt.Sprintf("at %d", follower.EndOffset()))
			}
		}
	}
	require.Equal(t, readRaw(t, leader), readRaw(t, follower))
	require.Equal(t, leader.EpochEntries(), follower.EpochEntries())
	le, ls, _ := leader.ProducerState(5)
	fe, fs, _ := follower.ProducerState(5)
	require.Equal(t, [2]int32{int32(le), ls}, [2]int32{int32(fe), fs})
}
