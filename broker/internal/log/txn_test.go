package log

import (
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kspring/kspring/broker/internal/batch"
)

// txnProduce appends n transactional records of size bytes from producer
// pid.
func txnProduce(t testing.TB, l *Log, pid int64, epoch int16, seq int32, n, size int) AppendResult {
	t.Helper()
	b := batch.Build(nil, 0, t0.UnixMilli(), records(l.EndOffset(), n, size),
		batch.WithProducer(pid, epoch, seq), batch.WithTransactional())
	res, err := l.Append(b, 3, t0)
	require.NoError(t, err)
	return res
}

// endTxn writes producer pid's marker and returns its offset.
func endTxn(t testing.TB, l *Log, pid int64, epoch int16, commit bool) int64 {
	t.Helper()
	res, err := l.AppendMarker(Marker{ProducerID: pid, ProducerEpoch: epoch, Commit: commit, CoordinatorEpoch: 5}, 3, t0)
	require.NoError(t, err)
	require.Equal(t, res.BaseOffset, res.LastOffset)
	return res.BaseOffset
}

// TestLastStableOffset: the LSO is the first offset of the oldest
// transaction that is open, or decided by a marker the high watermark has
// not passed, capped by the high watermark.
func TestLastStableOffset(t *testing.T) {
	type step struct {
		op      string // "data" (plain), "txn", "commit", "abort"
		pid     int64
		n       int
		hw      int64 // -1: the log end
		wantLSO int64
	}
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"no transactions", []step{
			{op: "data", pid: -1, n: 5, hw: -1, wantLSO: 5},
			{op: "data", pid: -1, n: 5, hw: 7, wantLSO: 7},
		}},
		{"open transaction holds the LSO", []step{
			{op: "data", pid: -1, n: 3, hw: -1, wantLSO: 3},
			{op: "txn", pid: 1, n: 4, hw: -1, wantLSO: 3},
			{op: "data", pid: -1, n: 2, hw: -1, wantLSO: 3},
			{op: "txn", pid: 1, n: 1, hw: 2, wantLSO: 2}, // capped by the HW
		}},
		{"commit below the HW frees it", []step{
			{op: "txn", pid: 1, n: 4, hw: -1, wantLSO: 0},
			{op: "commit", pid: 1, hw: 4, wantLSO: 0}, // marker at 4, HW not past it
			{op: "data", pid: -1, n: 1, hw: -1, wantLSO: 6},
		}},
		{"interleaved transactions", []step{
			{op: "txn", pid: 1, n: 2, hw: -1, wantLSO: 0},
			{op: "txn", pid: 2, n: 2, hw: -1, wantLSO: 0},
			{op: "abort", pid: 1, hw: -1, wantLSO: 2},
			{op: "txn", pid: 1, n: 2, hw: -1, wantLSO: 2},
			{op: "commit", pid: 2, hw: -1, wantLSO: 5},
			{op: "commit", pid: 1, hw: -1, wantLSO: 9},
		}},
		{"a marker with nothing open", []step{
			{op: "abort", pid: 3, hw: 0, wantLSO: 0},
			{op: "data", pid: -1, n: 1, hw: -1, wantLSO: 2},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := openLog(t, t.TempDir(), testConfig())
			seqs := map[int64]int32{}
			for i, s := range tc.steps {
				switch s.op {
				case "data":
					appendRecords(t, l, s.n, 10, t0.UnixMilli())
				case "txn":
					txnProduce(t, l, s.pid, 0, seqs[s.pid], s.n, 10)
					seqs[s.pid] += int32(s.n)
				case "commit", "abort":
					endTxn(t, l, s.pid, 0, s.op == "commit")
				}
				hw := s.hw
				if hw < 0 {
					hw = l.EndOffset()
				}
				require.Equal(t, s.wantLSO, l.LastStableOffset(hw), "step %d (%s)", i, s.op)
			}
		})
	}
}

