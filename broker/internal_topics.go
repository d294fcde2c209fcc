package broker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/kspring/kspring/broker/internal/batch"
	"github.com/kspring/kspring/broker/internal/log"
	"github.com/kspring/kspring/broker/internal/replica"
)

// The coordinators' stores (offsets_store.go, txn_store.go) write and read
// their internal topics the same way: one batch appended as the leader and
// acknowledged by the ISR, and a replay of the whole partition on load.

// appendToISR appends b to p, partition of the internal topic, and waits at
// most timeout for the ISR to have it (acks=all, min.insync.replicas
// honoured), mapping failures to the Kafka codes the coordinators answer.
func appendToISR(ctx context.Context, p *replica.Partition, topic string, partition int32, b []byte, now time.Time, timeout time.Duration) error {
	res, err := p.Append(b, -1, now)
	if err == nil {
		// An ISR that cannot take the records (a dead follower not yet
		// dropped) still gets an answer in time.
		wctx, cancel := context.WithTimeout(ctx, timeout)
		err = p.WaitReplicated(wctx, res.LastOffset+1)
		cancel()
	}
	var code *kerr.Error
	switch {
	case err == nil:
		return nil
	case errors.Is(err, replica.ErrNotLeader), errors.Is(err, replica.ErrDeleted):
		code = kerr.NotLeaderForPartition
	case errors.Is(err, replica.ErrNotEnoughReplicas):
		code = kerr.NotEnoughReplicas
	case errors.Is(err, replica.ErrNotEnoughReplicasAfterAppend):
		code = kerr.NotEnoughReplicasAfterAppend
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		code = kerr.RequestTimedOut
	case errors.Is(err, log.ErrInvalidProducerEpoch):
		code = kerr.InvalidProducerEpoch
	case errors.Is(err, log.ErrInvalidTxnState):
		code = kerr.InvalidTxnState
	default:
		return fmt.Errorf("%s-%d: %w: %v", topic, partition, kerr.KafkaStorageError, err)
	}
	return fmt.Errorf("%s-%d: %w", topic, partition, code)
}

// replayPartition hands fn every batch of p, partition of the internal
// topic, in offset order up to its log end, with its parsed header.
func replayPartition(ctx context.Context, p *replica.Partition, topic string, partition int32, fn func(h batch.Header, b []byte) error) error {
	off := p.StartOffset()
	for off < p.EndOffset() {
		if err := ctx.Err(); err != nil {
			return err
		}
		data, err := p.Log().Read(off, 1<<20, p.EndOffset())
		if err != nil {
			return fmt.Errorf("%s-%d at %d: %w", topic, partition, off, err)
		}
		if len(data) == 0 {
			break
		}
		err = batch.Split(data, func(b []byte) error {
			h, err := batch.ParseHeader(b)
			if err != nil {
				return err
			}
			off = h.LastOffset() + 1
			return fn(h, b)
		})
		if err != nil {
			return fmt.Errorf("%s-%d: %w", topic, partition, err)
		}
	}
	return nil
}
