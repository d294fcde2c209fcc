package txn

import (
	"slices"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// DescribeTransactions answers DescribeTransactions v0 for the ids this
// coordinator owns: NOT_COORDINATOR for others, TRANSACTIONAL_ID_NOT_FOUND
// for ids it has no state of.
func (c *Coordinator) DescribeTransactions(req *kmsg.DescribeTransactionsRequest) *kmsg.DescribeTransactionsResponse {
	resp := req.ResponseKind().(*kmsg.DescribeTransactionsResponse)
	resp.SetVersion(req.Version)
	for _, id := range req.TransactionalIDs {
		st := kmsg.NewDescribeTransactionsResponseTransactionState()
		st.TransactionalID, st.ProducerID, st.ProducerEpoch, st.StartTimestamp = id, -1, -1, -1
		_, t, code := c.lookup(id, false)
		switch {
		case code != 0:
			st.ErrorCode = code
		case t == nil:
			st.ErrorCode = kerr.TransactionalIDNotFound.Code
		default:
			t.mu.Lock()
			m := t.m
			t.mu.Unlock()
			if m.ProducerID < 0 {
				st.ErrorCode = kerr.TransactionalIDNotFound.Code
				break
			}
			st.State = m.State.String()
			st.TimeoutMillis = int32(m.Timeout.Milliseconds())
			st.StartTimestamp = millis(m.Started)
			st.ProducerID, st.ProducerEpoch = m.ProducerID, m.ProducerEpoch
			for i := 0; i < len(m.Partitions); {
				rt := kmsg.NewDescribeTransactionsResponseTransactionStateTopic()
				rt.Topic = m.Partitions[i].Topic
				for ; i < len(m.Partitions) && m.Partitions[i].Topic == rt.Topic; i++ {
					rt.Partitions = append(rt.Partitions, m.Partitions[i].Partition)
				}
				st.Topics = append(st.Topics, rt)
			}
		}
		resp.TransactionStates = append(resp.TransactionStates, st)
	}
	return resp
}

// ListTransactions answers ListTransactions v0-1 with the transactions of
// the partitions this coordinator has loaded, filtered by state, producer id
// and (v1) how long they have been running. While a partition loads the
// answer is COORDINATOR_LOAD_IN_PROGRESS.
func (c *Coordinator) ListTransactions(req *kmsg.ListTransactionsRequest) *kmsg.ListTransactionsResponse {
	resp := req.ResponseKind().(*kmsg.ListTransactionsResponse)
	resp.SetVersion(req.Version)
	states := map[kmsg.TransactionState]bool{}
	for _, s := range req.StateFilters {
		st, err := kmsg.ParseTransactionState(s)
		if err != nil || kmsg.TransactionState(st).String() != s {
			resp.UnknownStateFilters = append(resp.UnknownStateFilters, s)
			continue
		}
		states[st] = true
	}
	if len(req.StateFilters) > 0 && len(states) == 0 {
		return resp // only unknown states: nothing matches
	}
	now := c.now()
	c.mu.Lock()
	shards := make([]*shard, 0, len(c.shards))
	for _, sh := range c.shards {
		shards = append(shards, sh)
	}
	c.mu.Unlock()
	for _, sh := range shards {
		sh.mu.Lock()
		if sh.loading {
			sh.mu.Unlock()
			resp.ErrorCode = kerr.CoordinatorLoadInProgress.Code
			resp.TransactionStates = nil
			return resp
		}
		txns := make([]*txnMeta, 0, len(sh.txns))
		for _, t := range sh.txns {
			txns = append(txns, t)
		}
		sh.mu.Unlock()
		for _, t := range txns {
			t.mu.Lock()
			m := t.m
			t.mu.Unlock()
			switch {
			case m.ProducerID < 0,
				len(states) > 0 && !states[m.State],
				len(req.ProducerIDFilters) > 0 && !slices.Contains(req.ProducerIDFilters, m.ProducerID),
				req.Version >= 1 && req.DurationFilterMillis >= 0 &&
					(m.Started.IsZero() || now.Sub(m.Started) < time.Duration(req.DurationFilterMillis)*time.Millisecond):
				continue
			}
			ls := kmsg.NewListTransactionsResponseTransactionState()
			ls.TransactionalID, ls.ProducerID, ls.TransactionState = t.id, m.ProducerID, m.State.String()
			resp.TransactionStates = append(resp.TransactionStates, ls)
		}
	}
	slices.SortFunc(resp.TransactionStates, func(a, b kmsg.ListTransactionsResponseTransactionState) int {
		if a.TransactionalID < b.TransactionalID {
			return -1
		}
		if a.TransactionalID > b.TransactionalID {
			return 1
		}
		return 0
	})
	return resp
}
