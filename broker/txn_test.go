package broker_test

// Transactions' data plane over the wire: transactional batches produced
// by hand (raw Produce with the transactional bit), markers written with
// WriteTxnMarkers, and what read_committed and read_uncommitted consumers
// (franz-go, sarama, raw fetches) see.

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kspring/kspring/broker"
	"github.com/kspring/kspring/broker/internal/batch"
)

// txnProducer is a producer id used by hand: transactional batches and
// their sequence.
type txnProducer struct {
	id    int64
	epoch int16
	seq   int32
}

func newTxnProducer(t testing.TB, c *wireConn) *txnProducer {
	t.Helper()
	id, epoch := initProducerID(t, c)
	return &txnProducer{id: id, epoch: epoch}
}

// send produces vals as one transactional batch and returns its base offset.
func (p *txnProducer) send(t testing.TB, c *wireConn, topic string, vals ...string) int64 {
	t.Helper()
	b := batch.Build(nil, 0, time.Now().UnixMilli(), values(vals...),
		batch.WithProducer(p.id, p.epoch, p.seq), batch.WithTransactional())
	sp := produceRaw(t, c, topic, 0, b)
	requireCode(t, nil, sp.ErrorCode, "transactional produce")
	p.seq += int32(len(vals))
	return sp.BaseOffset
}

// writeMarkers ends p's transaction on partitions of topic with a
// WriteTxnMarkers request and returns each partition's code.
func writeMarkers(t testing.TB, c *wireConn, p *txnProducer, commit bool, topic string, partitions ...int32) []int16 {
	t.Helper()
	req := kmsg.NewPtrWriteTxnMarkersRequest()
	req.SetVersion(1)
	m := kmsg.NewWriteTxnMarkersRequestMarker()
	m.ProducerID, m.ProducerEpoch, m.Committed, m.CoordinatorEpoch = p.id, p.epoch, commit, 1
	m.Topics = []kmsg.WriteTxnMarkersRequestMarkerTopic{{Topic: topic, Partitions: partitions}}
	req.Markers = append(req.Markers, m)
	resp := c.do(req).(*kmsg.WriteTxnMarkersResponse)
	require.Len(t, resp.Markers, 1)
	require.Equal(t, p.id, resp.Markers[0].ProducerID)
	require.Len(t, resp.Markers[0].Topics, 1)
	var codes []int16
	for _, sp := range resp.Markers[0].Topics[0].Partitions {
		codes = append(codes, sp.ErrorCode)
	}
	return codes
}

func endTxn(t testing.TB, c *wireConn, p *txnProducer, commit bool, topic string) {
	t.Helper()
	for _, code := range writeMarkers(t, c, p, commit, topic, 0) {
		requireCode(t, nil, code, "write marker")
	}
}

// plain produces vals as one non-transactional batch.
func plain(t testing.TB, c *wireConn, topic string, vals ...string) int64 {
	t.Helper()
	sp := produceRaw(t, c, topic, 0, batch.Build(nil, 0, time.Now().UnixMilli(), values(vals...)))
	requireCode(t, nil, sp.ErrorCode, "produce")
	return sp.BaseOffset
}

// kgoValues consumes partition 0 of topic from the start with franz-go at
// the isolation level until it has n records, and returns their values.
func kgoValues(t testing.TB, addr, topic string, level kgo.IsolationLevel, n int) []string {
	t.Helper()
	cl := newKgo(t, addr, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(level), kgo.FetchMaxWait(100*time.Millisecond))
	var out []string
	for _, r := range pollN(t, cl, n) {
		out = append(out, string(r.Value))
	}
	return out
}

// saramaValues consumes partition 0 of topic from the start with sarama
// at the isolation level until it sees last, and returns the values.
func saramaValues(t testing.TB, addr, topic string, level sarama.IsolationLevel, last string) []string {
	t.Helper()
	cfg := sarama.NewConfig()
	cfg.Version = sarama.V2_8_0_0
	cfg.Consumer.IsolationLevel = level
	cfg.Consumer.MaxWaitTime = 100 * time.Millisecond
	cons, err := sarama.NewConsumer([]string{addr}, cfg)
	require.NoError(t, err)
	defer func() { require.NoError(t, cons.Close()) }()
	pc, err := cons.ConsumePartition(topic, 0, sarama.OffsetOldest)
	require.NoError(t, err)
	defer func() { require.NoError(t, pc.Close()) }()
	ctx := testCtx(t)
	var out []string
	for {
		select {
		case m := <-pc.Messages():
			out = append(out, string(m.Value))
			if string(m.Value) == last {
				return out
			}
		case err := <-pc.Errors():
			t.Fatalf("sarama consume: %v", err)
		case <-ctx.Done():
			t.Fatalf("sarama: %v not seen; got %v", last, out)
		}
	}
}

