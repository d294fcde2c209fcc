package template

import (
	"context"
	"testing"

	"github.com/IBM/sarama"

	"github.com/kspring/kspring/serde"
)

// echoProducer hands every message straight back: a zero-cost producer.
type echoProducer struct {
	sarama.AsyncProducer
	in   chan *sarama.ProducerMessage
	succ chan *sarama.ProducerMessage
	errs chan *sarama.ProducerError
}

func newEcho() *echoProducer {
	p := &echoProducer{in: make(chan *sarama.ProducerMessage), succ: make(chan *sarama.ProducerMessage), errs: make(chan *sarama.ProducerError)}
	go func() {
		for m := range p.in {
			m.Partition, m.Offset = 0, 1
			p.succ <- m
		}
		close(p.succ)
		close(p.errs)
	}()
	return p
}
func (p *echoProducer) Input() chan<- *sarama.ProducerMessage     { return p.in }
func (p *echoProducer) Successes() <-chan *sarama.ProducerMessage { return p.succ }
func (p *echoProducer) Errors() <-chan *sarama.ProducerError      { return p.errs }
func (p *echoProducer) AsyncClose()                               { close(p.in) }

func BenchmarkDiag(b *testing.B) {
	value := make([]byte, 100)
	b.Run("template", func(b *testing.B) {
		ep := newEcho()
		sc, _ := Config{}.Sarama()
		_ = sc
		t := &Template[[]byte, []byte]{producer: ep, input: ep.in, keySer: nil, closing: make(chan struct{}), dispatched: make(chan struct{}),
			maxRecord: 1 << 20, bufferMemory: 32 << 20, maxBlock: 60e9, deliveryTimeout: 120e9}
		t.keySer, t.valueSer = bytesSer{}, bytesSer{}
		t.fl.avail = t.bufferMemory
		t.pulse.Store(&pulse{c: make(chan struct{})})
		t.returns.wake = make(chan struct{}, 1)
		t.quiet = true
		t.listeners = []ProducerListener[[]byte, []byte]{LoggingProducerListener[[]byte, []byte]{}}
		t.records.New = func() any { return new(inflight[[]byte, []byte]) }
		go t.drain()
		go t.completer()
		ctx := context.Background()
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			t.Send(ctx, "x", value)
		}
		_ = t.Flush(ctx)
		b.StopTimer()
		_ = t.Close(ctx)
	})
	b.Run("raw", func(b *testing.B) {
		ep := newEcho()
		done := make(chan struct{})
		go func() {
			for range ep.succ {
			}
			close(done)
		}()
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			ep.in <- &sarama.ProducerMessage{Topic: "x", Value: sarama.ByteEncoder(value)}
		}
		b.StopTimer()
		ep.AsyncClose()
		<-done
	})
}

type bytesSer struct{}

func (bytesSer) Serialize(_ string, _ *serde.Headers, v []byte) ([]byte, error) { return v, nil }
