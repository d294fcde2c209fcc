package txn

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestEndTxnWritesMarkersThenCompletes(t *testing.T) {
	for _, commit := range []bool{true, false} {
		t.Run(map[bool]string{true: "commit", false: "abort"}[commit], func(t *testing.T) {
			h := newHarness(t, Config{})
			id := idOn(1, 4)
			ip := h.init(id, time.Minute)
			require.Zero(t, ip.ErrorCode)
			require.Equal(t, int16(0), ip.ProducerEpoch)
			require.Zero(t, h.add(id, ip.ProducerID, 0, "orders", 0, 1))
			require.Zero(t, h.add(id, ip.ProducerID, 0, "audit", 2))
			d := h.describe(id)
			require.Equal(t, "Ongoing", d.State)
			require.Len(t, d.Topics, 2)
			require.Equal(t, TxnOngoing, h.store.last(t, 1, id).State, "Ongoing is stored before the answer")

			require.Zero(t, h.end(id, ip.ProducerID, 0, commit))
			want := TxnCompleteAbort
			if commit {
				want = TxnCompleteCommit
			}
			h.waitState(id, want)
			var tps []TopicPartition
			for _, w := range h.markers.all() {
				require.Equal(t, Marker{ProducerID: ip.ProducerID, ProducerEpoch: 0, Commit: commit, CoordinatorEpoch: 7}, w.Marker)
				tps = append(tps, w.TopicPartition)
			}
			require.ElementsMatch(t, []TopicPartition{{"audit", 2}, {"orders", 0}, {"orders", 1}}, tps)
			last := h.store.last(t, 1, id)
			require.Equal(t, want, last.State)
			require.Empty(t, last.Partitions)

			// A retry of the same end succeeds; the other end does not.
			require.Zero(t, h.end(id, ip.ProducerID, 0, commit))
			require.Equal(t, kerr.InvalidTxnState.Code, h.end(id, ip.ProducerID, 0, !commit))
		})
	}
}

func TestPrepareIsStoredBeforeTheAnswerAndBlocksTheProducer(t *testing.T) {
	h := newHarness(t, Config{})
	id := idOn(0, 4)
	ip := h.init(id, time.Minute)
	h.markers.setDown(TopicPartition{"orders", 0}, true)
	require.Zero(t, h.add(id, ip.ProducerID, 0, "orders", 0))
	require.Zero(t, h.end(id, ip.ProducerID, 0, true))
	require.Equal(t, TxnPrepareCommit, h.store.last(t, 0, id).State)
	require.Equal(t, "PrepareCommit", h.describe(id).State)
	// Until the markers are in, the producer's next transaction waits:
	// CONCURRENT_TRANSACTIONS once the wait is over (here at once).
	done, cancel := context.WithCancel(context.Background())
	cancel()
	require.Equal(t, kerr.ConcurrentTransactions.Code, h.addCtx(done, id, ip.ProducerID, 0, "orders", 0))
	require.Equal(t, kerr.ConcurrentTransactions.Code, h.init(id, time.Minute).ErrorCode)
	// One that is still waiting when the markers are in goes on.
	h.c.pendingWait = time.Hour
	added := make(chan int16, 1)
	go func() { added <- h.add(id, ip.ProducerID, 0, "orders", 0) }()
	h.markers.setDown(TopicPartition{"orders", 0}, false)
	require.Zero(t, <-added)
	require.Equal(t, "Ongoing", h.describe(id).State)
}

func TestReinitFencesTheOlderEpoch(t *testing.T) {
	h := newHarness(t, Config{})
	id := idOn(2, 4)
	first := h.init(id, time.Minute)
	second := h.init(id, time.Minute)
	require.Zero(t, second.ErrorCode)
	require.Equal(t, first.ProducerID, second.ProducerID)
	require.Equal(t, int16(1), second.ProducerEpoch)

	for _, tc := range []struct {
		name    string
		version int16
		want    int16
	}{
		{"v3 gets PRODUCER_FENCED", 3, kerr.ProducerFenced.Code},
		{"v1 gets INVALID_PRODUCER_EPOCH", 1, kerr.InvalidProducerEpoch.Code},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := kmsg.NewPtrAddPartitionsToTxnRequest()
			req.Version = tc.version
			req.TransactionalID, req.ProducerID, req.ProducerEpoch = id, first.ProducerID, 0
			rt := kmsg.NewAddPartitionsToTxnRequestTopic()
			rt.Topic, rt.Partitions = "orders", []int32{0}
			req.Topics = append(req.Topics, rt)
			require.Equal(t, tc.want, h.c.AddPartitionsToTxn(context.Background(), req).Topics[0].Partitions[0].ErrorCode)
			er := kmsg.NewPtrEndTxnRequest()
			er.Version = tc.version
			er.TransactionalID, er.ProducerID, er.ProducerEpoch = id, first.ProducerID, 0
			require.Equal(t, tc.want, h.c.EndTxn(er).ErrorCode)
		})
	}
	require.Equal(t, kerr.InvalidProducerIDMapping.Code, h.add(id, 42, 1, "orders", 0))
}