// TestReadCommittedHidesAbortedTransactions: records of an aborted
// transaction reach read_uncommitted consumers only; committed ones reach
// both, in offset order, with franz-go, sarama and raw fetches.
func TestReadCommittedHidesAbortedTransactions(t *testing.T) {
	b := startBroker(t)
	createTopic(t, b.Addr(), "txn", 1, nil)
	c := dialWire(t, b.Addr())
	pa, pb := newTxnProducer(t, c), newTxnProducer(t, c)

	plain(t, c, "txn", "before")
	aborted := pa.send(t, c, "txn", "aborted-1", "aborted-2")
	pb.send(t, c, "txn", "committed-1")
	plain(t, c, "txn", "middle")
	pa.send(t, c, "txn", "aborted-3")
	endTxn(t, c, pa, false, "txn")
	pb.send(t, c, "txn", "committed-2")
	endTxn(t, c, pb, true, "txn")
	plain(t, c, "txn", "after")

	all := []string{"before", "aborted-1", "aborted-2", "committed-1", "middle", "aborted-3", "committed-2", "after"}
	committed := []string{"before", "committed-1", "middle", "committed-2", "after"}
	require.Equal(t, committed, kgoValues(t, b.Addr(), "txn", kgo.ReadCommitted(), len(committed)))
	require.Equal(t, all, kgoValues(t, b.Addr(), "txn", kgo.ReadUncommitted(), len(all)))
	require.Equal(t, committed, saramaValues(t, b.Addr(), "txn", sarama.ReadCommitted, "after"))
	require.Equal(t, all, saramaValues(t, b.Addr(), "txn", sarama.ReadUncommitted, "after"))
	t.Run("kcat", func(t *testing.T) {
		for _, tc := range []struct {
			level string
			want  []string
		}{{"read_committed", committed}, {"read_uncommitted", all}} {
			out := kcat(t, "", "-C", "-b", b.Addr(), "-t", "txn", "-p", "0", "-o", "beginning", "-e",
				"-X", "isolation.level="+tc.level, "-f", "%s\n")
			require.Equal(t, tc.want, strings.Fields(out), tc.level)
		}
	})

	// The raw fetch: read_committed gets the aborted transaction, from its
	// first offset; read_uncommitted gets a null list.
	for _, tc := range []struct {
		isolation int8
		want      []kmsg.FetchResponseTopicPartitionAbortedTransaction
	}{
		{1, []kmsg.FetchResponseTopicPartitionAbortedTransaction{{ProducerID: pa.id, FirstOffset: aborted}}},
		{0, nil},
	} {
		req := fetchReq("txn", 1<<20, fetchPart{Partition: 0, Offset: 0, MaxBytes: 1 << 20})
		req.IsolationLevel = tc.isolation
		sp := c.do(req).(*kmsg.FetchResponse).Topics[0].Partitions[0]
		requireCode(t, nil, sp.ErrorCode)
		require.Equal(t, tc.want, sp.AbortedTransactions, "isolation %d", tc.isolation)
		require.Equal(t, sp.HighWatermark, sp.LastStableOffset)
		hs, _ := decodeBatches(t, sp.RecordBatches)
		require.Equal(t, 2, countFunc(hs, batch.Header.IsControl), "both markers are sent, as Kafka sends them")
	}
}

func countFunc[T any](s []T, f func(T) bool) int {
	n := 0
	for _, v := range s {
		if f(v) {
			n++
		}
	}
	return n
}

