package listener

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"
	"go.uber.org/zap"
)

// worker delivers the records of one partition for one session, in offset
// order. It holds the member's turn while it delivers and lets go of it
// while it waits (back-off, nack, pause, a retry topic's delay), so the
// member's other partitions go on. Every wait ends when the session does
// (a rebalance, a seek, a stop); the records not processed by then are left
// uncommitted for the next owner of the partition.
type worker struct {
	m    *member
	c    *Container
	sc   scope
	tp   TopicPartition
	done <-chan struct{}
	kind topicKind // main, retry or dead-letter topic of a retry plan
	held bool

	marked  int    // records marked since the last afterBatch
	obsName string // the consumer's name in observations, "<listener id>-<n>"
	lag     *partitionLag

	mu     sync.Mutex  // guards nack, set by Acknowledgment.Nack
	nacked atomic.Bool // nack, readable without the lock
	nack   bool
	nackI  int
	nackD  time.Duration
}

func newWorker(m *member, sc scope, tp TopicPartition, done <-chan struct{}) *worker {
	w := &worker{m: m, c: m.c, sc: sc, tp: tp, done: done}
	if m.c.reg.obs.on() {
		w.obsName = m.c.id + "-" + strconv.Itoa(m.n)
	}
	if m.c.retry != nil {
		w.kind = m.c.retry.kindOf(tp.Topic)
	}
	return w
}

// consume takes records from msgs in batches of what is at hand, up to
// max-poll-records, until the session ends or msgs closes.
func (w *worker) consume(msgs <-chan *sarama.ConsumerMessage) {
	batch := make([]*sarama.ConsumerMessage, 0, 64)
	for {
		batch = batch[:0]
		select {
		case msg, ok := <-msgs:
			if !ok {
				return
			}
			batch = append(batch, msg)
		case <-w.done:
			return
		}
		closed := false
	fill:
		for len(batch) < w.c.consumer.maxPollRecords {
			select {
			case msg, ok := <-msgs:
				if !ok {
					closed = true
					break fill
				}
				batch = append(batch, msg)
			default:
				break fill
			}
		}
		if !w.process(batch) || closed {
			return
		}
	}
}

// process delivers one batch and commits as the ack mode says. It reports
// false when the session ended before every record was processed.
func (w *worker) process(msgs []*sarama.ConsumerMessage) bool {
	// One allocation for the batch's records rather than one each.
	slab := make([]RawRecord, len(msgs))
	raws := make([]*RawRecord, len(msgs))
	for i, msg := range msgs {
		fillRaw(&slab[i], msg)
		raws[i] = &slab[i]
	}
	var ok bool
	switch {
	case w.kind == topicDLT:
		ok = w.processDLT(raws)
	case w.c.txm != nil && w.c.batch:
		ok = w.processBatchTx(raws)
	case w.c.batch:
		ok = w.processBatch(raws)
	default:
		ok = w.processRecords(raws)
	}
	w.afterBatch()
	return ok
}

func (w *worker) afterBatch() {
	n := w.marked
	w.marked = 0
	switch w.c.ackMode {
	case AckRecord:
	case AckCount, AckTime, AckCountTime:
		if w.m.counted(n) {
			w.sc.commitAsync()
		}
	default:
		if n > 0 {
			w.sc.commitAsync()
		}
	}
}

func (w *worker) sessionDone() bool {
	select {
	case <-w.done:
		return true
	default:
		return false
	}
}

func (w *worker) acquire() bool {
	if !w.held {
		if !w.m.acquire(w.done) {
			return false
		}
		w.held = true
	}
	return true
}

func (w *worker) release() {
	if w.held {
		w.held = false
		w.m.release()
	}
}

// sleep waits d without the turn; it reports false when the session ended.
func (w *worker) sleep(d time.Duration) bool {
	if d > 0 {
		w.release()
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-w.done:
			return false
		}
	}
	if w.sessionDone() {
		return false
	}
	return w.acquire()
}

// waitActive waits, without the turn, while the container is paused, with
// fetching of the partition paused too.
func (w *worker) waitActive() bool {
	for {
		ch := w.c.paused()
		if ch == nil {
			return !w.sessionDone()
		}
		w.release()
		w.sc.pause(w.tp)
		select {
		case <-ch:
			w.sc.resume(w.tp)
		case <-w.done:
			return false
		}
	}
}

