package listener

import (
	"context"
	"crypto/rand"
	"fmt"
	"sync"
	"time"

	"github.com/IBM/sarama"

	"github.com/kspring/kspring/serde"
	"github.com/kspring/kspring/template"
)

// ReplyingTemplate sends requests through a template and waits for the
// correlated replies, as Spring's ReplyingKafkaTemplate: each request
// carries a kafka_replyTopic header and a random 16-byte
// kafka_correlationId, and the reply that comes back with the same id (from
// a ListenReply endpoint, or a Java @SendTo listener) completes it.
//
// The template consumes every partition of the reply topic, from its end at
// Start, with no consumer group, so every instance of an application sees
// the replies to its own requests. Build one with NewReplyingTemplate,
// Start it, and Close it when done. It is safe for concurrent use.
type ReplyingTemplate[K, V, R any] struct {
	t       *template.Template[K, V]
	brokers []string
	topic   string
	o       replyingOptions
	rd      serde.Deserializer[R]

	mu      sync.Mutex
	reg     *Registry
	pending map[string]chan replyResult[R]
}

type replyResult[R any] struct {
	rec *Record[R]
	err error
}

type replyingOptions struct {
	timeout   time.Duration
	deser     any
	cfg       Config
	regOpts   []RegistryOption
	partition *int32
}

// ReplyingOption configures a ReplyingTemplate.
type ReplyingOption func(*replyingOptions)

// ReplyTimeout bounds the wait for a reply when the context has no earlier
// deadline. Default 5s, as Spring.
func ReplyTimeout(d time.Duration) ReplyingOption {
	return func(o *replyingOptions) { o.timeout = d }
}

// ReplyDeserializer sets the deserializer of replies: a
// serde.Deserializer[R]. Default serde.For[R]().
func ReplyDeserializer(d any) ReplyingOption {
	return func(o *replyingOptions) { o.deser = d }
}

// ReplyConsumerConfig sets the consumer settings of the reply consumer.
func ReplyConsumerConfig(cfg Config) ReplyingOption {
	return func(o *replyingOptions) { o.cfg = cfg }
}

// ReplyRegistryOptions passes options (logger, sarama config) to the
// registry that runs the reply consumer.
func ReplyRegistryOptions(opts ...RegistryOption) ReplyingOption {
	return func(o *replyingOptions) { o.regOpts = append(o.regOpts, opts...) }
}

// ReplyPartition asks repliers to answer on one partition of the reply
// topic (the kafka_replyPartition header); the template still reads them all.
func ReplyPartition(p int32) ReplyingOption {
	return func(o *replyingOptions) { o.partition = &p }
}

// NewReplyingTemplate returns a replying template that sends with t and
// reads replies from replyTopic on the cluster at brokers.
func NewReplyingTemplate[K, V, R any](t *template.Template[K, V], brokers []string, replyTopic string, opts ...ReplyingOption) (*ReplyingTemplate[K, V, R], error) {
	rt := &ReplyingTemplate[K, V, R]{t: t, brokers: brokers, topic: replyTopic, pending: map[string]chan replyResult[R]{}}
	rt.o.timeout = 5 * time.Second
	for _, o := range opts {
		o(&rt.o)
	}
	if t == nil || replyTopic == "" {
		return nil, fmt.Errorf("%w: a replying template needs a template and a reply topic", ErrConfig)
	}
	var err error
	if rt.rd, err = valueDeserializer[R](rt.o.deser, rt.o.cfg.Consumer.props()); err != nil {
		return nil, err
	}
	return rt, nil
}

// Start begins consuming the reply topic at its end and returns once it
// does: replies to requests sent after Start are not missed.
func (rt *ReplyingTemplate[K, V, R]) Start(ctx context.Context) error {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.reg != nil {
		return nil
	}
	parts, err := rt.partitions()
	if err != nil {
		return fmt.Errorf("listener: replying template: reply topic %q: %w", rt.topic, err)
	}
	offsets := map[int32]int64{}
	for _, p := range parts {
		offsets[p] = OffsetLatest
	}
	reg, err := NewRegistry(rt.brokers, rt.o.cfg, rt.o.regOpts...)
	if err != nil {
		return err
	}
	id := "kspring-replies-" + rt.topic + "-" + fmt.Sprintf("%x", randomBytes(4))
	props := map[string]string{"group.id": ""}
	if _, set := rt.o.cfg.Consumer.props()["isolation.level"]; !set && rt.t.IsTransactional() {
		// Replies of a transactional service come in transactions: read
		// the committed ones, as Spring Boot's consumers do once a
		// transaction id prefix is set.
		props["isolation.level"] = "read_committed"
	}
	ep := ListenRecord[[]byte](id, rt.onReply, Partitions(rt.topic, offsets), ValueDeserializer(serde.Bytes{}),
		ConsumerProperties(props), WithAckMode(AckBatch))
	if err := reg.Register(ep); err != nil {
		return err
	}
	if err := reg.Start(ctx); err != nil {
		return err
	}
	rt.reg = reg
	return nil
}

