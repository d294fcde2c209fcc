package template_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/IBM/sarama"
	"go.uber.org/zap"

	"github.com/kspring/kspring/broker"
	"github.com/kspring/kspring/serde"
	"github.com/kspring/kspring/template"
)

// startBroker runs kspring's bundled broker for an example and returns its
// address and a function that stops it.
func startBroker() (string, func()) {
	dir, err := os.MkdirTemp("", "kspring-example-")
	if err != nil {
		panic(err)
	}
	cfg := broker.DefaultConfig()
	cfg.Listeners = []string{"PLAINTEXT://127.0.0.1:0"}
	cfg.LogDirs = []string{dir}
	b, err := broker.New(cfg, broker.WithLogger(zap.NewNop()))
	if err != nil {
		panic(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := b.Start(ctx); err != nil {
		panic(err)
	}
	return b.Addr(), func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = b.Close(ctx)
		_ = os.RemoveAll(dir)
	}
}

// Send a record and hear where it was written, as with Spring's
// kafkaTemplate.send(topic, key, data).addCallback(...).
func ExampleTemplate_SendKey() {
	addr, stop := startBroker()
	defer stop()

	t, err := template.Dial[string, string]([]string{addr}, template.Config{})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	defer t.Close(ctx)

	done := make(chan struct{})
	t.SendKey(ctx, "greetings", "alice", "hello").
		OnSuccess(func(r template.SendResult[string, string]) {
			// Runs on the template's completer goroutine: do not block here.
			fmt.Printf("sent %q to %s-%d at offset %d\n",
				r.Record.Value, r.Metadata.Topic, r.Metadata.Partition, r.Metadata.Offset)
		}).
		OnFailure(func(err error) { fmt.Println("not sent:", err) }).
		OnComplete(func(template.SendResult[string, string], error) { close(done) })
	<-done
	// Output: sent "hello" to greetings-0 at offset 0
}

// Wait for the outcome instead of registering callbacks.
func ExampleFuture_Get() {
	addr, stop := startBroker()
	defer stop()

	type order struct {
		ID    string `json:"id"`
		Total int    `json:"total"`
	}
	t, err := template.Dial[string, order]([]string{addr}, template.Config{},
		// Java consumers using Spring's JsonDeserializer map the type header.
		template.WithValueSerializer(serde.JSON[order]{TypeID: "com.acme.Order"}),
		template.WithDefaultTopic("orders"))
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	defer t.Close(ctx)

	r, err := t.SendDefaultKey(ctx, "o-1", order{ID: "o-1", Total: 42}).Get(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	typeID, _ := r.Record.Headers.Get(serde.TypeIDHeader)
	fmt.Printf("offset %d, %d value bytes, type %s\n", r.Metadata.Offset, r.Metadata.SerializedValueSize, typeID)
	// Output: offset 0, 23 value bytes, type com.acme.Order
}

// A failed send carries the record and the cause, and says whether trying
// again may help.
func ExampleFuture_OnFailure() {
	// Nothing listens on port 1.
	cfg := template.Config{RequestTimeoutMs: 1000, MaxBlockMs: 1000}
	t, err := template.Dial[string, string]([]string{"127.0.0.1:1"}, cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	defer t.Close(ctx)

	done := make(chan struct{})
	t.Send(ctx, "orders", "o-2").OnFailure(func(err error) {
		defer close(done)
		var se *template.SendError[string, string]
		if errors.As(err, &se) {
			fmt.Printf("record %q for %s not sent; brokers down: %t; retriable: %t\n",
				se.Record.Value, se.Record.Topic, errors.Is(err, sarama.ErrOutOfBrokers), se.Retriable())
		}
	})
	<-done
	// Output: record "o-2" for orders not sent; brokers down: true; retriable: true
}
