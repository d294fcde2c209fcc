package wire

// Fetch (key 1), versions 4-13.
// Older versions would need message-format down-conversion, which the broker
// does not do (Kafka 0.11+ clients fetch v4+). Stored batches go out as they
// were written. MaxBytes and PartitionMaxBytes bound the response, except that
// the first non-empty partition always returns at least one whole batch
// (KIP-74). A fetch that finds fewer than MinBytes waits, up to MaxWaitMillis,
// for new data in any partition it asked for: for a consumer, the high
// watermark moving; for a follower, an append. Fetch sessions (KIP-227) are
// declined by answering session id 0, so every request is a full fetch; an
// incremental request for a session we never made gets
// FETCH_SESSION_ID_NOT_FOUND. v13 names topics by id: an id the metadata
// does not know gets UNKNOWN_TOPIC_ID, and one that names a topic whose
// partition here belongs to another incarnation of it (its
// partition.metadata id differs) gets INCONSISTENT_TOPIC_ID, as in Kafka;
// never data. Followers fetch v13, so a follower of another cluster that
// reaches this broker at its dead leader's address, asking for a topic of
// the same name, is refused.
//
// Consumers fetch from the leader only (NOT_LEADER_OR_FOLLOWER elsewhere)
// and read up to the high watermark. A fetch with a replica id is a
// follower's (Kafka's replica fetch): it may read up to the log end, its
// fetch offset tells the leader how far the follower has replicated (which
// moves the high watermark and the ISR), and a follower whose last fetched
// epoch does not match the leader's log gets DivergingEpoch (v12+) and
// truncates before it fetches on. A replica fetch from a broker that holds
// no replica of the partition gets NOT_LEADER_OR_FOLLOWER.
//
// read_committed (isolation level 1) consumers read up to the last stable
// offset instead, and get the aborted transactions that overlap what they
// read (from the fetch offset to the LSO), so they drop those records;
// their long poll waits on the high watermark too, since the LSO moves only
// with it. read_uncommitted answers no aborted-transaction list (null).

import (
	"context"
	"errors"
	"reflect"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"

	"github.com/kspring/kspring/broker/internal/log"
	"github.com/kspring/kspring/broker/internal/replica"
)

func init() { register(1, 4, 13, handler((*Server).handleFetch)) }

// fetchTarget is one requested partition, resolved.
type fetchTarget struct {
	ti, pi    int // indexes into the response
	p         *replica.Partition
	req       kmsg.FetchRequestTopicPartition
	follower  bool // a replica fetch: reads up to the log end
	committed bool // read_committed: reads up to the last stable offset
}

func (s *Server) handleFetch(ctx context.Context, req *Request, body *kmsg.FetchRequest) (kmsg.Response, error) {
	resp := body.ResponseKind().(*kmsg.FetchResponse)
	resp.SetVersion(body.Version)
	if body.SessionID != 0 || body.SessionEpoch > 0 {
		resp.ErrorCode = kerr.FetchSessionIDNotFound.Code
		return resp, nil
	}
	if body.ReplicaID >= 0 && !s.authorizeCluster(req, kmsg.ACLOperationClusterAction) {
		resp.ErrorCode = kerr.ClusterAuthorizationFailed.Code
		return resp, nil
	}
	targets := s.resolveFetch(req, body, resp, time.Now())

	deadline := time.Now().Add(time.Duration(body.MaxWaitMillis) * time.Millisecond)
	maxBytes := int(body.MaxBytes)
	if body.Version < 3 || maxBytes <= 0 {
		maxBytes = 1<<31 - 1
	}
	for {
		// Capture the wake-up channels before reading, so an append between
		// the read and the wait is not missed.
		var wake []<-chan struct{}
		for _, t := range targets {
			if t.follower {
				wake = append(wake, t.p.Changed()) // it reads to the log end
			} else {
				wake = append(wake, t.p.HWChanged()) // consumers read to the HW
			}
		}
		total, failed := s.readFetch(req, resp, targets, maxBytes)
		if failed || total >= int(body.MinBytes) || body.MaxWaitMillis <= 0 || len(targets) == 0 {
			s.fetched(req, resp, targets)
			return resp, nil
		}
		remaining := time.Until(deadline)
		if remaining <= 0 || !waitAny(ctx, wake, remaining) {
			s.fetched(req, resp, targets)
			return resp, nil
		}
	}
}

