package testkit

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// ConsumeN reads topic from the start of every partition, without a consumer
// group, until it has n records, and returns the first n it got (in order
// within each partition). If fewer arrive within timeout it fails the test,
// listing the records that came.
func ConsumeN(t testing.TB, addr, topic string, n int, timeout time.Duration) []Record {
	t.Helper()
	r := newReader(t, addr, topic)
	defer r.close()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	got, err := r.read(ctx, n, nil)
	if len(got) < n {
		t.Fatalf("testkit: ConsumeN: want %d records from %q at %s within %v, got %d:%s%s",
			n, topic, addr, timeout, len(got), listRecords(got), r.why(err))
	}
	return got[:n]
}

// SingleRecord returns the one record in topic, as Spring's
// KafkaTestUtils.getSingleRecord does. It waits up to WaitTimeout for a
// record, then reads to the end offsets of that moment; it fails the test if
// the topic holds no record or more than one, listing what it found.
func SingleRecord(t testing.TB, addr, topic string) Record {
	t.Helper()
	r := newReader(t, addr, topic)
	defer r.close()
	ctx, cancel := context.WithTimeout(context.Background(), WaitTimeout)
	defer cancel()
	got, err := r.read(ctx, 1, nil)
	if len(got) == 0 {
		t.Fatalf("testkit: SingleRecord: want 1 record in %q at %s within %v, got none%s",
			topic, addr, WaitTimeout, r.why(err))
	}
	more, err := r.readToEnd(ctx)
	if err != nil {
		t.Fatalf("testkit: SingleRecord: read %q at %s to its end: %v", topic, addr, err)
	}
	if got = append(got, more...); len(got) != 1 {
		t.Fatalf("testkit: SingleRecord: want 1 record in %q at %s, got %d:%s", topic, addr, len(got), listRecords(got))
	}
	return got[0]
}

// Records returns every record topic holds now: it reads each partition from
// its start to the end offset of the moment it is called, without waiting
// for more. It fails the test if topic does not exist or the read does not
// finish within WaitTimeout.
func Records(t testing.TB, addr, topic string) []Record {
	t.Helper()
	r := newReader(t, addr, topic)
	defer r.close()
	ctx, cancel := context.WithTimeout(context.Background(), WaitTimeout)
	defer cancel()
	got, err := r.readToEnd(ctx)
	if err != nil {
		t.Fatalf("testkit: Records: read %q at %s: %v (read so far:%s)", topic, addr, err, listRecords(got))
	}
	return got
}

// CommittedRecords is Records for a reader with isolation.level
// read_committed: it returns the records of committed transactions and
// those written outside transactions, never those of aborted ones, reading
// each partition to its last stable offset of the moment it is called. It
// fails the test if topic does not exist or the read does not finish within
// WaitTimeout.
func CommittedRecords(t testing.TB, addr, topic string) []Record {
	t.Helper()
	r := newReader(t, addr, topic, kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	r.committed = true
	defer r.close()
	ctx, cancel := context.WithTimeout(context.Background(), WaitTimeout)
	defer cancel()
	got, err := r.readToEnd(ctx)
	if err != nil {
		t.Fatalf("testkit: CommittedRecords: read %q at %s: %v (read so far:%s)", topic, addr, err, listRecords(got))
	}
	return got
}

// CommittedRecordsSettled is CommittedRecords once no transaction is open
// on topic: it waits, up to WaitTimeout, until every partition's last
// stable offset has reached its end offset, then reads. A producer's commit
// returns once the coordinator has decided, and the markers that make the
// records readable follow (as in Kafka), so a test reading right after a
// commit wants this. It fails the test if a transaction stays open.
func CommittedRecordsSettled(t testing.TB, addr, topic string) []Record {
	t.Helper()
	cl := newClient(t, addr)
	defer cl.Close()
	adm := kadm.NewClient(cl)
	Eventually(t, WaitTimeout, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		ends, err := adm.ListEndOffsets(ctx, topic)
		if err == nil {
			err = ends.Error()
		}
		if err != nil {
			return fmt.Errorf("end offsets of %q: %w", topic, err)
		}
		stable, err := adm.ListCommittedOffsets(ctx, topic)
		if err == nil {
			err = stable.Error()
		}
		if err != nil {
			return fmt.Errorf("last stable offsets of %q: %w", topic, err)
		}
		var open error
		ends.Each(func(o kadm.ListedOffset) {
			if s, ok := stable.Lookup(o.Topic, o.Partition); !ok || s.Offset < o.Offset {
				open = fmt.Errorf("%s-%d: a transaction is open (last stable offset %d, end offset %d)", o.Topic, o.Partition, s.Offset, o.Offset)
			}
		})
		return open
	})
	return CommittedRecords(t, addr, topic)
}

