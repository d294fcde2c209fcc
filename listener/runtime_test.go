package listener_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kspring/kspring/listener"
)

func collect(got *seen[string]) func(context.Context, string) error {
	return func(_ context.Context, v string) error {
		got.add(v)
		return nil
	}
}

// Containers start, stop, pause and resume by id at run time; endpoints
// register and unregister after the registry started.
func TestRuntimeStartStopPauseResume(t *testing.T) {
	b := broker(t, map[string]int32{"paused": 1, "live": 1, "late": 1})
	pausedTopic, liveTopic, lateTopic := b.Topic("paused"), b.Topic("live"), b.Topic("late")
	manualStart, extraID := groupID(t, b, "manual-start"), groupID(t, b, "extra")
	s := sender(t, b.Addr())
	r := registry(t, b.Addr(), testConfig())
	var paused, live, late seen[string]
	require.NoError(t, r.Register(listener.Listen(pausedTopic, collect(&paused), listener.Topics(pausedTopic))))
	require.NoError(t, r.Register(listener.Listen(liveTopic, collect(&live), listener.Topics(liveTopic))))
	require.NoError(t, r.Register(listener.Listen(manualStart, collect(&late), listener.Topics(lateTopic), listener.AutoStartup(false))))
	start(t, r)
	require.NoError(t, r.Health())

	pc, _ := r.Container(pausedTopic)
	lc, _ := r.Container(liveTopic)
	mc, _ := r.Container(manualStart)
	require.True(t, pc.IsRunning())
	require.False(t, mc.IsRunning(), "auto-startup false")

	send(t, s, pausedTopic, 0, "", "before")
	require.Equal(t, []string{"before"}, paused.waitLen(t, 1))

	// Paused: records wait. The live container getting a record sent after
	// them shows the paused one had its chance and took nothing.
	pc.Pause()
	require.True(t, pc.IsPaused())
	send(t, s, pausedTopic, 0, "", "during")
	send(t, s, liveTopic, 0, "", "sentinel")
	live.waitLen(t, 1)
	require.Equal(t, []string{"before"}, paused.get())
	pc.Resume()
	require.False(t, pc.IsPaused())
	require.Equal(t, []string{"before", "during"}, paused.waitLen(t, 2))

	// Stopped: records wait for the next start, and none is delivered twice.
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	require.NoError(t, lc.Stop(ctx))
	require.False(t, lc.IsRunning())
	send(t, s, liveTopic, 0, "", "while-stopped")
	require.NoError(t, lc.Start(ctx))
	require.Equal(t, []string{"sentinel", "while-stopped"}, live.waitLen(t, 2))

	send(t, s, lateTopic, 0, "", "l1")
	require.NoError(t, mc.Start(ctx))
	require.Equal(t, []string{"l1"}, late.waitLen(t, 1))

	// Register after start: the container starts at once.
	var extra seen[string]
	require.NoError(t, r.Register(listener.Listen(extraID, collect(&extra), listener.Topics(lateTopic))))
	ec, ok := r.Container(extraID)
	require.True(t, ok)
	require.True(t, ec.IsRunning())
	require.Equal(t, []string{"l1"}, extra.waitLen(t, 1), "its own group starts at the beginning")

	require.NoError(t, r.Unregister(ctx, extraID))
	require.False(t, ec.IsRunning())
	_, ok = r.Container(extraID)
	require.False(t, ok)
	require.Len(t, r.Containers(), 3)
	require.NoError(t, r.Health())
}