// TestLastStableOffsetBlocksReadCommitted: an open transaction stops
// read_committed consumers at its first offset (fetch and ListOffsets),
// while read_uncommitted ones read on; its commit wakes a read_committed
// consumer waiting in its long poll.
func TestLastStableOffsetBlocksReadCommitted(t *testing.T) {
	b := startBroker(t)
	createTopic(t, b.Addr(), "lso", 1, nil)
	c := dialWire(t, b.Addr())
	p := newTxnProducer(t, c)

	plain(t, c, "lso", "stable")
	open := p.send(t, c, "lso", "open-1")
	plain(t, c, "lso", "after-open")

	for _, tc := range []struct {
		isolation int8
		want      int64
	}{{1, open}, {0, open + 2}} {
		req := kmsg.NewPtrListOffsetsRequest()
		req.SetVersion(7)
		req.ReplicaID, req.IsolationLevel = -1, tc.isolation
		rp := kmsg.NewListOffsetsRequestTopicPartition()
		rp.Partition, rp.Timestamp, rp.CurrentLeaderEpoch = 0, -1, -1
		req.Topics = []kmsg.ListOffsetsRequestTopic{{Topic: "lso", Partitions: []kmsg.ListOffsetsRequestTopicPartition{rp}}}
		sp := c.do(req).(*kmsg.ListOffsetsResponse).Topics[0].Partitions[0]
		requireCode(t, nil, sp.ErrorCode)
		require.Equal(t, tc.want, sp.Offset, "latest offset at isolation %d", tc.isolation)
	}

	req := fetchReq("lso", 1<<20, fetchPart{Partition: 0, Offset: 0, MaxBytes: 1 << 20})
	req.IsolationLevel = 1
	sp := c.do(req).(*kmsg.FetchResponse).Topics[0].Partitions[0]
	requireCode(t, nil, sp.ErrorCode)
	require.Equal(t, open, sp.LastStableOffset)
	require.Equal(t, open+2, sp.HighWatermark)
	_, recs := decodeBatches(t, sp.RecordBatches)
	require.Equal(t, []string{"stable"}, valuesOf(recs))

	// A read_committed consumer gets the stable record, then waits.
	cl := newKgo(t, b.Addr(), kgo.ConsumeTopics("lso"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	got := pollN(t, cl, 1)
	require.Equal(t, "stable", string(got[0].Value))
	require.Len(t, got, 1)

	// A raw read_committed long poll at the LSO is woken by the commit.
	wait := fetchReq("lso", 1<<20, fetchPart{Partition: 0, Offset: open, MaxBytes: 1 << 20})
	wait.IsolationLevel, wait.MinBytes, wait.MaxWaitMillis = 1, 1, int32(waitFor/time.Millisecond)
	c2 := dialWire(t, b.Addr())
	corr := c2.send(wait)
	endTxn(t, c, p, true, "lso")
	woken := c2.recv(wait, corr).(*kmsg.FetchResponse).Topics[0].Partitions[0]
	requireCode(t, nil, woken.ErrorCode)
	_, recs = decodeBatches(t, woken.RecordBatches)
	require.Contains(t, valuesOf(recs), "open-1")

	var rest []string
	for _, r := range pollN(t, cl, 2) {
		rest = append(rest, string(r.Value))
	}
	require.Equal(t, []string{"open-1", "after-open"}, rest)
}

// TestWriteTxnMarkersErrors: per-partition codes for partitions the broker
// does not have, and markers and data from a fenced producer epoch; a
// marker with a bumped epoch fences the producer's older epoch.
func TestWriteTxnMarkersErrors(t *testing.T) {
	b := startBroker(t)
	createTopic(t, b.Addr(), "m", 1, nil)
	c := dialWire(t, b.Addr())
	p := newTxnProducer(t, c)
	p.send(t, c, "m", "x")

	requireCode(t, kerr.UnknownTopicOrPartition, writeMarkers(t, c, p, true, "missing", 0)[0])
	codes := writeMarkers(t, c, p, true, "m", 5, 0)
	requireCode(t, kerr.UnknownTopicOrPartition, codes[0], "partition 5 of a 1-partition topic")
	requireCode(t, nil, codes[1], "partition 0 of the same request")
	p.send(t, c, "m", "y")

	// The coordinator aborts with a bumped epoch (a timeout or a new
	// instance of the producer): the old epoch is fenced.
	old := *p
	p.epoch++
	endTxn(t, c, p, false, "m")
	requireCode(t, kerr.InvalidProducerEpoch, writeMarkers(t, c, &old, true, "m", 0)[0])
	sp := produceRaw(t, c, "m", 0, batch.Build(nil, 0, time.Now().UnixMilli(), values("zombie"),
		batch.WithProducer(old.id, old.epoch, old.seq), batch.WithTransactional()))
	requireCode(t, kerr.InvalidProducerEpoch, sp.ErrorCode)

	// A client cannot write markers itself, nor leave its transaction.
	ctl := batch.Build(nil, 0, time.Now().UnixMilli(), values("x"), batch.WithProducer(p.id, p.epoch, 0), batch.WithControl())
	requireCode(t, kerr.InvalidRecord, produceRaw(t, c, "m", 0, ctl).ErrorCode)
	p.seq = 0
	p.send(t, c, "m", "in-txn")
	outside := batch.Build(nil, 0, time.Now().UnixMilli(), values("outside"), batch.WithProducer(p.id, p.epoch, p.seq))
	requireCode(t, kerr.InvalidTxnState, produceRaw(t, c, "m", 0, outside).ErrorCode)

	// ApiVersions advertises the two APIs.
	av := c.do(kmsg.NewPtrApiVersionsRequest()).(*kmsg.ApiVersionsResponse)
	keys := map[int16]kmsg.ApiVersionsResponseApiKey{}
	for _, k := range av.ApiKeys {
		keys[k.ApiKey] = k
	}
	require.Equal(t, int16(1), keys[27].MaxVersion, "WriteTxnMarkers")
	require.Equal(t, int16(3), keys[28].MaxVersion, "TxnOffsetCommit")
}

// TestTxnOffsetCommitOverTheWire: offsets committed in a transaction stay
// pending (UNSTABLE_OFFSET_COMMIT to require_stable) until the commit
// marker on the group's __consumer_offsets partition, and survive a
// restart committed.
func TestTxnOffsetCommitOverTheWire(t *testing.T) {
	b := startBroker(t, func(c *broker.Config) { c.OffsetsTopicNumPartitions = 1 })
	createTopic(t, b.Addr(), "in", 1, nil)
	c := dialWire(t, b.Addr())
	p := newTxnProducer(t, c)
	findCoordinator(t, c, "eos") // creates __consumer_offsets

	commit := kmsg.NewPtrTxnOffsetCommitRequest()
	commit.SetVersion(3)
	commit.TransactionalID, commit.Group = "tx", "eos"
	commit.ProducerID, commit.ProducerEpoch = p.id, p.epoch
	rp := kmsg.NewTxnOffsetCommitRequestTopicPartition()
	rp.Partition, rp.Offset = 0, 42
	commit.Topics = []kmsg.TxnOffsetCommitRequestTopic{{Topic: "in", Partitions: []kmsg.TxnOffsetCommitRequestTopicPartition{rp}},
		{Topic: "nope", Partitions: []kmsg.TxnOffsetCommitRequestTopicPartition{rp}}}
	resp := c.do(commit).(*kmsg.TxnOffsetCommitResponse)
	requireCode(t, nil, resp.Topics[0].Partitions[0].ErrorCode)
	requireCode(t, kerr.UnknownTopicOrPartition, resp.Topics[1].Partitions[0].ErrorCode)

	fetch := func(c *wireConn) (int64, int16) {
		req := kmsg.NewPtrOffsetFetchRequest()
		req.SetVersion(7)
		req.Group, req.RequireStable = "eos", true
		req.Topics = []kmsg.OffsetFetchRequestTopic{{Topic: "in", Partitions: []int32{0}}}
		resp := c.do(req).(*kmsg.OffsetFetchResponse)
		if resp.ErrorCode != 0 { // COORDINATOR_LOAD_IN_PROGRESS after the restart
			return -1, resp.ErrorCode
		}
		return resp.Topics[0].Partitions[0].Offset, resp.Topics[0].Partitions[0].ErrorCode
	}
	_, code := fetch(c)
	requireCode(t, kerr.UnstableOffsetCommit, code)

	for _, code := range writeMarkers(t, c, p, true, "__consumer_offsets", 0) {
		requireCode(t, nil, code)
	}
	off, code := fetch(c)
	requireCode(t, nil, code)
	require.Equal(t, int64(42), off)

	b = restart(t, b)
	c = dialWire(t, b.Addr())
	eventually(t, func() error {
		off, code := fetch(c)
		if err := kerr.ErrorForCode(code); err != nil {
			return err
		}
		if off != 42 {
			return fmt.Errorf("committed offset %d after the restart, want 42", off)
		}
		return nil
	})
}

// findCoordinator asks for group's coordinator until the broker has one.
func findCoordinator(t testing.TB, c *wireConn, group string) {
	t.Helper()
	eventually(t, func() error {
		req := kmsg.NewPtrFindCoordinatorRequest()
		req.SetVersion(3)
		req.CoordinatorKey = group
		return kerr.ErrorForCode(c.do(req).(*kmsg.FindCoordinatorResponse).ErrorCode)
	})
}

// TestClusterTransactionsSurviveFailover: markers replicate like any
// batch; after the leader is killed, the new leader still hides the aborted
// transaction from read_committed consumers and still holds the open one's
// records back, until its commit marker, written on the new leader.
func TestClusterTransactionsSurviveFailover(t *testing.T) {
	t.Parallel()
	c := startCluster(t, 3)
	createReplicated(t, c, "tx", 1, 3, map[string]string{"min.insync.replicas": "2"})
	leader, ok := c.Leader("tx", 0)
	require.True(t, ok)
	lc := dialWire(t, c.Addr(leader))
	pa, pb := newTxnProducer(t, lc), newTxnProducer(t, lc)

	plain(t, lc, "tx", "before")
	aborted := pa.send(t, lc, "tx", "aborted")
	open := pb.send(t, lc, "tx", "open")
	plain(t, lc, "tx", "plain")
	endTxn(t, lc, pa, false, "tx")
	end := open + 3 // before, aborted, open, plain, the marker
	for _, id := range c.IDs() {
		eventually(t, func() error {
			if got, err := c.Broker(id).LogEndOffset("tx", 0); err != nil || got != end {
				return fmt.Errorf("broker %d: log end %d (%v), want %d with the marker", id, got, err, end)
			}
			return nil
		})
	}

	require.NoError(t, c.Kill(leader))
	var nc *wireConn
	eventually(t, func() error {
		l, ok := c.Leader("tx", 0)
		if !ok || l == leader {
			return fmt.Errorf("no new leader yet")
		}
		nc = dialWire(t, c.Addr(l))
		req := fetchReq("tx", 1<<20, fetchPart{Partition: 0, Offset: 0, MaxBytes: 1 << 20})
		req.IsolationLevel = 1
		resp, ok := nc.do(req).(*kmsg.FetchResponse)
		if !ok {
			return fmt.Errorf("no fetch response")
		}
		sp := resp.Topics[0].Partitions[0]
		if err := kerr.ErrorForCode(sp.ErrorCode); err != nil {
			return err
		}
		if sp.HighWatermark != end || sp.LastStableOffset != open {
			return fmt.Errorf("new leader: HW %d, LSO %d; want %d, %d", sp.HighWatermark, sp.LastStableOffset, end, open)
		}
		want := []kmsg.FetchResponseTopicPartitionAbortedTransaction{{ProducerID: pa.id, FirstOffset: aborted}}
		if !reflect.DeepEqual(want, sp.AbortedTransactions) {
			return fmt.Errorf("aborted transactions %+v, want %+v", sp.AbortedTransactions, want)
		}
		return nil
	})

	cl := newKgo(t, c.Bootstrap(), kgo.ConsumeTopics("tx"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.FetchMaxWait(100*time.Millisecond))
	got := pollN(t, cl, 1)
	require.Equal(t, "before", string(got[0].Value))
	require.Len(t, got, 1, "the open transaction holds the rest back")

	endTxn(t, nc, pb, true, "tx")
	var rest []string
	for _, r := range pollN(t, cl, 2) {
		rest = append(rest, string(r.Value))
	}
	require.Equal(t, []string{"open", "plain"}, rest)
}

// TestTransactionsSurviveKill: after a crash (kill, then crash recovery)
// the aborted transaction is still hidden from read_committed consumers
// and the open one still holds the last stable offset, until its commit;
// its producer continues its sequence.
func TestTransactionsSurviveKill(t *testing.T) {
	t.Parallel()
	b := startBroker(t)
	createTopic(t, b.Addr(), "crash", 1, nil)
	c := dialWire(t, b.Addr())
	pa, pb := newTxnProducer(t, c), newTxnProducer(t, c)
	plain(t, c, "crash", "before")
	aborted := pa.send(t, c, "crash", "aborted")
	open := pb.send(t, c, "crash", "open-1")
	endTxn(t, c, pa, false, "crash")
	plain(t, c, "crash", "plain")

	cfg := b.Config()
	b.Kill()
	b = startWith(t, cfg)
	c = dialWire(t, b.Addr())

	req := fetchReq("crash", 1<<20, fetchPart{Partition: 0, Offset: 0, MaxBytes: 1 << 20})
	req.IsolationLevel = 1
	sp := c.do(req).(*kmsg.FetchResponse).Topics[0].Partitions[0]
	requireCode(t, nil, sp.ErrorCode)
	require.Equal(t, open, sp.LastStableOffset)
	require.Equal(t, []kmsg.FetchResponseTopicPartitionAbortedTransaction{{ProducerID: pa.id, FirstOffset: aborted}}, sp.AbortedTransactions)

	pb.send(t, c, "crash", "open-2") // the sequence goes on after the crash
	endTxn(t, c, pb, true, "crash")
	want := []string{"before", "open-1", "plain", "open-2"}
	require.Equal(t, want, kgoValues(t, b.Addr(), "crash", kgo.ReadCommitted(), len(want)))
}