func TestReinitAbortsTheOngoingTransaction(t *testing.T) {
	h := newHarness(t, Config{})
	id := idOn(3, 4)
	first := h.init(id, time.Minute)
	require.Zero(t, h.add(id, first.ProducerID, 0, "orders", 0))
	require.Equal(t, kerr.ConcurrentTransactions.Code, h.init(id, time.Minute).ErrorCode)
	h.waitState(id, TxnCompleteAbort)
	next := h.init(id, time.Minute)
	require.Zero(t, next.ErrorCode)
	require.Equal(t, int16(2), next.ProducerEpoch)
	m := h.markers.all()
	require.Len(t, m, 1)
	require.Equal(t, Marker{ProducerID: first.ProducerID, ProducerEpoch: 1, CoordinatorEpoch: 7}, m[0].Marker)
	require.Equal(t, kerr.ProducerFenced.Code, h.end(id, first.ProducerID, 0, true))
}

func TestTimedOutTransactionIsAbortedAndItsProducerFenced(t *testing.T) {
	h := newHarness(t, Config{AbortTimedOutInterval: time.Millisecond})
	id := idOn(1, 4)
	ip := h.init(id, time.Second)
	require.Zero(t, h.add(id, ip.ProducerID, 0, "orders", 0))
	h.advance(2 * time.Second)
	h.waitState(id, TxnCompleteAbort)
	d := h.describe(id)
	require.Equal(t, int16(1), d.ProducerEpoch)
	require.Equal(t, []writtenMarker{{Marker{ProducerID: ip.ProducerID, ProducerEpoch: 1, CoordinatorEpoch: 7}, TopicPartition{"orders", 0}}}, h.markers.all())
	require.Equal(t, kerr.ProducerFenced.Code, h.end(id, ip.ProducerID, 0, true))
	// The fenced producer cannot claim the bumped epoch as a KIP-360 retry.
	req := kmsg.NewPtrInitProducerIDRequest()
	req.Version = 4
	req.TransactionalID, req.TransactionTimeoutMillis = &id, 1000
	req.ProducerID, req.ProducerEpoch = ip.ProducerID, 0
	require.Equal(t, kerr.ProducerFenced.Code, h.c.InitProducerID(context.Background(), req).ErrorCode)
}

func TestLoadCompletesPreparedTransactions(t *testing.T) {
	for _, commit := range []bool{true, false} {
		t.Run(map[bool]string{true: "commit", false: "abort"}[commit], func(t *testing.T) {
			h := newHarness(t, Config{})
			id := idOn(2, 4)
			ip := h.init(id, time.Minute)
			h.markers.setDown(TopicPartition{"orders", 3}, true)
			require.Zero(t, h.add(id, ip.ProducerID, 0, "orders", 3))
			require.Zero(t, h.end(id, ip.ProducerID, 0, commit))
			h.restart(Config{}) // the coordinator "crashes" before the markers are in
			h.markers.setDown(TopicPartition{"orders", 3}, false)
			want := map[bool]kmsg.TransactionState{true: TxnCompleteCommit, false: TxnCompleteAbort}[commit]
			h.waitState(id, want)
			require.Equal(t, []writtenMarker{{Marker{ProducerID: ip.ProducerID, Commit: commit, CoordinatorEpoch: 7}, TopicPartition{"orders", 3}}}, h.markers.all())
		})
	}
}

func TestOngoingTransactionSurvivesReloadAndTimesOut(t *testing.T) {
	h := newHarness(t, Config{})
	id := idOn(0, 4)
	ip := h.init(id, time.Second)
	require.Zero(t, h.add(id, ip.ProducerID, 0, "orders", 0))
	h.restart(Config{AbortTimedOutInterval: time.Millisecond})
	require.Equal(t, "Ongoing", h.describe(id).State)
	h.advance(2 * time.Second)
	h.waitState(id, TxnCompleteAbort)
}

