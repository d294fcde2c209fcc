package batch

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func addSeeds(f *testing.F) {
	seeds := seedBatches(f)
	for _, s := range seeds {
		f.Add(s)
	}
	var two []byte
	two = append(two, seeds[0]...)
	two = append(two, seeds[1]...)
	f.Add(two)
	f.Add([]byte{})
	f.Add(make([]byte, HeaderSize))
}

// FuzzValidate: Validate never panics, and a batch it accepts can be
// decoded, patched and re-validated.
func FuzzValidate(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := Validate(b)
		if err != nil {
			return
		}
		require.Equal(t, len(b), h.Size())
		_ = Records(b, func(Record) error { return nil })
		SetBaseOffset(b, 123)
		SetPartitionLeaderEpoch(b, 4)
		SetLogAppendTime(b, 55)
		h2, err := Validate(b)
		require.NoError(t, err)
		require.Equal(t, int64(123), h2.BaseOffset)
		require.Equal(t, int64(55), h2.MaxTimestamp)
		require.True(t, h2.TimestampType())
	})
}

// FuzzSplit: Split never panics, and when it succeeds the batches it yields
// tile the input exactly.
func FuzzSplit(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		total := 0
		err := Split(b, func(batch []byte) error {
			total += len(batch)
			_, _ = Validate(batch)
			return nil
		})
		if err == nil {
			require.Equal(t, len(b), total)
		}
	})
}

// FuzzRecords: Records never panics, and the records of any uncompressed
// batch it accepts survive a rebuild with Build.
func FuzzRecords(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		var recs []Record
		err := Records(b, func(r Record) error {
			recs = append(recs, r)
			return nil
		})
		if err != nil {
			return
		}
		for i := range recs {
			recs[i].OffsetDelta = int32(i)
		}
		rebuilt := Build(nil, 0, 0, recs)
		_, err = Validate(rebuilt)
		require.NoError(t, err)
		var again []Record
		require.NoError(t, Records(rebuilt, func(r Record) error {
			again = append(again, r)
			return nil
		}))
		require.Len(t, again, len(recs))
		for i := range recs {
			require.Equal(t, recs[i].Key, again[i].Key)
			require.Equal(t, recs[i].Value, again[i].Value)
			require.Equal(t, recs[i].TimestampDelta, again[i].TimestampDelta)
			require.Equal(t, len(recs[i].Headers), len(again[i].Headers))
		}
	})
}
