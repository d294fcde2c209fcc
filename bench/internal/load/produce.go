package load

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Acks selects the producer's durability mode.
type Acks string

const (
	// AcksLeader is acks=1 with the idempotent producer disabled.
	AcksLeader Acks = "1"
	// AcksAll is acks=all with kgo's idempotent producer, its default.
	AcksAll Acks = "all"
)

// ProducerOpts returns the kgo options for acks.
func ProducerOpts(acks Acks) ([]kgo.Opt, error) {
	switch acks {
	case AcksLeader:
		return []kgo.Opt{kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite()}, nil
	case AcksAll:
		return nil, nil // kgo's default: acks=all, idempotent
	default:
		return nil, fmt.Errorf("acks %q: want %q or %q", acks, AcksLeader, AcksAll)
	}
}

// NewProducer returns a kgo client producing to topic at addr with the acks
// mode, window records buffered at most and no compression. The caller
// closes it.
func NewProducer(addr, topic string, acks Acks, window int, extra ...kgo.Opt) (*kgo.Client, error) {
	ackOpts, err := ProducerOpts(acks)
	if err != nil {
		return nil, err
	}
	opts := append([]kgo.Opt{
		kgo.SeedBrokers(strings.Split(addr, ",")...),
		kgo.DefaultProduceTopic(topic),
		kgo.MaxBufferedRecords(window),
		// Uncompressed, so that both brokers handle the bytes as sent and
		// the client spends no CPU on snappy (kgo's default).
		kgo.ProducerBatchCompression(kgo.NoCompression()),
	}, ackOpts...)
	cl, err := kgo.NewClient(append(opts, extra...)...)
	if err != nil {
		return nil, fmt.Errorf("producer for %s: %w", addr, err)
	}
	return cl, nil
}

// Pipeline produces records through a kgo client, keeping at most a fixed
// number in flight: Produce blocks while the window is full, and each
// record's callback frees its slot. The first failure is kept and returned
// by Produce and Flush.
type Pipeline struct {
	cl     *kgo.Client
	window chan struct{}
	done   func(*kgo.Record, error)
	onAck  func(*kgo.Record)

	mu  sync.Mutex
	err error
	n   int64 // records acknowledged
}

// NewPipeline returns a Pipeline over cl with window records in flight.
func NewPipeline(cl *kgo.Client, window int) *Pipeline {
	p := &Pipeline{cl: cl, window: make(chan struct{}, window)}
	p.done = p.complete
	return p
}

func (p *Pipeline) complete(r *kgo.Record, err error) {
	p.mu.Lock()
	if err != nil && p.err == nil {
		p.err = err
	}
	if err == nil {
		p.n++
	}
	p.mu.Unlock()
	if err == nil && p.onAck != nil {
		p.onAck(r)
	}
	<-p.window
}

// OnAck sets a function called with every acknowledged record, on kgo's
// goroutine, in the order of each partition's acknowledgements. Set it
// before the first Produce.
func (p *Pipeline) OnAck(f func(*kgo.Record)) { p.onAck = f }

// Err returns the first produce error seen so far.
func (p *Pipeline) Err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// Acked returns how many records the broker has acknowledged.
func (p *Pipeline) Acked() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n
}

// Produce sends r asynchronously. It waits for a free slot in the window
// until ctx ends and returns the first failure of an earlier record, if any.
// r belongs to the client until its callback has run.
func (p *Pipeline) Produce(ctx context.Context, r *kgo.Record) error {
	select {
	case p.window <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("produce: waiting for the window: %w", ctx.Err())
	}
	p.cl.Produce(ctx, r, p.done)
	return p.Err()
}

// Flush waits until every record produced so far is acknowledged (or ctx
// ends) and returns the first failure.
func (p *Pipeline) Flush(ctx context.Context) error {
	if err := p.cl.Flush(ctx); err != nil {
		return fmt.Errorf("produce: flush: %w", err)
	}
	if err := p.Err(); err != nil {
		return fmt.Errorf("produce: %w", err)
	}
	return nil
}

// Fill produces n records of value through a new pipelined producer and
// waits for all of them to be acknowledged.
func Fill(ctx context.Context, addr, topic string, acks Acks, n int, value []byte) error {
	const window = 10_000
	cl, err := NewProducer(addr, topic, acks, window)
	if err != nil {
		return err
	}
	defer cl.Close()
	p := NewPipeline(cl, window)
	for range n {
		if err := p.Produce(ctx, &kgo.Record{Value: value}); err != nil {
			return err
		}
	}
	return p.Flush(ctx)
}
