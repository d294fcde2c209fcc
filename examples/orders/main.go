// Command orders is a small microservice in kspring's style: a service
// struct with its own dependencies, listeners injected by fx, a typed JSON
// template, retries with a dead-letter topic, retry topics, and
// request-reply. It runs a short scenario on the embedded broker and exits.
//
//	go run ./examples/orders
//
// Point it at a real cluster with SPRING_KAFKA_BOOTSTRAP_SERVERS=host:9092.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/kspring/kspring/framework"
	"github.com/kspring/kspring/listener"
	"github.com/kspring/kspring/serde"
	"github.com/kspring/kspring/template"
)

// Topics the service uses.
const (
	ordersTopic   = "orders"
	paymentsTopic = "payments"
	quotesTopic   = "quotes"
	repliesTopic  = "quote-replies"
)

// Order is the event on the orders topic, as JSON that Spring's
// JsonSerializer would also write.
type Order struct {
	ID       string  `json:"id"`
	Customer string  `json:"customer"`
	Amount   float64 `json:"amount"`
}

// QuoteRequest asks for a price; Quote answers it.
type QuoteRequest struct {
	Item     string `json:"item"`
	Quantity int    `json:"quantity"`
}

// Quote is the reply to a QuoteRequest.
type Quote struct {
	Item  string  `json:"item"`
	Total float64 `json:"total"`
}

// errInvalidOrder is a business error no retry can fix.
var errInvalidOrder = errors.New("invalid order")

// OrderService is the application's own code: plain Go with its
// dependencies injected.
type OrderService struct {
	log      *zap.Logger
	payments *template.Template[string, Order]

	mu       sync.Mutex
	accepted []string
	flaky    map[string]int // failures left per order id, to show retries
	events   chan string    // what happened, for the scenario
}

func NewOrderService(log *zap.Logger, payments *template.Template[string, Order]) *OrderService {
	return &OrderService{
		log: log, payments: payments,
		flaky:  map[string]int{"o-2": 2}, // o-2 fails twice, then succeeds
		events: make(chan string, 64),
	}
}

// OnOrder is the orders listener: it validates an order and forwards it
// to payments. A negative amount is not retryable and is dead-lettered at
// once; a transient failure is retried with back-off by the error handler.
func (s *OrderService) OnOrder(ctx context.Context, rec *listener.Record[Order]) error {
	o := rec.Value
	if o.Amount <= 0 {
		return listener.NotRetryable(fmt.Errorf("order %s: amount %.2f: %w", o.ID, o.Amount, errInvalidOrder))
	}
	s.mu.Lock()
	left := s.flaky[o.ID]
	if left > 0 {
		s.flaky[o.ID] = left - 1
	}
	s.mu.Unlock()
	if left > 0 {
		s.events <- fmt.Sprintf("order %s failed on delivery %d (transient), will be retried", o.ID, rec.DeliveryAttempt)
		return fmt.Errorf("order %s: inventory service busy", o.ID)
	}
	if _, err := s.payments.SendKey(ctx, paymentsTopic, o.ID, o).Get(ctx); err != nil {
		return err
	}
	s.events <- fmt.Sprintf("order %s accepted on delivery %d and sent to payments", o.ID, rec.DeliveryAttempt)
	return nil
}

// OnDeadLetter reads the dead-letter topic, with Spring's kafka_dlt-* headers.
func (s *OrderService) OnDeadLetter(_ context.Context, rec *listener.Record[[]byte]) error {
	reason, _ := rec.Headers.Get("kafka_dlt-exception-message")
	topic, _ := rec.Headers.Get("kafka_dlt-original-topic")
	s.events <- fmt.Sprintf("dead letter from %s: %s", topic, reason)
	return nil
}

// OnPayment charges an order; the first attempt of a big payment fails and
// is retried through the payments-retry-N topics (non-blocking retries).
func (s *OrderService) OnPayment(_ context.Context, rec *listener.Record[Order]) error {
	if rec.Value.Amount > 100 && rec.DeliveryAttempt == 1 {
		s.events <- fmt.Sprintf("payment for %s declined on attempt 1, retried later via a retry topic", rec.Value.ID)
		return errors.New("card issuer timeout")
	}
	s.events <- fmt.Sprintf("payment for %s charged on attempt %d", rec.Value.ID, rec.DeliveryAttempt)
	return nil
}

// Price answers quote requests: a listener whose return value is the reply.
func (s *OrderService) Price(_ context.Context, q QuoteRequest) (Quote, error) {
	return Quote{Item: q.Item, Total: 9.5 * float64(q.Quantity)}, nil
}

