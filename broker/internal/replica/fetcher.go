package replica

import (
	"context"
	"errors"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"

	"github.com/kspring/kspring/broker/internal/peer"
)

// fetcher replicates, for this broker, every partition it follows whose
// leader is one given broker: one goroutine and one connection per leader,
// as Kafka's replica fetcher threads. Each round sends one Fetch with the
// follower's position in every such partition.
type fetcher struct {
	m      *Manager
	leader int32
	client *peer.Client
	wake   chan struct{} // a partition was added: fetch at once
	// delayed holds partitions whose last fetch failed (NOT_LEADER, a
	// fenced epoch, ...) until when they are fetched again, so that one
	// partition waiting for new metadata does not hold up the others.
	// Owned by the run goroutine.
	delayed map[*Partition]delay
	// client is the connection to the leader, owned by the run goroutine.
	cancel context.CancelFunc
	done   chan struct{}
}

func (f *fetcher) poke() {
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

func (f *fetcher) run(ctx context.Context) {
	defer close(f.done)
	defer func() {
		if f.client != nil {
			f.client.Close()
		}
	}()
	backoff := time.Duration(0)
	f.delayed = map[*Partition]delay{}
	for ctx.Err() == nil {
		parts, next := f.ready(time.Now())
		addr, known := f.m.brokerAddr(f.leader)
		if known && (f.client == nil || f.client.Addr() != addr) {
			// First use, or the leader restarted on another address.
			if f.client != nil {
				f.client.Close()
			}
			f.client = peer.New(addr, "kspring-replica-fetcher", f.m.opts.Dial)
		}
		if len(parts) == 0 || f.client == nil {
			var retry <-chan time.Time
			if !next.IsZero() {
				retry = time.After(time.Until(next))
			}
			select {
			case <-ctx.Done():
				return
			case <-f.wake:
			case <-retry:
			}
			continue
		}
		if err := f.round(ctx, parts); err != nil {
			if ctx.Err() != nil {
				return
			}
			backoff = min(max(2*backoff, 20*time.Millisecond), f.m.opts.FetchBackoff)
			f.m.logger.Debug("replica fetch failed", zap.Int32("leader", f.leader), zap.Error(err), zap.Duration("backoff", backoff))
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			continue
		}
		backoff = 0
	}
}

// delay holds a partition back after a failed fetch, until a time or a
// new leader epoch, whichever comes first.
type delay struct {
	until time.Time
	epoch int32
}

// ready returns the partitions to fetch now, and when the earliest delayed
// one is due (zero if none is delayed). A partition whose role or leader
// changed since it was delayed is fetched at once.
func (f *fetcher) ready(now time.Time) ([]*Partition, time.Time) {
	var out []*Partition
	var next time.Time
	for _, p := range f.m.followedFrom(f.leader) {
		if d, ok := f.delayed[p]; ok && now.Before(d.until) && p.LeaderEpoch() == d.epoch {
			if next.IsZero() || d.until.Before(next) {
				next = d.until
			}
			continue
		}
		delete(f.delayed, p)
		out = append(out, p)
	}
	return out, next
}

// sentKey names a partition of a replica fetch as its response does: by
// topic id (v13+) or, for a topic without an id, by name (v12).
type sentKey struct {
	id    [16]byte
	topic string
	index int32
}

// sent is a partition asked for in a round, and from where.
type sent struct {
	p  *Partition
	fp fetchPosition
}

// round sends one replica fetch and applies its answer. It returns an
// error only if the request failed as a whole; a partition that failed is
// delayed on its own.
//
// Partitions are named by topic id (Fetch v13, KIP-516) so that a broker of
// another cluster reached at a dead leader's address, with a topic of the
// same name, answers UNKNOWN_TOPIC_ID rather than its records; responses
// are matched by id too. Only if some partition has no id (a topic made
// without one) does the round fall back to v12 and names.
func (f *fetcher) round(ctx context.Context, parts []*Partition) error {
	req := kmsg.NewPtrFetchRequest()
	req.Version = 13
	for _, p := range parts {
		if p.TopicID == ([16]byte{}) {
			req.Version = 12
			break
		}
	}
	byID := req.Version >= 13
	req.ReplicaID = f.m.opts.NodeID
	req.MaxWaitMillis = int32(f.m.opts.FetchMaxWait.Milliseconds())
	req.MinBytes = 1
	req.MaxBytes = 16 << 20
	asked := make(map[sentKey]sent, len(parts))
	byTopic := map[sentKey]int{}
	for _, p := range parts {
		fp, ok := p.position()
		if !ok || fp.leader != f.leader {
			continue
		}
		tk := sentKey{topic: p.Topic}
		if byID {
			tk = sentKey{id: p.TopicID}
		}
		k := tk
		k.index = p.Index
		asked[k] = sent{p, fp}
		i, ok := byTopic[tk]
		if !ok {
			i = len(req.Topics)
			byTopic[tk] = i
			t := kmsg.NewFetchRequestTopic()
			t.Topic, t.TopicID = p.Topic, p.TopicID
			req.Topics = append(req.Topics, t)
		}
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.Partition = p.Index
		rp.CurrentLeaderEpoch = fp.leaderEpoch
		rp.FetchOffset = fp.offset
		rp.LastFetchedEpoch = fp.lastEpoch
		rp.LogStartOffset = fp.logStart
		rp.PartitionMaxBytes = 1 << 20
		req.Topics[i].Partitions = append(req.Topics[i].Partitions, rp)
	}
	if len(asked) == 0 {
		return nil
	}
	rctx, cancel := context.WithTimeout(ctx, f.m.opts.FetchMaxWait+f.m.opts.RequestTimeout)
	defer cancel()
	kresp, err := f.client.Request(rctx, req)
	if err != nil {
		return err
	}
	resp := kresp.(*kmsg.FetchResponse)
	if resp.ErrorCode != 0 {
		return kerr.ErrorForCode(resp.ErrorCode)
	}
	now := time.Now()
	for _, rt := range resp.Topics {
		k := sentKey{topic: rt.Topic}
		if byID {
			k = sentKey{id: rt.TopicID}
		}
		for _, rp := range rt.Partitions {
			k.index = rp.Partition
			s, ok := asked[k]
			if !ok {
				continue // not asked for: never applied
			}
			if err := f.apply(s.p, s.fp, rp, now); err != nil {
				f.failed(s.p, err)
				f.delayed[s.p] = delay{until: now.Add(f.m.opts.FetchBackoff), epoch: s.fp.leaderEpoch}
			}
		}
	}
	return nil
}

// failed logs a partition's failed fetch: one the leader refused for its
// topic id at Info, since past a topic's first moments (when the leader
// may not know it yet) it means the leader's address reached a broker that
// does not have this topic (another cluster's, on a dead leader's port);
// the others at Debug, as they pass with the next metadata.
func (f *fetcher) failed(p *Partition, err error) {
	msg, level := "replica fetch of a partition failed", zap.DebugLevel
	if errors.Is(err, kerr.UnknownTopicID) || errors.Is(err, kerr.InconsistentTopicID) {
		msg, level = "replica fetch refused: the broker at the leader's address has no topic of this id", zap.InfoLevel
	}
	f.m.logger.Log(level, msg, zap.String("topic", p.Topic), zap.Int32("partition", p.Index),
		zap.Int32("leader", f.leader), zap.String("address", f.client.Addr()), zap.Error(err))
}

// apply handles one partition of a replica fetch response.
func (f *fetcher) apply(p *Partition, fp fetchPosition, rp kmsg.FetchResponseTopicPartition, now time.Time) error {
	switch err := kerr.ErrorForCode(rp.ErrorCode); {
	case err == nil:
	case errors.Is(err, kerr.OffsetOutOfRange):
		// The leader's log starts past ours (retention or DeleteRecords):
		// start over at its log start offset, as Kafka's follower does.
		if rp.LogStartOffset > fp.offset {
			return p.restartAt(rp.LogStartOffset)
		}
		// Ours ends past the leader's log (a log without leader epochs
		// to tell where it diverged): cut back to the leader's high
		// watermark, below which every replica agrees.
		if rp.HighWatermark >= 0 && fp.offset > rp.HighWatermark {
			return p.truncate(rp.HighWatermark)
		}
		return err
	default:
		// NOT_LEADER_OR_FOLLOWER, FENCED_LEADER_EPOCH, ...: the metadata
		// brings the new leader; until then this partition waits.
		// UNKNOWN_TOPIC_ID and INCONSISTENT_TOPIC_ID too: the broker at
		// the leader's address does not have this topic (or not this
		// incarnation of it), so nothing of its log may be applied.
		return err
	}
	if d := rp.DivergingEpoch; d.EndOffset >= 0 || d.Epoch >= 0 {
		f.m.logger.Info("truncating diverged follower", zap.String("topic", p.Topic), zap.Int32("partition", p.Index),
			zap.Int32("epoch", d.Epoch), zap.Int64("end_offset", d.EndOffset), zap.Int64("log_end", fp.offset))
		return p.truncateDiverged(Diverging{Epoch: d.Epoch, EndOffset: d.EndOffset})
	}
	return p.appendFromLeader(fp.leaderEpoch, rp.RecordBatches, rp.HighWatermark, rp.LogStartOffset, now)
}