func TestSeek(t *testing.T) {
	b := broker(t, map[string]int32{"log": 1})
	log, reader := b.Topic("log"), groupID(t, b, "reader")
	s := sender(t, b.Addr())
	send(t, s, log, 0, "", "r0", "r1", "r2", "r3", "r4")
	r := registry(t, b.Addr(), testConfig())
	var got seen[string]
	require.NoError(t, r.Register(listener.Listen(reader, collect(&got), listener.Topics(log))))
	start(t, r)
	got.waitLen(t, 5)
	c, _ := r.Container(reader)

	require.NoError(t, c.SeekToBeginning(log, 0))
	require.Equal(t, []string{"r0", "r1", "r2", "r3", "r4"}, got.waitLen(t, 10)[5:])

	require.NoError(t, c.Seek(log, 0, 3))
	require.Equal(t, []string{"r3", "r4"}, got.waitLen(t, 12)[10:])

	require.NoError(t, c.SeekToEnd(log, 0))
	eventually(t, func() error {
		if a := c.Assignments()[log]; len(a) != 1 {
			return fmt.Errorf("assigned %v", a)
		}
		return nil
	})
	send(t, s, log, 0, "", "r5")
	require.Equal(t, []string{"r5"}, got.waitLen(t, 13)[12:])

	md := sendRecordAt(t, s, log, "r6", time.Now().Add(time.Hour))
	got.waitLen(t, 14)
	require.NoError(t, c.SeekToTimestamp(log, 0, time.Now().Add(30*time.Minute)))
	require.Equal(t, []string{"r6"}, got.waitLen(t, 15)[14:])
	require.Equal(t, int64(6), md.Offset)

	require.ErrorIs(t, c.Seek(log, 7, 0), listener.ErrNotAssigned)
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	require.NoError(t, c.Stop(ctx))
	require.ErrorIs(t, c.Seek(log, 0, 0), listener.ErrNotRunning)
}

// The rebalance hooks see assignments and revocations, and the assigned
// hook can seek before any record is delivered (Spring's ConsumerSeekAware).
func TestRebalanceHooks(t *testing.T) {
	b := broker(t, map[string]int32{"log": 2})
	log, tail := b.Topic("log"), groupID(t, b, "tail")
	fill(t, b.Addr(), log, 2, 3)
	r := registry(t, b.Addr(), testConfig())
	var mu sync.Mutex
	var assigned, revoked []listener.TopicPartition
	var got seen[string]
	require.NoError(t, r.Register(listener.Listen(tail, collect(&got), listener.Topics(log),
		listener.OnPartitionsAssigned(func(_ context.Context, tps []listener.TopicPartition, s listener.Seeker) {
			mu.Lock()
			assigned = append(assigned, tps...)
			mu.Unlock()
			for _, tp := range tps {
				require.NoError(t, s.SeekToEnd(tp.Topic, tp.Partition))
			}
			require.ErrorIs(t, s.Seek("other", 0, 0), listener.ErrNotAssigned)
		}),
		listener.OnPartitionsRevoked(func(_ context.Context, tps []listener.TopicPartition) {
			mu.Lock()
			revoked = append(revoked, tps...)
			mu.Unlock()
		}))))
	start(t, r)
	c, _ := r.Container(tail)
	eventually(t, func() error {
		if a := c.Assignments()[log]; len(a) != 2 {
			return fmt.Errorf("assigned %v", a)
		}
		return nil
	})
	s := sender(t, b.Addr())
	send(t, s, log, 0, "", "new")
	require.Equal(t, []string{"new"}, got.waitLen(t, 1), "the old records were skipped")

	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	require.NoError(t, c.Stop(ctx))
	mu.Lock()
	defer mu.Unlock()
	want := []listener.TopicPartition{{Topic: log, Partition: 0}, {Topic: log, Partition: 1}}
	require.Equal(t, want, assigned)
	require.Equal(t, want, revoked)
}