// listeners declares the service's endpoints: the annotations of a Spring
// @KafkaListener, as options.
func listeners() fx.Option {
	return fx.Options(
		// Spring's DefaultErrorHandler(DeadLetterPublishingRecoverer(template),
		// FixedBackOff(50ms, 3)): three retries, then orders-dlt.
		framework.Listener(func(s *OrderService, dlt *template.Template[[]byte, []byte]) listener.Endpoint {
			return listener.ListenRecord("order-intake", s.OnOrder,
				listener.Topics(ordersTopic), listener.GroupID("orders-service"),
				listener.StartOffset("earliest"),
				listener.WithErrorHandler(listener.NewDefaultErrorHandler(
					listener.WithBackOff(listener.FixedBackOff{Interval: 50 * time.Millisecond, MaxRetries: 3}),
					listener.WithRecoverer(listener.NewDeadLetterRecoverer(dlt)))))
		}),
		framework.Listener(func(s *OrderService) listener.Endpoint {
			return listener.ListenRecord("dead-letters", s.OnDeadLetter,
				listener.Topics(ordersTopic+"-dlt"), listener.GroupID("orders-dlt"),
				listener.StartOffset("earliest"), listener.ValueDeserializer(serde.Bytes{}))
		}),
		framework.Listener(func(s *OrderService) listener.Endpoint {
			return listener.ListenRecord("payments", s.OnPayment,
				listener.Topics(paymentsTopic), listener.GroupID("payments-service"),
				listener.StartOffset("earliest"),
				listener.RetryTopics(listener.RetryTopicConfig{Attempts: 3, Delay: 200 * time.Millisecond}))
		}),
		framework.Listener(func(s *OrderService) listener.Endpoint {
			return listener.ListenReply("pricing", s.Price,
				listener.Topics(quotesTopic), listener.GroupID("pricing-service"), listener.StartOffset("earliest"))
		}),
	)
}

// scenario drives the service once everything has started, prints what
// happens and stops the application.
func scenario(lc fx.Lifecycle, sd fx.Shutdowner, s *OrderService,
	orders *template.Template[string, Order],
	quotes *listener.ReplyingTemplate[string, QuoteRequest, Quote]) {
	lc.Append(fx.StartHook(func() {
		go func() {
			defer func() { _ = sd.Shutdown() }()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			for _, o := range []Order{{"o-1", "ada", 42}, {"o-2", "alan", 180}, {"o-3", "grace", -5}} {
				orders.SendKey(ctx, ordersTopic, o.ID, o).
					OnSuccess(func(r template.SendResult[string, Order]) {
						fmt.Printf("sent order %s to %s-%d@%d\n", o.ID, r.Metadata.Topic, r.Metadata.Partition, r.Metadata.Offset)
					})
			}
			reply, err := quotes.SendAndReceive(ctx, template.ProducerRecord[string, QuoteRequest]{
				Topic: quotesTopic, Value: QuoteRequest{Item: "widget", Quantity: 4}})
			if err != nil {
				fmt.Println("quote failed:", err)
				return
			}
			fmt.Printf("quote: %d x widget = %.2f\n", 4, reply.Value.Total)
			// o-1 and o-2 accepted (o-2 after retries), o-3 dead-lettered,
			// two payments charged (o-2's after a retry topic): 5 outcomes.
			outcomes := 0
			for outcomes < 5 {
				select {
				case e := <-s.events:
					fmt.Println(e)
					if isOutcome(e) {
						outcomes++
					}
				case <-ctx.Done():
					fmt.Println("scenario timed out")
					return
				}
			}
		}()
	}))
}

func isOutcome(e string) bool {
	for _, p := range []string{"accepted", "dead letter", "charged"} {
		if containsWord(e, p) {
			return true
		}
	}
	return false
}

func containsWord(s, w string) bool {
	for i := 0; i+len(w) <= len(s); i++ {
		if s[i:i+len(w)] == w {
			return true
		}
	}
	return false
}

func main() {
	app := fx.New(
		framework.Module(),
		framework.Topic(
			framework.NewTopic{Name: ordersTopic, Partitions: 3},
			framework.NewTopic{Name: ordersTopic + "-dlt", Partitions: 3},
			framework.NewTopic{Name: paymentsTopic, Partitions: 3},
			framework.NewTopic{Name: quotesTopic, Partitions: 1},
			framework.NewTopic{Name: repliesTopic, Partitions: 1},
		),
		framework.ProvideTemplate[string, Order](
			template.WithKeySerializer[string](serde.String{}),
			template.WithValueSerializer[Order](serde.JSON[Order]{TypeID: "com.example.orders.Order"})),
		framework.ProvideTemplate[string, QuoteRequest](
			template.WithKeySerializer[string](serde.String{}),
			template.WithValueSerializer[QuoteRequest](serde.JSON[QuoteRequest]{})),
		framework.ProvideReplyingTemplate[string, QuoteRequest, Quote](repliesTopic),
		fx.Provide(NewOrderService),
		listeners(),
		fx.Invoke(scenario),
	)
	app.Run()
	if err := app.Err(); err != nil {
		fmt.Fprintln(os.Stderr, "orders:", err)
		os.Exit(1)
	}
}