// reader consumes one topic from the start of every partition, without a
// group. It keeps control records (transaction markers) internally so it
// knows its position, and hands out data records only.
type reader struct {
	topic     string
	cl        *kgo.Client
	next      map[int32]int64 // partition -> offset after the last record seen
	committed bool            // read_committed: read to the last stable offsets
}

func newReader(t testing.TB, addr, topic string, opts ...kgo.Opt) *reader {
	t.Helper()
	cl := newClient(t, addr, append([]kgo.Opt{
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.KeepControlRecords(),
		kgo.FetchMaxWait(500 * time.Millisecond),
	}, opts...)...)
	return &reader{topic: topic, cl: cl, next: map[int32]int64{}}
}

func (r *reader) close() { r.cl.Close() }

// read polls until it has n data records (n < 0: no limit), done reports
// true, or ctx ends. It returns the records and the last fetch error.
func (r *reader) read(ctx context.Context, n int, done func() bool) ([]Record, error) {
	var got []Record
	var lastErr error
	for (n < 0 || len(got) < n) && (done == nil || !done()) {
		fs := r.cl.PollFetches(ctx)
		if ctx.Err() != nil {
			break
		}
		fs.EachError(func(_ string, _ int32, err error) {
			if !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
				lastErr = err
			}
		})
		fs.EachRecord(func(kr *kgo.Record) {
			r.next[kr.Partition] = max(r.next[kr.Partition], kr.Offset+1)
			if !kr.Attrs.IsControl() {
				got = append(got, fromKgo(kr))
			}
		})
	}
	if ctx.Err() != nil && lastErr == nil {
		lastErr = ctx.Err()
	}
	return got, lastErr
}

// readToEnd reads on until every partition is read to the end offset it has
// now.
func (r *reader) readToEnd(ctx context.Context) ([]Record, error) {
	adm := kadm.NewClient(r.cl)
	starts, err := adm.ListStartOffsets(ctx, r.topic)
	if err == nil {
		err = starts.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("start offsets: %w", err)
	}
	list := adm.ListEndOffsets
	if r.committed {
		list = adm.ListCommittedOffsets // the last stable offsets
	}
	ends, err := list(ctx, r.topic)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("end offsets: %w", err)
	}
	want := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		if s, ok := starts.Lookup(o.Topic, o.Partition); !ok || o.Offset > s.Offset {
			want[o.Partition] = o.Offset
		}
	})
	caughtUp := func() bool {
		for p, end := range want {
			if r.next[p] < end {
				return false
			}
		}
		return true
	}
	got, err := r.read(ctx, -1, caughtUp)
	if !caughtUp() {
		return got, fmt.Errorf("not at the end offsets %v (at %v): %w", want, r.next, err)
	}
	return got, nil
}

// why explains a read that came up short: the fetch error, and whether the
// topic exists at all.
func (r *reader) why(err error) string {
	var s string
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		s = fmt.Sprintf(" (last error: %v)", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	details, lerr := kadm.NewClient(r.cl).ListTopics(ctx, r.topic)
	if lerr == nil && !details.Has(r.topic) {
		s += fmt.Sprintf(" (topic %q does not exist)", r.topic)
	} else if lerr == nil && details[r.topic].Err != nil {
		s += fmt.Sprintf(" (topic %q: %v)", r.topic, details[r.topic].Err)
	}
	return s
}