func TestErrorCodes(t *testing.T) {
	h := newHarness(t, Config{Partitions: 4, MaxTimeout: time.Minute})
	id := idOn(0, 4)
	ip := h.init(id, time.Second)
	require.Zero(t, ip.ErrorCode)
	for _, tc := range []struct {
		name string
		got  func() int16
		want int16
	}{
		{"timeout above transaction.max.timeout.ms", func() int16 { return h.init(id, 2*time.Minute).ErrorCode }, kerr.InvalidTransactionTimeout.Code},
		{"zero timeout", func() int16 { return h.init(id, 0).ErrorCode }, kerr.InvalidTransactionTimeout.Code},
		{"empty transactional id", func() int16 { return h.init("", time.Second).ErrorCode }, kerr.InvalidRequest.Code},
		{"end of an unknown id", func() int16 { return h.end(idOn(1, 4), 1, 0, true) }, kerr.InvalidProducerIDMapping.Code},
		{"add for an unknown id", func() int16 { return h.add(idOn(1, 4), 1, 0, "orders", 0) }, kerr.InvalidProducerIDMapping.Code},
		{"end with no transaction", func() int16 { return h.end(id, ip.ProducerID, 0, true) }, kerr.InvalidTxnState.Code},
		{"unknown partition", func() int16 { return h.add(id, ip.ProducerID, 0, "missing", 0) }, kerr.UnknownTopicOrPartition.Code},
		{"describe an unknown id", func() int16 { return h.describe(idOn(1, 4)).ErrorCode }, kerr.TransactionalIDNotFound.Code},
	} {
		t.Run(tc.name, func(t *testing.T) { require.Equal(t, tc.want, tc.got()) })
	}

	t.Run("a partition not loaded answers NOT_COORDINATOR", func(t *testing.T) {
		h.c.Unload(3, -1)
		require.Equal(t, kerr.NotCoordinator.Code, h.init(idOn(3, 4), time.Second).ErrorCode)
		require.Equal(t, kerr.NotCoordinator.Code, h.describe(idOn(3, 4)).ErrorCode)
	})
	t.Run("a store short of replicas answers COORDINATOR_NOT_AVAILABLE", func(t *testing.T) {
		h.store.mu.Lock()
		h.store.failing = kerr.NotEnoughReplicas
		h.store.mu.Unlock()
		defer func() { h.store.mu.Lock(); h.store.failing = nil; h.store.mu.Unlock() }()
		require.Equal(t, kerr.CoordinatorNotAvailable.Code, h.add(id, ip.ProducerID, 0, "orders", 0))
		require.Equal(t, "Empty", h.describe(id).State, "a failed write changes nothing")
	})
}

func TestEpochExhaustionTakesANewProducerID(t *testing.T) {
	h := newHarness(t, Config{})
	id := idOn(1, 4)
	ip := h.init(id, time.Minute)
	_, tm, _ := h.c.lookup(id, false)
	tm.mu.Lock()
	tm.m.ProducerEpoch = maxEpoch
	tm.mu.Unlock()
	next := h.init(id, time.Minute)
	require.Zero(t, next.ErrorCode)
	require.NotEqual(t, ip.ProducerID, next.ProducerID)
	require.Equal(t, int16(0), next.ProducerEpoch)
}

func TestKIP360(t *testing.T) {
	h := newHarness(t, Config{})
	id := idOn(2, 4)
	ip := h.init(id, time.Minute)
	bump := func(pid int64, epoch int16) *kmsg.InitProducerIDResponse {
		req := kmsg.NewPtrInitProducerIDRequest()
		req.Version = 4
		req.TransactionalID, req.TransactionTimeoutMillis = &id, 60000
		req.ProducerID, req.ProducerEpoch = pid, epoch
		return h.c.InitProducerID(context.Background(), req)
	}
	r := bump(ip.ProducerID, 0)
	require.Zero(t, r.ErrorCode)
	require.Equal(t, int16(1), r.ProducerEpoch)
	again := bump(ip.ProducerID, 0) // the answer was lost: the same again
	require.Zero(t, again.ErrorCode)
	require.Equal(t, r.ProducerEpoch, again.ProducerEpoch)
	require.Equal(t, kerr.ProducerFenced.Code, bump(ip.ProducerID+7, 0).ErrorCode)
}

func TestListTransactions(t *testing.T) {
	h := newHarness(t, Config{})
	a, b := idOn(0, 4), idOn(1, 4)
	ia, ib := h.init(a, time.Minute), h.init(b, time.Minute)
	require.Zero(t, h.add(a, ia.ProducerID, 0, "orders", 0))
	list := func(states ...string) []string {
		req := kmsg.NewPtrListTransactionsRequest()
		req.Version = 1
		req.StateFilters, req.DurationFilterMillis = states, -1
		var ids []string
		for _, s := range h.c.ListTransactions(req).TransactionStates {
			ids = append(ids, s.TransactionalID+"="+s.TransactionState)
		}
		return ids
	}
	require.ElementsMatch(t, []string{a + "=Ongoing", b + "=Empty"}, list())
	require.Equal(t, []string{a + "=Ongoing"}, list("Ongoing"))
	req := kmsg.NewPtrListTransactionsRequest()
	req.StateFilters = []string{"Bogus"}
	resp := h.c.ListTransactions(req)
	require.Equal(t, []string{"Bogus"}, resp.UnknownStateFilters)
	require.Empty(t, resp.TransactionStates)
	req = kmsg.NewPtrListTransactionsRequest()
	req.ProducerIDFilters = []int64{ib.ProducerID}
	require.Len(t, h.c.ListTransactions(req).TransactionStates, 1)
}

