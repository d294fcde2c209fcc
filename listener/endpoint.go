package listener

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"runtime/debug"

	"github.com/kspring/kspring/serde"
)

// Endpoint is a typed handler with its options, type-erased so that
// endpoints of different value types live in one Registry. Build one with
// Listen, ListenRecord, ListenBatch or ListenReply; Register checks it and
// turns it into a Container.
//
// An Endpoint is an immutable value; it may be registered in several
// registries.
type Endpoint struct {
	id    string
	batch bool
	reply bool
	opts  []Option
	bind  func(b binding) (delivery, error)
}

// ID returns the endpoint id as given, before placeholders are resolved.
func (e Endpoint) ID() string { return e.id }

// With returns a copy of e with more options, applied after e's own.
func (e Endpoint) With(opts ...Option) Endpoint {
	e.opts = append(append([]Option(nil), e.opts...), opts...)
	return e
}

// binding is what a delivery is built from: the typed options, still
// untyped until bind checks them.
type binding struct {
	valueDeser any
	// props are the endpoint's consumer properties, Config's under them:
	// value.deserializer and spring.json.* select the default deserializer.
	props    map[string]string
	replySer any
	replyTo  string
}

// delivery deserializes records and calls the handler. Its methods recover
// panics in user code and return them as *PanicError.
type delivery interface {
	// record delivers one record. For a reply handler, hasReply reports a
	// result to send, already serialized, with the headers its serializer
	// set.
	record(ctx context.Context, raw *RawRecord, attempt int, ack Acknowledgment) (out reply, err error)
	// batch delivers the records that deserialize; bad lists the others,
	// which the handler did not see. A *BatchFailedError names an index of
	// raws.
	batch(ctx context.Context, raws []*RawRecord, attempt int, acks []Acknowledgment) (bad []badRecord, err error)
}

type reply struct {
	ok      bool
	topic   string
	value   []byte
	headers serde.Headers
}

type badRecord struct {
	index int
	err   error
}

// Listen returns an endpoint whose handler takes the record value, the
// simplest @KafkaListener method form. The value is deserialized with
// serde.For[T]() unless ValueDeserializer says otherwise.
func Listen[T any](id string, fn func(context.Context, T) error, opts ...Option) Endpoint {
	return Endpoint{id: id, opts: opts, bind: func(b binding) (delivery, error) {
		vd, err := valueDeserializer[T](b.valueDeser, b.props)
		if err != nil {
			return nil, err
		}
		return &recordDelivery[T]{vd: vd, value: fn}, nil
	}}
}

// ListenRecord returns an endpoint whose handler takes the whole *Record[T]:
// metadata, headers, delivery attempt and, in the manual ack modes, the
// Acknowledgment.
func ListenRecord[T any](id string, fn func(context.Context, *Record[T]) error, opts ...Option) Endpoint {
	return Endpoint{id: id, opts: opts, bind: func(b binding) (delivery, error) {
		vd, err := valueDeserializer[T](b.valueDeser, b.props)
		if err != nil {
			return nil, err
		}
		return &recordDelivery[T]{vd: vd, rec: fn}, nil
	}}
}

// ListenBatch returns a batch endpoint: the handler takes the records taken
// from one partition in one go (up to max-poll-records), in offset order.
// Records whose value cannot be deserialized are not in the batch: they go
// to the error handler at once, as not retryable. A handler error retries
// the whole batch; return BatchFailed(i, err) to say which record failed.
func ListenBatch[T any](id string, fn func(context.Context, []*Record[T]) error, opts ...Option) Endpoint {
	return Endpoint{id: id, batch: true, opts: opts, bind: func(b binding) (delivery, error) {
		vd, err := valueDeserializer[T](b.valueDeser, b.props)
		if err != nil {
			return nil, err
		}
		return &batchDelivery[T]{vd: vd, fn: fn}, nil
	}}
}

// ListenReply returns an endpoint whose handler's result is sent as a reply
// (Spring's @SendTo): to the ReplyTo topic, or else to the topic in the
// request's kafka_replyTopic header (and its kafka_replyPartition, if any),
// with the request's kafka_correlationId header and key. A nil pointer or
// nil interface result sends nothing. The result is serialized with
// serde.For[R]() unless ReplySerializer says otherwise. Replies go through
// the registry's reply template (WithReplyTemplate), and a record counts as
// processed only once its reply is written.
func ListenReply[T, R any](id string, fn func(context.Context, T) (R, error), opts ...Option) Endpoint {
	return ListenRecordReply[T, R](id, func(ctx context.Context, r *Record[T]) (R, error) { return fn(ctx, r.Value) }, opts...)
}

// ListenRecordReply is ListenReply with a handler that takes the *Record[T].
func ListenRecordReply[T, R any](id string, fn func(context.Context, *Record[T]) (R, error), opts ...Option) Endpoint {
	return Endpoint{id: id, reply: true, opts: opts, bind: func(b binding) (delivery, error) {
		vd, err := valueDeserializer[T](b.valueDeser, b.props)
		if err != nil {
			return nil, err
		}
		var rs serde.Serializer[R] = serde.For[R]()
		if b.replySer != nil {
			s, ok := b.replySer.(serde.Serializer[R])
			if !ok {
				return nil, fmt.Errorf("%w: reply serializer %T is not a serde.Serializer[%v]", ErrConfig, b.replySer, reflect.TypeFor[R]())
			}
			rs = s
		}
		return &replyDelivery[T, R]{vd: vd, rs: rs, fn: fn, topic: b.replyTo}, nil
	}}
}