// waitDue waits, without the turn and with the partition paused, until a
// retry-topic record is due.
func (w *worker) waitDue(raw *RawRecord) bool {
	due, ok := retryDue(raw)
	if !ok {
		return true
	}
	wait := time.Until(due)
	if wait <= 0 {
		return true
	}
	w.release()
	w.sc.pause(w.tp)
	defer w.sc.resume(w.tp)
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-w.done:
		return false
	}
}

func (w *worker) notDue(raw *RawRecord) bool {
	if w.kind != topicRetry {
		return false
	}
	due, ok := retryDue(raw)
	return ok && time.Now().Before(due)
}

// mark records that everything up to raw is processed.
func (w *worker) mark(raw *RawRecord) {
	w.sc.mark(w.tp, raw.Offset+1)
	if w.lag != nil {
		w.lag.next.Store(raw.Offset + 1)
	}
	w.marked++
	if w.c.ackMode == AckRecord {
		w.sc.commitAsync()
	}
}

// markRecovered marks a record the error handler is done with; in the
// manual modes it is committed too, as Spring does.
func (w *worker) markRecovered(raw *RawRecord) {
	w.mark(raw)
	if w.c.ackMode.manual() {
		w.sc.commitAsync()
	}
}

func (w *worker) processRecords(raws []*RawRecord) bool {
	defer w.release()
	for i := 0; i < len(raws); {
		if !w.waitActive() {
			return false
		}
		if w.kind == topicRetry && !w.waitDue(raws[i]) {
			return false
		}
		if !w.acquire() {
			return false
		}
		for i < len(raws) && w.c.paused() == nil && !w.notDue(raws[i]) {
			if w.sessionDone() {
				return false
			}
			deliver := w.deliverRecord
			if w.c.txm != nil {
				deliver = w.deliverRecordTx
			}
			if !deliver(raws[i]) {
				return false
			}
			i++
		}
	}
	return true
}

// deliverRecord delivers raw until it is processed or recovered, holding the
// turn but for the waits. It reports false when the session ended first.
func (w *worker) deliverRecord(raw *RawRecord) bool {
	manual := w.c.ackMode.manual()
	if w.c.filter != nil && w.filtered(raw) {
		if !manual {
			w.mark(raw)
		}
		return !w.sessionDone()
	}
	attempt := w.firstAttempt(raw)
	for {
		ctx, ok := w.intercept(w.m.ctx, raw)
		if !ok {
			if !manual {
				w.mark(raw)
			}
			return true
		}
		var ack Acknowledgment
		if manual {
			ack = &recordAck{w: w, offset: raw.Offset}
		}
		w.clearNack()
		obs := &w.c.reg.obs
		var od observed
		if obs.on() {
			ctx, od = obs.startRecord(ctx, raw, w.c.groupID, w.m.clientID)
		}
		out, err := w.c.del.record(ctx, raw, attempt, ack)
		if err == nil && out.ok {
			err = w.sendReply(ctx, raw, out)
		}
		if obs.on() {
			obs.end(od, w.obsName, raw.Topic, err)
		}
		w.after(ctx, raw, err)
		if err == nil {
			if _, d, nacked := w.takeNack(); nacked {
				if !w.sleep(d) {
					return false
				}
				continue
			}
			if !manual {
				w.mark(raw)
			}
			return true
		}
		f := &Failure{Records: []*RawRecord{raw}, Err: err, Attempt: attempt}
		retry, after := w.handle(f)
		if !retry {
			w.markRecovered(raw)
			return true
		}
		if !w.sleep(after) {
			return false
		}
		attempt++
	}
}

// handle calls the error handler, recovering a panic in it as a request to
// retry after a second.
func (w *worker) handle(f *Failure) (retry bool, after time.Duration) {
	return w.handleIn(w.m.ctx, f)
}

// handleIn is handle with the error handler given ctx.
func (w *worker) handleIn(ctx context.Context, f *Failure) (retry bool, after time.Duration) {
	defer func() {
		if r := recover(); r != nil {
			w.m.log.Error("kafka listener: error handler panicked", zap.Any("panic", r), zap.StackSkip("stack", 2))
			retry, after = true, time.Second
		}
	}()
	h := w.c.handler
	if w.c.retry != nil && w.kind != topicDLT {
		h = w.c.retry
	}
	return h.HandleError(ctx, f)
}

