package listener

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"
	"go.uber.org/zap"
)

// manualOffsets keeps the positions of explicitly assigned partitions: in
// the group's committed offsets through sarama's offset manager when the
// container has a group id, else in memory only.
type manualOffsets struct {
	om   sarama.OffsetManager // nil without a group
	poms map[TopicPartition]sarama.PartitionOffsetManager

	mu  sync.Mutex
	pos map[TopicPartition]int64 // without a group: next offset to deliver
}

func newManualOffsets(m *member, group string) (*manualOffsets, error) {
	o := &manualOffsets{poms: map[TopicPartition]sarama.PartitionOffsetManager{}, pos: map[TopicPartition]int64{}}
	if group == "" {
		return o, nil
	}
	om, err := sarama.NewOffsetManagerFromClient(group, m.client)
	if err != nil {
		return nil, fmt.Errorf("offset manager for group %q: %w", group, err)
	}
	o.om = om
	for _, mp := range m.manual {
		pom, err := om.ManagePartition(mp.tp.Topic, mp.tp.Partition)
		if err != nil {
			o.close()
			return nil, fmt.Errorf("offsets of %s-%d: %w", mp.tp.Topic, mp.tp.Partition, err)
		}
		o.poms[mp.tp] = pom
		go m.drainConsumerErrors(pom.Errors())
	}
	return o, nil
}

func (m *member) drainConsumerErrors(errs <-chan *sarama.ConsumerError) {
	for err := range errs {
		m.log.Warn("kafka listener: consumer error", zap.Error(err))
	}
}