// valueDeserializer returns the deserializer set by the ValueDeserializer
// option, else the one the configured value.deserializer class selects, else
// serde.For[T]().
func valueDeserializer[T any](set any, props map[string]string) (serde.Deserializer[T], error) {
	if set == nil {
		d, err := serde.DeserializerFor[T](props["value.deserializer"], props, false)
		if err != nil {
			return nil, fmt.Errorf("%w: value deserializer: %w", ErrConfig, err)
		}
		return d, nil
	}
	d, ok := set.(serde.Deserializer[T])
	if !ok {
		return nil, fmt.Errorf("%w: value deserializer %T is not a serde.Deserializer[%v]", ErrConfig, set, reflect.TypeFor[T]())
	}
	return d, nil
}

// recovered turns a panic into a *PanicError in *err.
func recovered(err *error) {
	if r := recover(); r != nil {
		*err = &PanicError{Value: r, Stack: debug.Stack()}
	}
}

type recordDelivery[T any] struct {
	vd    serde.Deserializer[T]
	value func(context.Context, T) error
	rec   func(context.Context, *Record[T]) error
}

func (d *recordDelivery[T]) record(ctx context.Context, raw *RawRecord, attempt int, ack Acknowledgment) (_ reply, err error) {
	defer recovered(&err)
	v, err := serde.DeserializeValue(d.vd, raw.Topic, raw.Headers, raw.Value)
	if err != nil {
		return reply{}, err
	}
	if d.value != nil {
		return reply{}, d.value(ctx, v)
	}
	return reply{}, d.rec(ctx, newRecord(raw, v, attempt, ack))
}

func (d *recordDelivery[T]) batch(context.Context, []*RawRecord, int, []Acknowledgment) ([]badRecord, error) {
	return nil, errors.New("listener: record handler given a batch")
}

func newRecord[T any](raw *RawRecord, v T, attempt int, ack Acknowledgment) *Record[T] {
	return &Record[T]{
		Topic: raw.Topic, Partition: raw.Partition, Offset: raw.Offset, Key: raw.Key, Value: v,
		Headers: raw.Headers, Timestamp: raw.Timestamp, DeliveryAttempt: attempt, Ack: ack,
	}
}

type batchDelivery[T any] struct {
	vd serde.Deserializer[T]
	fn func(context.Context, []*Record[T]) error
}

func (d *batchDelivery[T]) record(context.Context, *RawRecord, int, Acknowledgment) (reply, error) {
	return reply{}, errors.New("listener: batch handler given a record")
}

func (d *batchDelivery[T]) batch(ctx context.Context, raws []*RawRecord, attempt int, acks []Acknowledgment) (bad []badRecord, err error) {
	recs := make([]*Record[T], 0, len(raws))
	index := make([]int, 0, len(raws)) // index in raws of each record in recs
	for i, raw := range raws {
		v, err := deserializeSafely(d.vd, raw)
		if err != nil {
			bad = append(bad, badRecord{i, err})
			continue
		}
		var ack Acknowledgment
		if acks != nil {
			ack = acks[i]
		}
		recs = append(recs, newRecord(raw, v, attempt, ack))
		index = append(index, i)
	}
	if len(recs) == 0 {
		return bad, nil
	}
	err = d.call(ctx, recs)
	if bf, ok := errors.AsType[*BatchFailedError](err); ok {
		if bf.Index < 0 || bf.Index >= len(index) {
			return bad, fmt.Errorf("listener: batch handler failed with index %d of a batch of %d: %w", bf.Index, len(recs), bf.Err)
		}
		return bad, &BatchFailedError{Index: index[bf.Index], Err: bf.Err}
	}
	return bad, err
}

func (d *batchDelivery[T]) call(ctx context.Context, recs []*Record[T]) (err error) {
	defer recovered(&err)
	return d.fn(ctx, recs)
}

// deserializeSafely deserializes raw's value; serde.DeserializeValue already
// recovers a panicking deserializer.
func deserializeSafely[T any](vd serde.Deserializer[T], raw *RawRecord) (T, error) {
	return serde.DeserializeValue(vd, raw.Topic, raw.Headers, raw.Value)
}

type replyDelivery[T, R any] struct {
	vd    serde.Deserializer[T]
	rs    serde.Serializer[R]
	fn    func(context.Context, *Record[T]) (R, error)
	topic string
}

func (d *replyDelivery[T, R]) record(ctx context.Context, raw *RawRecord, attempt int, ack Acknowledgment) (out reply, err error) {
	defer recovered(&err)
	v, err := serde.DeserializeValue(d.vd, raw.Topic, raw.Headers, raw.Value)
	if err != nil {
		return reply{}, err
	}
	r, err := d.fn(ctx, newRecord(raw, v, attempt, ack))
	if err != nil || isNil(r) {
		return reply{}, err
	}
	topic := d.topic
	if topic == "" {
		if t, ok := raw.Headers.Get(HeaderReplyTopic); ok {
			topic = string(t)
		}
	}
	if topic == "" {
		return reply{}, NotRetryable(fmt.Errorf("%w: set ReplyTo or send requests with a %s header", ErrNoReplyTopic, HeaderReplyTopic))
	}
	var h serde.Headers
	b, err := serde.SerializeValue(d.rs, topic, &h, r)
	if err != nil {
		return reply{}, NotRetryable(err)
	}
	return reply{ok: true, topic: topic, value: b, headers: h}, nil
}

func (d *replyDelivery[T, R]) batch(context.Context, []*RawRecord, int, []Acknowledgment) ([]badRecord, error) {
	return nil, errors.New("listener: reply handler given a batch")
}

func isNil(v any) bool {
	if v == nil {
		return true
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Pointer, reflect.Interface, reflect.Map, reflect.Slice, reflect.Func, reflect.Chan:
		return rv.IsNil()
	}
	return false
}
