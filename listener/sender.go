package listener

import (
	"context"
	"fmt"

	"github.com/kspring/kspring/serde"
	"github.com/kspring/kspring/template"
)

// Sender is what the listener needs from a template to publish records of
// bytes: replies, dead letters and retries. A
// *template.Template[[]byte, []byte] is one, so the listener does not force
// the types of an application's own templates.
type Sender interface {
	SendRecord(ctx context.Context, rec template.ProducerRecord[[]byte, []byte]) *template.Future[[]byte, []byte]
}

// outgoing is a record to publish with a Sender.
type outgoing struct {
	topic     string
	partition int32 // < 0: the partitioner decides
	key       []byte
	value     []byte
	headers   serde.Headers
}

// publish sends rec and waits for the broker to confirm it, or ctx to end.
func publish(ctx context.Context, s Sender, rec outgoing) (template.RecordMetadata, error) {
	if s == nil {
		return template.RecordMetadata{}, fmt.Errorf("%w: no sender to publish to %q (see WithReplyTemplate, WithDeadLetterPublisher)", ErrConfig, rec.topic)
	}
	pr := template.ProducerRecord[[]byte, []byte]{Topic: rec.topic, Value: rec.value, Headers: rec.headers}
	if rec.partition >= 0 {
		p := rec.partition
		pr.Partition = &p
	}
	if rec.key != nil {
		k := rec.key
		pr.Key = &k
	}
	res, err := s.SendRecord(ctx, pr).Get(ctx)
	if err != nil {
		return template.RecordMetadata{}, err
	}
	return res.Metadata, nil
}