func (rt *ReplyingTemplate[K, V, R]) partitions() ([]int32, error) {
	cs, err := resolveConsumer(rt.o.cfg.Consumer.props())
	if err != nil {
		return nil, err
	}
	var base *sarama.Config
	probe := &Registry{}
	for _, o := range rt.o.regOpts {
		o(probe)
	}
	base = probe.base
	sc, err := cs.saramaConfig(base, "kspring-replies-admin")
	if err != nil {
		return nil, err
	}
	client, err := sarama.NewClient(rt.brokers, sc)
	if err != nil {
		return nil, err
	}
	defer client.Close()
	return client.Partitions(rt.topic)
}

// Close stops the reply consumer; requests still waiting fail with
// ErrClosed.
func (rt *ReplyingTemplate[K, V, R]) Close(ctx context.Context) error {
	rt.mu.Lock()
	reg := rt.reg
	rt.reg = nil
	pending := rt.pending
	rt.pending = map[string]chan replyResult[R]{}
	rt.mu.Unlock()
	for _, ch := range pending {
		select {
		case ch <- replyResult[R]{err: ErrClosed}:
		default:
		}
	}
	if reg == nil {
		return nil
	}
	return reg.Stop(ctx)
}

// SendAndReceive sends rec with the reply headers and waits for its reply,
// at most the reply timeout or until ctx ends (ErrReplyTimeout). A send
// failure is returned as the template reports it.
func (rt *ReplyingTemplate[K, V, R]) SendAndReceive(ctx context.Context, rec template.ProducerRecord[K, V]) (*Record[R], error) {
	cid := randomBytes(16)
	ch := make(chan replyResult[R], 1)
	rt.mu.Lock()
	if rt.reg == nil {
		rt.mu.Unlock()
		return nil, fmt.Errorf("listener: replying template not started: %w", ErrClosed)
	}
	rt.pending[string(cid)] = ch
	rt.mu.Unlock()
	defer func() {
		rt.mu.Lock()
		delete(rt.pending, string(cid))
		rt.mu.Unlock()
	}()

	rec.Headers = rec.Headers.Clone()
	rec.Headers.Set(HeaderReplyTopic, []byte(rt.topic))
	rec.Headers.Set(HeaderCorrelationID, cid)
	if rt.o.partition != nil {
		rec.Headers.Set(HeaderReplyPartition, Int32Header(*rt.o.partition))
	}
	ctx, cancel := context.WithTimeout(ctx, rt.o.timeout)
	defer cancel()
	f := rt.t.SendRecord(ctx, rec)
	sent := f.Done()
	for {
		select {
		case r := <-ch:
			return r.rec, r.err
		case <-sent:
			sent = nil
			if _, err := f.Result(); err != nil {
				return nil, err
			}
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: correlation id %x after %v: %w", ErrReplyTimeout, cid, rt.o.timeout, ctx.Err())
		}
	}
}

func (rt *ReplyingTemplate[K, V, R]) onReply(_ context.Context, r *Record[[]byte]) error {
	cid, ok := r.Headers.Get(HeaderCorrelationID)
	if !ok {
		return nil
	}
	rt.mu.Lock()
	ch := rt.pending[string(cid)]
	rt.mu.Unlock()
	if ch == nil {
		return nil // a reply for another instance, or one that timed out
	}
	v, err := serde.DeserializeValue(rt.rd, r.Topic, r.Headers, r.Value)
	res := replyResult[R]{err: err}
	if err == nil {
		res.rec = &Record[R]{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset, Key: r.Key, Value: v,
			Headers: r.Headers, Timestamp: r.Timestamp, DeliveryAttempt: r.DeliveryAttempt}
	}
	select {
	case ch <- res:
	default:
	}
	return nil
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}