// TestAbortedIndexAcrossSegmentRolls: aborted transactions spanning
// segment rolls are listed for the fetch ranges that overlap them, from
// the index of the segment holding the marker, through clean and unclean
// restarts.
func TestAbortedIndexAcrossSegmentRolls(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig() // 4 KiB segments: a 10 x 200-byte batch fills half of one
	l := openLog(t, dir, cfg)

	var seq1, seq2 int32
	first1 := txnProduce(t, l, 1, 0, seq1, 10, 200).BaseOffset // 0..9
	seq1 += 10
	first2 := txnProduce(t, l, 2, 0, seq2, 10, 200).BaseOffset // 10..19
	seq2 += 10
	txnProduce(t, l, 1, 0, seq1, 10, 200) // 20..29, another segment
	seq1 += 10
	abort1 := endTxn(t, l, 1, 0, false) // 30
	appendRecords(t, l, 10, 200, t0.UnixMilli())
	commit2 := endTxn(t, l, 2, 0, true)
	first3 := txnProduce(t, l, 1, 0, seq1, 10, 200).BaseOffset
	abort3 := endTxn(t, l, 1, 0, false)
	require.Greater(t, len(segmentFiles(t, dir)), 2, "the transactions span segments")

	a1 := AbortedTxn{ProducerID: 1, FirstOffset: first1, LastOffset: abort1, LastStableOffset: first2}
	a3 := AbortedTxn{ProducerID: 1, FirstOffset: first3, LastOffset: abort3, LastStableOffset: abort3 + 1}
	checkThroughRestarts(t, l, dir, cfg, func(l *Log) {
		t.Helper()
		for _, tc := range []struct {
			from, upTo int64
			want       []AbortedTxn
		}{
			{0, 5, []AbortedTxn{a1}},
			{25, 31, []AbortedTxn{a1}},
			{abort1, commit2, []AbortedTxn{a1}},
			{abort1 + 1, first3, nil},
			{abort1 + 1, first3 + 1, []AbortedTxn{a3}},
			{0, l.EndOffset(), []AbortedTxn{a1, a3}},
			{abort3 + 1, l.EndOffset(), nil},
		} {
			require.Equal(t, tc.want, l.AbortedTransactions(tc.from, tc.upTo), "[%d, %d)", tc.from, tc.upTo)
		}
		require.Equal(t, l.EndOffset(), l.LastStableOffset(l.EndOffset()))
		_, open := l.FirstUnstableOffset()
		require.False(t, open)
	})

	// The entries are in the index files of the markers' segments.
	for _, base := range []int64{abort1, abort3} {
		l.mu.RLock()
		seg := l.segs[l.segmentFor(base)]
		l.mu.RUnlock()
		b, err := os.ReadFile(seg.txnPath())
		require.NoError(t, err)
		entries, torn, err := ParseTxnIndex(b)
		require.NoError(t, err)
		require.False(t, torn)
		require.Contains(t, entries, map[int64]AbortedTxn{abort1: a1, abort3: a3}[base])
	}
}

// TestOpenTransactionSurvivesRestart: an open transaction holds the LSO
// after a clean close and after a crash, with or without a snapshot, and
// its abort marker later lists it from its first offset.
func TestOpenTransactionSurvivesRestart(t *testing.T) {
	for _, tc := range []struct {
		name  string
		close func(t *testing.T, l *Log, dir string)
	}{
		{"clean close", func(t *testing.T, l *Log, _ string) { require.NoError(t, l.Close()) }},
		{"crash", func(t *testing.T, l *Log, _ string) { crash(t, l) }},
		{"crash without snapshots", func(t *testing.T, l *Log, dir string) { crash(t, l); removeSnapshots(t, dir) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := testConfig()
			l := openLog(t, dir, cfg)
			appendRecords(t, l, 5, 200, t0.UnixMilli())
			first := txnProduce(t, l, 9, 1, 0, 10, 200).BaseOffset
			for range 3 {
				appendRecords(t, l, 10, 200, t0.UnixMilli()) // rolls and snapshots past the open transaction
			}
			tc.close(t, l, dir)

			l = openLog(t, dir, cfg)
			end := l.EndOffset()
			require.Equal(t, first, l.LastStableOffset(end))
			got, open := l.FirstUnstableOffset()
			require.True(t, open)
			require.Equal(t, first, got)
			// Not expired with the other producers' state: only a marker ends it.
			l.mu.Lock()
			l.expireProducers(t0.Add(1000 * time.Hour))
			l.mu.Unlock()

			// The producer continues its sequence in the same transaction.
			txnProduce(t, l, 9, 1, 10, 1, 10)
			abort := endTxn(t, l, 9, 1, false)
			require.Equal(t, l.EndOffset(), l.LastStableOffset(l.EndOffset()))
			require.Equal(t, []AbortedTxn{{ProducerID: 9, FirstOffset: first, LastOffset: abort, LastStableOffset: abort + 1}},
				l.AbortedTransactions(0, l.EndOffset()))
		})
	}
}