// Explicit partitions (Spring's @TopicPartition) start at their initial
// offsets on every start and commit to the group.
func TestExplicitPartitions(t *testing.T) {
	b := broker(t, map[string]int32{"ledger": 3})
	ledger := b.Topic("ledger")
	fill(t, b.Addr(), ledger, 3, 5)
	r := registry(t, b.Addr(), testConfig())
	var got seen[string]
	require.NoError(t, r.Register(listener.Listen(ledger, collect(&got),
		listener.Partitions(ledger, map[int32]int64{0: 3, 1: listener.OffsetEarliest}), listener.Concurrency(2))))
	start(t, r)
	c, _ := r.Container(ledger)
	require.Equal(t, map[string][]int32{ledger: {0, 1}}, c.Assignments())
	all := got.waitLen(t, 7)
	require.ElementsMatch(t, []string{"p0-3", "p0-4", "p1-0", "p1-1", "p1-2", "p1-3", "p1-4"}, all)
	eventually(t, func() error {
		if off := committed(t, b.Addr(), ledger, ledger, 1); off != 5 {
			return fmt.Errorf("committed %d", off)
		}
		return nil
	})

	// A seek restarts the partition at the new position.
	require.NoError(t, c.Seek(ledger, 1, 4))
	require.Equal(t, []string{"p1-4"}, got.waitLen(t, 8)[7:])
	require.ErrorIs(t, c.Seek(ledger, 2, 0), listener.ErrNotAssigned)
}

// A topic pattern picks up topics created after the container started.
func TestTopicPattern(t *testing.T) {
	b := broker(t, map[string]int32{"other": 1})
	// The pattern's topics share a prefix unique to the test and run ("ev"
	// on the embedded broker), so no other topic of a shared cluster matches.
	prefix, other, events := b.Topic("ev"), b.Topic("other"), groupID(t, b, "events")
	evA, evB := topicNamed(t, b, prefix+"-a", 1), prefix+"-b"
	dropAtEnd(t, b, evB) // made after the start, gone after the stop
	s := sender(t, b.Addr())
	cfg := testConfig()
	cfg.Consumer.Properties["metadata.max.age.ms"] = "100"
	r := registry(t, b.Addr(), cfg)
	var got seen[string]
	require.NoError(t, r.Register(listener.Listen(events, collect(&got), listener.TopicPattern(regexp.QuoteMeta(prefix)+`-.*`))))
	send(t, s, evA, 0, "", "a1")
	send(t, s, other, 0, "", "o1")
	start(t, r)
	require.Equal(t, []string{"a1"}, got.waitLen(t, 1))

	createTopic(t, b, evB, 1)
	send(t, s, evB, 0, "", "b1")
	require.Equal(t, []string{"a1", "b1"}, got.waitLen(t, 2))
	c, _ := r.Container(events)
	eventually(t, func() error {
		a := c.Assignments()
		if len(a[evA]) != 1 || len(a[evB]) != 1 || len(a) != 2 {
			return fmt.Errorf("assigned %v", a)
		}
		return nil
	})
}

// Health names a container whose consumers cannot join their group.
func TestHealth(t *testing.T) {
	b := broker(t, map[string]int32{"ok": 1})
	// A prefix no topic has: "nope" on the embedded broker, unique to the
	// test and run on a shared cluster.
	nope := b.Topic("nope")
	r := registry(t, b.Addr(), testConfig())
	var got seen[string]
	require.NoError(t, r.Register(listener.Listen("nothing-matches", collect(&got), listener.TopicPattern(regexp.QuoteMeta(nope)+`-.*`))))
	start(t, r)
	eventually(t, func() error {
		if err := r.Health(); err == nil {
			return errors.New("healthy")
		}
		return nil
	})
	require.ErrorContains(t, r.Health(), `listener "nothing-matches"`)
	require.ErrorContains(t, r.Health(), "no topic matches")
}

// missing-topics-fatal refuses to start a container whose topic is missing.
func TestMissingTopicsFatal(t *testing.T) {
	b := broker(t, map[string]int32{"present": 1})
	absent := b.Topic("absent") // never created
	cfg := testConfig()
	cfg.Listener.MissingTopicsFatal = true
	r := registry(t, b.Addr(), cfg)
	require.NoError(t, r.Register(listener.Listen("a", func(context.Context, string) error { return nil }, listener.Topics(b.Topic("present"), absent))))
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	err := r.Start(ctx)
	require.ErrorIs(t, err, listener.ErrMissingTopics)
	require.ErrorContains(t, err, absent)
	c, _ := r.Container("a")
	require.False(t, c.IsRunning())
}