// resolveFetch fills the response skeleton in request order and returns the
// partitions that exist.
func (s *Server) resolveFetch(req *Request, body *kmsg.FetchRequest, resp *kmsg.FetchResponse, now time.Time) []fetchTarget {
	var targets []fetchTarget
	follower := body.ReplicaID >= 0
	for _, rt := range body.Topics {
		st := kmsg.NewFetchResponseTopic()
		st.Topic, st.TopicID = rt.Topic, rt.TopicID
		name, known := rt.Topic, true
		if body.Version >= 13 {
			// The shared state, not a copy: only the name is read, and
			// followers send this on every round.
			if t, ok := s.meta.State().TopicByID(rt.TopicID); ok {
				name = t.Name
			} else {
				name, known = "", false
			}
		}
		denied := known && !follower && !s.authorizeTopic(req, name, kmsg.ACLOperationRead)
		for _, rp := range rt.Partitions {
			sp := kmsg.NewFetchResponseTopicPartition()
			sp.Partition = rp.Partition
			sp.HighWatermark, sp.LastStableOffset, sp.LogStartOffset = -1, -1, -1
			sp.RecordBatches = noRecords
			var p *replica.Partition
			if known {
				p, known = s.parts.Get(name, rp.Partition)
			}
			switch {
			case denied:
				sp.ErrorCode = kerr.TopicAuthorizationFailed.Code
			case !known && body.Version >= 13:
				sp.ErrorCode = kerr.UnknownTopicID.Code
			case !known:
				sp.ErrorCode = s.missingPartition(name, rp.Partition).Code
			case body.Version >= 13 && p.TopicID != ([16]byte{}) && p.TopicID != rt.TopicID:
				sp.ErrorCode = kerr.InconsistentTopicID.Code
			case follower:
				div, err := p.FollowerFetch(body.ReplicaID, rp.CurrentLeaderEpoch, rp.LastFetchedEpoch, rp.FetchOffset, now)
				switch {
				case err != nil:
					sp.ErrorCode = replicaFetchError(err).Code
				case div != nil:
					sp.DivergingEpoch.Epoch, sp.DivergingEpoch.EndOffset = div.Epoch, div.EndOffset
					sp.HighWatermark, sp.LogStartOffset = p.HighWatermark(), p.StartOffset()
				default:
					targets = append(targets, fetchTarget{ti: len(resp.Topics), pi: len(st.Partitions), p: p, req: rp, follower: true})
				}
			default:
				if role, _ := p.Role(); role != replica.RoleLeader {
					sp.ErrorCode = kerr.NotLeaderForPartition.Code
					break
				}
				if e := checkLeaderEpoch(rp.CurrentLeaderEpoch, p.LeaderEpoch()); e != nil {
					sp.ErrorCode = e.Code
					break
				}
				targets = append(targets, fetchTarget{ti: len(resp.Topics), pi: len(st.Partitions), p: p, req: rp, committed: body.IsolationLevel == 1})
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return targets
}

// readFetch reads every target into the response, replacing what an earlier
// pass read. Batch sets stay in the segment files, to be sent from there
// when the response is written, or are copied into the connection's
// scratch buffer (see fetchData). It returns the bytes read and whether
// any partition failed.
func (s *Server) readFetch(req *Request, resp *kmsg.FetchResponse, targets []fetchTarget, maxBytes int) (int, bool) {
	d := &req.conn.fetch
	d.reset()
	total, failed := 0, false
	for _, t := range targets {
		sp := &resp.Topics[t.ti].Partitions[t.pi]
		sp.ErrorCode = 0
		sp.RecordBatches = noRecords
		sp.HighWatermark = t.p.HighWatermark()
		sp.LastStableOffset = t.p.LastStableOffset()
		sp.LogStartOffset = t.p.StartOffset()
		sp.AbortedTransactions = nil
		limit := min(int(t.req.PartitionMaxBytes), maxBytes-total)
		if limit <= 0 {
			if total > 0 {
				continue
			}
			limit = 1 // KIP-74: still return one batch
		}
		from := len(d.chunks)
		var err error
		switch {
		case t.follower:
			d.chunks, err = t.p.ReadChunksTo(d.chunks, t.req.FetchOffset, limit, t.p.EndOffset())
		case t.committed:
			d.chunks, err = t.p.ReadChunksTo(d.chunks, t.req.FetchOffset, limit, sp.LastStableOffset)
			sp.AbortedTransactions = abortedTransactions(t.p, t.req.FetchOffset, sp.LastStableOffset)
		default:
			d.chunks, err = t.p.ReadChunks(d.chunks, t.req.FetchOffset, limit)
		}
		n := int(log.ChunksLen(d.chunks[from:]))
		if err == nil && total > 0 && n > limit {
			// The log returns at least one batch, but only the first
			// partition with data may exceed the limits (KIP-74); the
			// others wait for a later fetch.
			d.drop(from)
			continue
		}
		if err == nil && n > 0 {
			err = d.add(sp, from, req.conn.raw != nil)
		}
		switch {
		case err == nil:
			total += n
		case errors.Is(err, log.ErrOffsetOutOfRange):
			sp.ErrorCode = kerr.OffsetOutOfRange.Code
			failed = true
		case errors.Is(err, replica.ErrDeleted):
			sp.ErrorCode = kerr.UnknownTopicOrPartition.Code
			failed = true
		default:
			s.logger.Error("fetch read failed", zap.String("topic", t.p.Topic), zap.Int32("partition", t.p.Index), zap.Error(err))
			sp.ErrorCode = kerr.KafkaStorageError.Code
			failed = true
		}
	}
	return total, failed
}

// replicaFetchError maps a refused replica fetch to Kafka's code.
func replicaFetchError(err error) *kerr.Error {
	switch {
	case errors.Is(err, replica.ErrFencedEpoch):
		return kerr.FencedLeaderEpoch
	case errors.Is(err, replica.ErrUnknownEpoch):
		return kerr.UnknownLeaderEpoch
	}
	return kerr.NotLeaderForPartition
}

// noRecords is an empty, non-null record set: librdkafka rejects a null one
// (size -1), which kmsg would send for a nil slice.
var noRecords = []byte{}

// checkLeaderEpoch compares a client's view of the leader epoch with ours
// (KIP-320); -1 skips the check.
func checkLeaderEpoch(client, current int32) *kerr.Error {
	switch {
	case client < 0 || client == current:
		return nil
	case client > current:
		return kerr.UnknownLeaderEpoch
	}
	return kerr.FencedLeaderEpoch
}

// waitAny waits until one of chans closes (true), or d passes or ctx ends
// (false). A fetch of many partitions waits on all of them at once with one
// select built at run time, rather than a goroutine per partition.
func waitAny(ctx context.Context, chans []<-chan struct{}, d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	if len(chans) == 1 {
		select {
		case <-chans[0]:
			return true
		case <-timer.C:
		case <-ctx.Done():
		}
		return false
	}
	cases := make([]reflect.SelectCase, 0, len(chans)+2)
	cases = append(cases,
		reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(timer.C)},
		reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ctx.Done())})
	for _, c := range chans {
		cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(c)})
	}
	chosen, _, _ := reflect.Select(cases)
	return chosen >= 2
}

// abortedTransactions lists, for a read_committed fetch, the aborted
// transactions overlapping [from, lso): an empty list, not null, when there
// are none, as Kafka answers read_committed.
func abortedTransactions(p *replica.Partition, from, lso int64) []kmsg.FetchResponseTopicPartitionAbortedTransaction {
	aborted := p.Log().AbortedTransactions(from, lso)
	out := make([]kmsg.FetchResponseTopicPartitionAbortedTransaction, len(aborted))
	for i, a := range aborted {
		out[i] = kmsg.FetchResponseTopicPartitionAbortedTransaction{ProducerID: a.ProducerID, FirstOffset: a.FirstOffset}
	}
	return out
}
