// Command quickstart is kspring's whole programming model in one small
// program, on the embedded default: no Kafka to install.
//
// An fx application declares a topic, a listener and uses the default
// KafkaTemplate. It sends a few messages; each send's OnSuccess callback
// prints the topic, partition and offset the record got, the listener
// prints what it receives, and the program exits once every message has
// come back.
//
//	go run ./examples/quickstart
package main

import (
	"context"
	"fmt"
	"os"
	"sync"

	"go.uber.org/fx"

	"github.com/kspring/kspring/framework"
	"github.com/kspring/kspring/listener"
	"github.com/kspring/kspring/template"
)

const topic = "quickstart"

var messages = []string{"hello", "from", "kspring", "on", "the", "embedded", "broker"}

// inbox collects what the listener receives and tells main when all came.
type inbox struct {
	mu   sync.Mutex
	seen map[string]bool
	done chan struct{}
}

func newInbox() *inbox { return &inbox{seen: map[string]bool{}, done: make(chan struct{})} }

// receive is the listener: the Go form of a @KafkaListener method.
func (in *inbox) receive(_ context.Context, rec *listener.Record[string]) error {
	fmt.Printf("Received message=[%s] from topic=[%s], partition=[%d], offset=[%d]\n",
		rec.Value, rec.Topic, rec.Partition, rec.Offset)
	in.mu.Lock()
	defer in.mu.Unlock()
	in.seen[rec.Value] = true
	if len(in.seen) == len(messages) {
		close(in.done)
	}
	return nil
}

// send sends every message once the application has started, with the
// callbacks of Spring's ListenableFuture example.
func send(lc fx.Lifecycle, kafka *template.Template[string, string]) {
	lc.Append(fx.StartHook(func(ctx context.Context) {
		for _, msg := range messages {
			kafka.Send(ctx, topic, msg).
				OnSuccess(func(r template.SendResult[string, string]) {
					fmt.Printf("Sent message=[%s] with topic=[%s], partition=[%d], offset=[%d]\n",
						msg, r.Metadata.Topic, r.Metadata.Partition, r.Metadata.Offset)
				}).
				OnFailure(func(err error) {
					fmt.Printf("Unable to send message=[%s] due to : %v\n", msg, err)
				})
		}
	}))
}

// exitWhenDone stops the application once every message was received.
func exitWhenDone(lc fx.Lifecycle, in *inbox, sd fx.Shutdowner) {
	lc.Append(fx.StartHook(func() {
		go func() {
			<-in.done
			_ = sd.Shutdown()
		}()
	}))
}

func main() {
	app := fx.New(
		framework.Module(),
		framework.Topic(framework.NewTopic{Name: topic, Partitions: 3}),
		fx.Provide(newInbox),
		framework.Listener(func(in *inbox) listener.Endpoint {
			return listener.ListenRecord("quickstart-listener", in.receive,
				listener.Topics(topic), listener.GroupID("quickstart"), listener.StartOffset("earliest"))
		}),
		fx.Invoke(send, exitWhenDone),
	)
	app.Run()
	if err := app.Err(); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}