func (w *worker) filtered(raw *RawRecord) (discard bool) {
	defer func() {
		if r := recover(); r != nil {
			w.m.log.Error("kafka listener: filter panicked; record delivered", zap.Any("panic", r))
			discard = false
		}
	}()
	return w.c.filter(raw)
}

func (w *worker) intercept(ctx context.Context, raw *RawRecord) (_ context.Context, keep bool) {
	keep = true
	for _, i := range w.c.icpts {
		func() {
			defer func() {
				if r := recover(); r != nil {
					w.m.log.Error("kafka listener: interceptor panicked", zap.Any("panic", r))
				}
			}()
			var next context.Context
			next, keep = i.Intercept(ctx, raw)
			if next != nil {
				ctx = next
			}
		}()
		if !keep {
			return ctx, false
		}
	}
	return ctx, true
}

func (w *worker) after(ctx context.Context, raw *RawRecord, err error) {
	for _, i := range w.c.icpts {
		func() {
			defer func() {
				if r := recover(); r != nil {
					w.m.log.Error("kafka listener: interceptor panicked", zap.Any("panic", r))
				}
			}()
			i.AfterRecord(ctx, raw, err)
		}()
	}
}

// firstAttempt is 1, or on a retry topic the attempt the header says.
func (w *worker) firstAttempt(raw *RawRecord) int {
	if w.kind == topicRetry {
		if b, ok := raw.Headers.Get(HeaderRetryAttempts); ok {
			if n, ok := ParseBigIntHeader(b); ok && n > 0 {
				return int(n)
			}
		}
	}
	return 1
}

func (w *worker) sendReply(ctx context.Context, raw *RawRecord, out reply) error {
	h := out.headers
	if cid, ok := raw.Headers.Get(HeaderCorrelationID); ok {
		h.Set(HeaderCorrelationID, cid)
	}
	partition := int32(-1)
	if t, ok := raw.Headers.Get(HeaderReplyTopic); ok && string(t) == out.topic {
		if p, ok := raw.Headers.Get(HeaderReplyPartition); ok && len(p) == 4 {
			partition = int32(uint32(p[0])<<24 | uint32(p[1])<<16 | uint32(p[2])<<8 | uint32(p[3]))
		}
	}
	if _, err := publish(ctx, w.c.replies, outgoing{topic: out.topic, partition: partition, key: raw.Key, value: out.value, headers: h}); err != nil {
		return fmt.Errorf("listener: send reply to %s: %w", out.topic, err)
	}
	return nil
}

// processBatch delivers raws to a batch handler.
func (w *worker) processBatch(raws []*RawRecord) bool {
	defer w.release()
	if !w.waitActive() || !w.acquire() {
		return false
	}
	manual := w.c.ackMode.manual()
	last := raws[len(raws)-1]
	pending := make([]*RawRecord, 0, len(raws))
	for _, raw := range raws {
		if w.c.filter != nil && w.filtered(raw) {
			continue
		}
		if _, keep := w.intercept(w.m.ctx, raw); keep {
			pending = append(pending, raw)
		}
	}
	attempt := 1
	for len(pending) > 0 {
		var acks []Acknowledgment
		if manual {
			acks = make([]Acknowledgment, len(pending))
			for i, raw := range pending {
				acks[i] = &recordAck{w: w, offset: raw.Offset, index: i}
			}
		}
		w.clearNack()
		obs := &w.c.reg.obs
		ctx, od := w.m.ctx, observed{}
		if obs.on() {
			ctx, od = obs.startBatch(ctx, pending, w.c.groupID, w.m.clientID)
		}
		bad, err := w.c.del.batch(ctx, pending, attempt, acks)
		if obs.on() {
			obs.end(od, w.obsName, pending[0].Topic, err)
		}
		var failed *RawRecord
		bf, isBF := errors.AsType[*BatchFailedError](err)
		if isBF {
			failed = pending[bf.Index]
		}
		delivered := pending
		if len(bad) > 0 {
			pending = w.recoverBad(pending, bad)
		}
		for _, raw := range pending {
			w.after(w.m.ctx, raw, err)
		}
		switch {
		case err == nil:
			i, d, nacked := w.takeNack()
			if !nacked {
				pending = nil
				break
			}
			// Spring's nack(index, sleep): the records before index are done.
			if i >= 0 && i < len(delivered) {
				i = slices.Index(pending, delivered[i])
			}
			if i > 0 {
				w.mark(pending[i-1])
				pending = pending[i:]
			}
			if !w.sleep(d) {
				return false
			}
		case isBF:
			k := slices.Index(pending, failed)
			if k > 0 {
				w.mark(pending[k-1])
				pending, attempt = pending[k:], 1
			}
			retry, after := w.handle(&Failure{Records: []*RawRecord{failed}, Err: bf.Err, Attempt: attempt})
			if !retry {
				w.markRecovered(failed)
				pending, attempt = pending[1:], 1
				continue
			}
			if !w.sleep(after) {
				return false
			}
			attempt++
		default:
			f := &Failure{Records: slices.Clone(pending), Err: err, Attempt: attempt}
			retry, after := w.handle(f)
			if !retry {
				w.markRecovered(pending[len(pending)-1])
				pending = nil
				break
			}
			if dropped := len(pending) - len(f.Records); dropped > 0 && dropped <= len(pending) {
				w.markRecovered(pending[dropped-1])
				pending = pending[dropped:]
			}
			if !w.sleep(after) {
				return false
			}
			attempt++
		}
	}
	if !manual {
		w.mark(last)
	}
	return true
}