// TestTruncateUndoesMarkers: truncating a follower below a marker reopens
// its transaction and drops its aborted-index entry, through restarts;
// below the transaction's first batch, nothing of it is left.
func TestTruncateUndoesMarkers(t *testing.T) {
	cfg := testConfig()
	setup := func(t *testing.T) (l *Log, dir string, first, abort int64) {
		dir = t.TempDir()
		l = openLog(t, dir, cfg)
		appendRecords(t, l, 3, 200, t0.UnixMilli())
		first = txnProduce(t, l, 4, 0, 0, 10, 200).BaseOffset
		appendRecords(t, l, 10, 200, t0.UnixMilli())
		abort = endTxn(t, l, 4, 0, false)
		appendRecords(t, l, 10, 200, t0.UnixMilli())
		require.Len(t, l.AbortedTransactions(0, l.EndOffset()), 1)
		return l, dir, first, abort
	}
	t.Run("below the marker", func(t *testing.T) {
		l, dir, first, abort := setup(t)
		require.NoError(t, l.Truncate(abort))
		checkThroughRestarts(t, l, dir, cfg, func(l *Log) {
			t.Helper()
			require.Empty(t, l.AbortedTransactions(0, l.EndOffset()))
			require.Equal(t, first, l.LastStableOffset(l.EndOffset()))
		})
	})
	t.Run("below the transaction", func(t *testing.T) {
		l, dir, first, _ := setup(t)
		require.NoError(t, l.Truncate(first))
		checkThroughRestarts(t, l, dir, cfg, func(l *Log) {
			t.Helper()
			require.Equal(t, first, l.EndOffset())
			require.Equal(t, first, l.LastStableOffset(first))
			_, open := l.FirstUnstableOffset()
			require.False(t, open)
			require.Empty(t, l.AbortedTransactions(0, l.EndOffset()))
		})
	})
}

// TestTransactionalProducerChecks: epochs fence data and markers as in
// Kafka; a marker may raise the epoch; a producer with an open transaction
// cannot write outside it; clients cannot write control batches.
func TestTransactionalProducerChecks(t *testing.T) {
	l := openLog(t, t.TempDir(), testConfig())
	txnProduce(t, l, 1, 2, 0, 3, 10)

	plain := batch.Build(nil, 0, t0.UnixMilli(), records(0, 1, 10), batch.WithProducer(1, 2, 3))
	_, err := l.Append(plain, 3, t0)
	require.ErrorIs(t, err, ErrInvalidTxnState)

	_, err = l.AppendMarker(Marker{ProducerID: 1, ProducerEpoch: 1, Commit: true}, 3, t0)
	require.ErrorIs(t, err, ErrInvalidProducerEpoch, "a marker from an older epoch")

	// The coordinator fences the producer: abort with a bumped epoch.
	endTxn(t, l, 1, 3, false)
	epoch, _, ok := l.ProducerState(1)
	require.True(t, ok)
	require.Equal(t, int16(3), epoch)
	old := batch.Build(nil, 0, t0.UnixMilli(), records(0, 1, 10), batch.WithProducer(1, 2, 3), batch.WithTransactional())
	_, err = l.Append(old, 3, t0)
	require.ErrorIs(t, err, ErrInvalidProducerEpoch, "the zombie's data")
	txnProduce(t, l, 1, 3, 0, 1, 10) // the new epoch starts at sequence 0

	ctl := markerBatch(Marker{ProducerID: 1, ProducerEpoch: 3, Commit: true}, t0.UnixMilli())
	_, err = l.Append(ctl, 3, t0)
	require.ErrorIs(t, err, batch.ErrInvalid)
}

// TestReplicatedMarkers: a follower that replicates a leader's batches,
// markers included, has the same transaction state and aborted index.
func TestReplicatedMarkers(t *testing.T) {
	leader := openLog(t, t.TempDir(), testConfig())
	txnProduce(t, leader, 1, 0, 0, 5, 100)
	txnProduce(t, leader, 2, 0, 0, 5, 100)
	endTxn(t, leader, 1, 0, false)
	appendRecords(t, leader, 5, 100, t0.UnixMilli())

	dir := t.TempDir()
	follower := openLog(t, dir, testConfig())
	_, err := follower.AppendReplicated(readRaw(t, leader), t0)
	require.NoError(t, err)
	for _, l := range []*Log{leader, follower} {
		require.Equal(t, int64(5), l.LastStableOffset(l.EndOffset()), "producer 2's transaction is open")
		require.Len(t, l.AbortedTransactions(0, l.EndOffset()), 1)
	}
	require.Equal(t, leader.AbortedTransactions(0, leader.EndOffset()), follower.AbortedTransactions(0, follower.EndOffset()))

	endTxn(t, leader, 2, 0, true)
	data, err := leader.Read(follower.EndOffset(), 1<<20, leader.EndOffset())
	require.NoError(t, err)
	_, err = follower.AppendReplicated(data, t0)
	require.NoError(t, err)
	require.Equal(t, follower.EndOffset(), follower.LastStableOffset(follower.EndOffset()))

	// A follower nobody reads from forgets decided transactions once its
	// high watermark passes their markers, at its next transactional write.
	follower.NoteHighWatermark(follower.EndOffset())
	txnProduce(t, leader, 3, 0, 0, 1, 10)
	data, err = leader.Read(follower.EndOffset(), 1<<20, leader.EndOffset())
	require.NoError(t, err)
	_, err = follower.AppendReplicated(data, t0)
	require.NoError(t, err)
	follower.mu.RLock()
	require.Empty(t, follower.txns.decided)
	follower.mu.RUnlock()
	require.Equal(t, int64(1), follower.txnOpen.Load(), "producer 3's transaction")
}