func TestIDExpiration(t *testing.T) {
	h := newHarness(t, Config{IDExpiration: time.Hour, IDExpirationCheckInterval: time.Millisecond})
	id := idOn(3, 4)
	require.Zero(t, h.init(id, time.Minute).ErrorCode)
	h.advance(2 * time.Hour)
	h.eventually(func() error {
		if d := h.describe(id); d.ErrorCode != kerr.TransactionalIDNotFound.Code {
			return fmt.Errorf("describe: code %d, state %s", d.ErrorCode, d.State)
		}
		return nil
	})
	h.restart(Config{})
	require.Equal(t, kerr.TransactionalIDNotFound.Code, h.describe(id).ErrorCode, "the tombstone is stored")
}

func TestStaleMarkerRefusalCompletesTheTransaction(t *testing.T) {
	h := newHarness(t, Config{})
	id := idOn(1, 4)
	ip := h.init(id, time.Minute)
	h.markers.refuse(TopicPartition{"orders", 0}, kerr.InvalidProducerEpoch)
	h.markers.setDown(TopicPartition{"orders", 1}, true)
	require.Zero(t, h.add(id, ip.ProducerID, 0, "orders", 0, 1))
	require.Zero(t, h.end(id, ip.ProducerID, 0, true))
	h.eventually(func() error {
		if n := len(h.markers.all()); n != 0 {
			return fmt.Errorf("%d markers written while orders-1 is down", n)
		}
		if d := h.describe(id); d.State != "PrepareCommit" {
			return fmt.Errorf("state %s while orders-1 is down", d.State)
		}
		return nil
	})
	h.markers.setDown(TopicPartition{"orders", 1}, false)
	h.waitState(id, TxnCompleteCommit)
	require.Equal(t, []writtenMarker{{Marker{ProducerID: ip.ProducerID, Commit: true, CoordinatorEpoch: 7}, TopicPartition{"orders", 1}}}, h.markers.all())
}

func TestAddPartitionsToTxnV4(t *testing.T) {
	h := newHarness(t, Config{})
	a, b := idOn(0, 4), idOn(1, 4)
	ia, ib := h.init(a, time.Minute), h.init(b, time.Minute)
	tx := func(id string, pid int64, verify bool, topic string, parts ...int32) kmsg.AddPartitionsToTxnRequestTransaction {
		t := kmsg.NewAddPartitionsToTxnRequestTransaction()
		t.TransactionalID, t.ProducerID, t.ProducerEpoch, t.VerifyOnly = id, pid, 0, verify
		rt := kmsg.NewAddPartitionsToTxnRequestTransactionTopic()
		rt.Topic, rt.Partitions = topic, parts
		t.Topics = append(t.Topics, rt)
		return t
	}
	do := func(txs ...kmsg.AddPartitionsToTxnRequestTransaction) map[string][]int16 {
		req := kmsg.NewPtrAddPartitionsToTxnRequest()
		req.Version = 4
		req.Transactions = txs
		out := map[string][]int16{}
		for _, rt := range h.c.AddPartitionsToTxn(context.Background(), req).Transactions {
			for _, p := range rt.Topics[0].Partitions {
				out[rt.TransactionalID] = append(out[rt.TransactionalID], p.ErrorCode)
			}
		}
		return out
	}
	require.Equal(t, map[string][]int16{a: {0, 0}, b: {0}},
		do(tx(a, ia.ProducerID, false, "orders", 0, 1), tx(b, ib.ProducerID, false, "orders", 2)))
	require.Equal(t, "Ongoing", h.describe(a).State)
	require.Equal(t, map[string][]int16{a: {0, kerr.InvalidTxnState.Code}, b: {kerr.InvalidProducerIDMapping.Code}},
		do(tx(a, ia.ProducerID, true, "orders", 1, 2), tx(b, 99, true, "orders", 2)),
		"verify-only: orders-2 is not in a's transaction; b's producer id is wrong")
	require.Len(t, h.describe(a).Topics[0].Partitions, 2, "verifying adds nothing")
}
