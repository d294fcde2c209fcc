package listener_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/kspring/kspring/listener"
	"github.com/kspring/kspring/serde"
	"github.com/kspring/kspring/template"
)

type quoteRequest struct {
	Symbol string `json:"symbol"`
}

type quote struct {
	Symbol string  `json:"symbol"`
	Price  float64 `json:"price"`
}

// A ListenReply handler answers a ReplyingTemplate's requests: the reply
// carries the request's correlation id and comes back to the caller.
func TestRequestReply(t *testing.T) {
	b := broker(t, map[string]int32{"quotes": 2, "quote-replies": 2})
	quotes, replyTopic, pricer := b.Topic("quotes"), b.Topic("quote-replies"), groupID(t, b, "pricer")
	replies := sender(t, b.Addr())
	r := registry(t, b.Addr(), testConfig(), listener.WithReplyTemplate(replies))
	require.NoError(t, r.Register(listener.ListenReply(pricer, func(_ context.Context, q quoteRequest) (*quote, error) {
		if q.Symbol == "NONE" {
			return nil, nil // no reply
		}
		return &quote{Symbol: q.Symbol, Price: float64(len(q.Symbol)) * 10}, nil
	}, listener.Topics(quotes), listener.ValueDeserializer(serde.JSON[quoteRequest]{}),
		listener.ReplySerializer(serde.JSON[*quote]{TypeID: "com.acme.Quote"}))))
	start(t, r)

	requests, err := template.Dial[string, quoteRequest]([]string{b.Addr()}, template.Config{RequestTimeoutMs: 5000, MaxBlockMs: 5000},
		template.WithValueSerializer(serde.JSON[quoteRequest]{}))
	require.NoError(t, err)
	t.Cleanup(func() { _ = requests.Close(context.Background()) })
	rt, err := listener.NewReplyingTemplate[string, quoteRequest, quote](requests, []string{b.Addr()}, replyTopic,
		listener.ReplyDeserializer(serde.JSON[quote]{}), listener.ReplyTimeout(waitFor),
		listener.ReplyConsumerConfig(testConfig()), listener.ReplyPartition(1))
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	require.NoError(t, rt.Start(ctx))
	t.Cleanup(func() { require.NoError(t, rt.Close(context.Background())) })

	errs := make(chan error, 3)
	for _, sym := range []string{"KAFKA", "GO", "JVM"} {
		go func() {
			k := sym
			res, err := rt.SendAndReceive(ctx, template.ProducerRecord[string, quoteRequest]{Topic: quotes, Key: &k, Value: quoteRequest{Symbol: sym}})
			if err == nil && (res.Value != quote{Symbol: sym, Price: float64(len(sym)) * 10}) {
				err = fmt.Errorf("%s: got %+v", sym, res.Value)
			}
			if err == nil && res.Partition != 1 {
				err = fmt.Errorf("%s: reply on partition %d, asked for 1", sym, res.Partition)
			}
			if err == nil {
				if v, _ := res.Headers.Get(serde.TypeIDHeader); string(v) != "com.acme.Quote" {
					err = fmt.Errorf("%s: type header %q", sym, v)
				}
			}
			errs <- err
		}()
	}
	for range 3 {
		require.NoError(t, <-errs)
	}

	// No reply: the caller times out.
	short, cancelShort := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancelShort()
	_, err = rt.SendAndReceive(short, template.ProducerRecord[string, quoteRequest]{Topic: quotes, Value: quoteRequest{Symbol: "NONE"}})
	require.ErrorIs(t, err, listener.ErrReplyTimeout)
}

// @SendTo with a topic: replies go there, keyed like the request, with its
// correlation id.
func TestReplyToTopic(t *testing.T) {
	b := broker(t, map[string]int32{"in": 1, "out": 1})
	inTopic, outTopic := b.Topic("in"), b.Topic("out")
	inDLT := topicNamed(t, b, inTopic+"-dlt", 1)
	upper, nowhere := groupID(t, b, "upper"), groupID(t, b, "nowhere")
	s := sender(t, b.Addr())
	r := registry(t, b.Addr(), testConfig(), listener.WithReplyTemplate(s), listener.WithDeadLetterPublisher(s))
	require.NoError(t, r.Register(listener.ListenReply(upper, func(_ context.Context, v string) (string, error) {
		return strings.ToUpper(v), nil
	}, listener.Topics(inTopic), listener.ReplyTo(outTopic))))
	require.NoError(t, r.Register(listener.ListenReply(nowhere, func(_ context.Context, v string) (string, error) {
		return v, nil
	}, listener.Topics(inTopic))))
	start(t, r)
	key := []byte("k1")
	sendRecord(t, s, template.ProducerRecord[[]byte, []byte]{Topic: inTopic, Key: &key, Value: []byte("hello"),
		Headers: []serde.Header{{Key: listener.HeaderCorrelationID, Value: []byte("c-42")}}})
	out := readTopic(t, b.Addr(), outTopic, 0, 0, 1)[0]
	require.Equal(t, "HELLO", string(out.Value))
	require.Equal(t, key, out.Key)
	require.Equal(t, []byte("c-42"), header(out, listener.HeaderCorrelationID))

	// Without ReplyTo or a kafka_replyTopic header there is nowhere to reply:
	// not retryable, so dead-lettered at once.
	dl := readTopic(t, b.Addr(), inDLT, 0, 0, 1)[0]
	require.Contains(t, string(header(dl, listener.HeaderDLTExceptionMessage)), "no reply topic")
	require.True(t, errors.Is(listener.NotRetryable(listener.ErrNoReplyTopic), listener.ErrNoReplyTopic))
}