func (o *manualOffsets) mark(tp TopicPartition, next int64) {
	if pom := o.poms[tp]; pom != nil {
		pom.MarkOffset(next, "")
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if next > o.pos[tp] {
		o.pos[tp] = next
	}
}

// set moves tp's position to off, forward or back.
func (o *manualOffsets) set(tp TopicPartition, off int64) {
	if pom := o.poms[tp]; pom != nil {
		pom.MarkOffset(off, "")
		pom.ResetOffset(off, "")
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.pos[tp] = off
}

// next returns the position of tp, or false when it has none.
func (o *manualOffsets) next(tp TopicPartition) (int64, bool) {
	if pom := o.poms[tp]; pom != nil {
		off, _ := pom.NextOffset()
		return off, off >= 0
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	off, ok := o.pos[tp]
	return off, ok
}

func (o *manualOffsets) commit() {
	if o.om != nil {
		o.om.Commit()
	}
}

func (o *manualOffsets) close() {
	for _, pom := range o.poms {
		pom.AsyncClose()
	}
	if o.om != nil {
		_ = o.om.Close()
	}
}

// manualLoop consumes the member's explicit partitions; a seek ends the
// session and the next one starts at the new positions.
func (m *member) manualLoop() {
	first := true
	for m.r.ctx.Err() == nil {
		sctx, cancel := context.WithCancel(m.r.ctx)
		m.setCancel(cancel)
		claims := map[string][]int32{}
		for _, mp := range m.manual {
			claims[mp.tp.Topic] = append(claims[mp.tp.Topic], mp.tp.Partition)
		}
		sc := &manualScope{m: m}
		sc.alive.Store(true)
		if m.c.hooks.assigned != nil {
			m.callHook("partitions assigned", func() {
				m.c.hooks.assigned(m.ctx, topicPartitions(claims), &hookSeeker{claims: claims, seek: sc.seekTo})
			})
		}
		pcs, err := m.openPartitions(first)
		if err != nil {
			cancel()
			m.setErr(err)
			m.log.Warn("kafka listener: consume failed; retrying", zap.Error(err))
			if !m.wait(time.Second) {
				return
			}
			continue
		}
		first = false
		sc.com = startCommitter(func() { m.commit(m.offsets.commit) })
		m.resetCounts()
		m.mu.Lock()
		m.claims, m.scope, m.lastErr = claims, sc, nil
		m.mu.Unlock()
		m.readyOne.Do(func() { close(m.ready) })

		var wg sync.WaitGroup
		for tp, pc := range pcs {
			wg.Go(func() {
				w := newWorker(m, sc, tp, sctx.Done())
				w.lag = m.trackLag(tp, pc.HighWaterMarkOffset, -1)
				w.consume(pc.Messages())
				m.untrackLag(tp, w.lag)
				if sctx.Err() == nil {
					// The partition consumer gave up (say, its offset went out
					// of range): start over.
					m.setErr(fmt.Errorf("consumption of %s-%d stopped", tp.Topic, tp.Partition))
					cancel()
				}
			})
		}
		<-sctx.Done()
		wg.Wait()
		for _, pc := range pcs {
			pc.AsyncClose()
		}
		for _, pc := range pcs {
			drainPartitionConsumer(pc)
		}
		sc.com.stop()
		sc.alive.Store(false)
		m.commit(m.offsets.commit)
		m.mu.Lock()
		m.claims, m.scope = nil, nil
		m.mu.Unlock()
		if m.c.hooks.revoked != nil {
			m.callHook("partitions revoked", func() { m.c.hooks.revoked(m.ctx, topicPartitions(claims)) })
		}
	}
}

// openPartitions starts a partition consumer for each explicit partition,
// at its pending seek, its initial offset (first session), or its position.
func (m *member) openPartitions(first bool) (map[TopicPartition]sarama.PartitionConsumer, error) {
	pcs := map[TopicPartition]sarama.PartitionConsumer{}
	for _, mp := range m.manual {
		off, err := m.startOffset(mp, first)
		if err == nil {
			var pc sarama.PartitionConsumer
			pc, err = m.consumer.ConsumePartition(mp.tp.Topic, mp.tp.Partition, off)
			if errors.Is(err, sarama.ErrOffsetOutOfRange) {
				pc, err = m.consumer.ConsumePartition(mp.tp.Topic, mp.tp.Partition, m.c.consumer.initial)
			}
			if err == nil {
				pcs[mp.tp] = pc
				go m.drainConsumerErrors(pc.Errors())
				continue
			}
		}
		for _, pc := range pcs {
			pc.AsyncClose()
			drainPartitionConsumer(pc)
		}
		return nil, fmt.Errorf("consume %s-%d: %w", mp.tp.Topic, mp.tp.Partition, err)
	}
	return pcs, nil
}

func (m *member) startOffset(mp manualPartition, first bool) (int64, error) {
	if t, ok := m.c.takeSeek(mp.tp); ok {
		off, err := resolveSeek(m.client, mp.tp, t)
		if err != nil {
			return 0, err
		}
		m.offsets.set(mp.tp, off)
		return off, nil
	}
	if first && mp.initial != OffsetCommitted {
		return mp.initial, nil
	}
	if off, ok := m.offsets.next(mp.tp); ok {
		return off, nil
	}
	return m.c.consumer.initial, nil
}

// drainPartitionConsumer waits until a closing partition consumer has
// delivered its last message and error.
func drainPartitionConsumer(pc sarama.PartitionConsumer) {
	go func() {
		for range pc.Messages() {
		}
	}()
	for range pc.Errors() {
	}
}

// manualScope is the scope of explicitly assigned partitions.
type manualScope struct {
	m     *member
	com   *committer
	alive atomic.Bool
}

func (s *manualScope) mark(tp TopicPartition, next int64) {
	if s.alive.Load() {
		s.m.offsets.mark(tp, next)
	}
}

func (s *manualScope) commitSync() {
	if s.alive.Load() {
		s.m.commit(s.m.offsets.commit)
	}
}

func (s *manualScope) commitAsync() {
	if s.com != nil {
		s.com.kick()
	}
}

func (s *manualScope) pause(tp TopicPartition) {
	s.m.consumer.Pause(map[string][]int32{tp.Topic: {tp.Partition}})
}

func (s *manualScope) resume(tp TopicPartition) {
	s.m.consumer.Resume(map[string][]int32{tp.Topic: {tp.Partition}})
}

// seekTo, from an assigned hook, leaves the seek pending for openPartitions.
func (s *manualScope) seekTo(tp TopicPartition, t seekTarget) error {
	s.m.c.mu.Lock()
	defer s.m.c.mu.Unlock()
	s.m.c.seeks[tp] = t
	return nil
}