// recoverBad hands the records that did not deserialize to the error
// handler, once (they cannot succeed later), and returns pending without
// them.
func (w *worker) recoverBad(pending []*RawRecord, bad []badRecord) []*RawRecord {
	drop := make(map[int]bool, len(bad))
	for _, b := range bad {
		drop[b.index] = true
		if retry, _ := w.handle(&Failure{Records: []*RawRecord{pending[b.index]}, Err: b.err, Attempt: 1}); retry {
			w.m.log.Error("kafka listener: a record that cannot be deserialized was not recovered; skipping it",
				zap.String("topic", w.tp.Topic), zap.Int32("partition", w.tp.Partition),
				zap.Int64("offset", pending[b.index].Offset), zap.Error(b.err))
		}
	}
	out := pending[:0:0]
	for i, raw := range pending {
		if !drop[i] {
			out = append(out, raw)
		}
	}
	return out
}

// processDLT hands dead letters to the retry plan's DLT handler; a failure
// there is logged and the record skipped, as Spring's default DLT strategy.
func (w *worker) processDLT(raws []*RawRecord) bool {
	defer w.release()
	for _, raw := range raws {
		if !w.waitActive() || !w.acquire() {
			return false
		}
		if err := w.c.retry.handleDLT(w.m.ctx, raw); err != nil {
			w.m.log.Error("kafka listener: dead-letter handler failed; record skipped",
				zap.String("topic", raw.Topic), zap.Int32("partition", raw.Partition), zap.Int64("offset", raw.Offset), zap.Error(err))
		}
		w.mark(raw)
	}
	return true
}

func (w *worker) clearNack() {
	if w.nacked.Load() {
		w.takeNack()
	}
}

func (w *worker) takeNack() (int, time.Duration, bool) {
	if !w.nacked.Load() {
		return 0, 0, false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	n := w.nack
	w.nack = false
	w.nacked.Store(false)
	return w.nackI, w.nackD, n
}

// recordAck is the Acknowledgment of one record.
type recordAck struct {
	w      *worker
	offset int64
	index  int // in the batch, for batch listeners
}

func (a *recordAck) Acknowledge() {
	a.w.sc.mark(a.w.tp, a.offset+1)
	if a.w.lag != nil {
		a.w.lag.next.Store(a.offset + 1)
	}
	if a.w.c.ackMode == AckManualImmediate {
		a.w.sc.commitSync()
	} else {
		a.w.sc.commitAsync()
	}
}

func (a *recordAck) Nack(sleep time.Duration) {
	a.w.mu.Lock()
	defer a.w.mu.Unlock()
	if !a.w.nack || a.index < a.w.nackI {
		a.w.nack, a.w.nackI, a.w.nackD = true, a.index, sleep
		a.w.nacked.Store(true)
	}
}