// TestRetentionKeepsOpenTransaction: retention deletes no segment holding
// part of an open transaction, nor any after it.
func TestRetentionKeepsOpenTransaction(t *testing.T) {
	cfg := testConfig()
	cfg.RetentionMs = time.Hour
	l := openLog(t, t.TempDir(), cfg)
	appendRecords(t, l, 10, 200, t0.UnixMilli())
	first := txnProduce(t, l, 1, 0, 0, 10, 200).BaseOffset
	for range 4 {
		appendRecords(t, l, 10, 200, t0.UnixMilli())
	}
	require.NoError(t, l.Maintain(t0.Add(2*time.Hour)))
	require.LessOrEqual(t, l.StartOffset(), first, "the open transaction's records stay")
	require.Greater(t, l.StartOffset(), int64(0), "what precedes it goes")

	endTxn(t, l, 1, 0, true)
	require.NoError(t, l.Maintain(t0.Add(2*time.Hour)))
	require.Greater(t, l.StartOffset(), first)
}

// TestCompactTransactions: the cleaner drops aborted transactions' records,
// compacts committed ones like any others, and keeps markers as they are.
func TestCompactTransactions(t *testing.T) {
	cfg := compactConfig()
	l := openLog(t, t.TempDir(), cfg)
	ts := t0.UnixMilli()
	txn := func(pid int64, seq int32, recs ...kvRecord) []kvRecord {
		return appendKV(t, l, recs, batch.WithProducer(pid, 0, seq), batch.WithTransactional())
	}
	plain := appendKV(t, l, []kvRecord{kv(ts, "a", []byte("a0")), kv(ts, "b", []byte("b0"))})
	aborted := txn(1, 0, kv(ts, "a", []byte("a-aborted")), kv(ts, "c", []byte("c-aborted")))
	endTxn(t, l, 1, 0, false)
	committed := txn(2, 0, kv(ts, "b", []byte("b1")), kv(ts, "d", []byte("d1")))
	endTxn(t, l, 2, 0, true)
	rollActive(t, l)
	open := txn(3, 0, kv(ts, "d", []byte("d-open")))
	rollActive(t, l)
	appendKV(t, l, []kvRecord{kv(ts, "z", []byte("z"))})

	st := compact(t, l, t0.Add(time.Minute))
	require.Equal(t, int64(2), st.AbortedDropped)
	require.Zero(t, st.MarkersDropped, "markers outlive their records by delete.retention.ms")
	got, markers := readTxnLog(t, l)
	// a0 survives: the aborted a is no newer value; b1 supersedes b0.
	require.Equal(t, []string{"a=a0", "b=b1", "d=d1", "d=d-open", "z=z"}, got)
	require.Equal(t, 2, markers)
	require.Equal(t, []AbortedTxn{{ProducerID: 1, FirstOffset: aborted[0].offset, LastOffset: aborted[1].offset + 1, LastStableOffset: aborted[1].offset + 2}},
		l.AbortedTransactions(0, l.EndOffset()), "the index outlives the clean")
	require.Equal(t, open[0].offset, l.LastStableOffset(l.EndOffset()))

	// Past delete.retention.ms the aborted transaction's marker, whose
	// records are gone, goes; the committed one's, with records left, stays.
	st = compact(t, l, t0.Add(2*time.Hour))
	require.Equal(t, int64(1), st.MarkersDropped)
	got, markers = readTxnLog(t, l)
	require.Equal(t, []string{"a=a0", "b=b1", "d=d1", "d=d-open", "z=z"}, got)
	require.Equal(t, 1, markers)
	_ = plain
	_ = committed
}

// readTxnLog reads a log's records as key=value, and counts its markers.
func readTxnLog(t *testing.T, l *Log) (got []string, markers int) {
	t.Helper()
	next, end := l.StartOffset(), l.EndOffset()
	for next < end {
		data, err := l.Read(next, 1<<20, end)
		require.NoError(t, err)
		require.NoError(t, batch.Split(data, func(b []byte) error {
			h, err := batch.VerifyChecksum(b)
			require.NoError(t, err)
			next = h.LastOffset() + 1
			if h.IsControl() {
				markers++
				kind, err := markerKind(b)
				require.NoError(t, err)
				require.NotEqual(t, ctlNone, kind)
				return nil
			}
			require.Equal(t, h.ProducerID >= 1, h.IsTransactional(), "batch at %d keeps its transactional bit", h.BaseOffset)
			return batch.Records(b, func(r batch.Record) error {
				got = append(got, string(r.Key)+"="+string(r.Value))
				return nil
			})
		}))
	}
	return got, markers
}
