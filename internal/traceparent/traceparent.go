package traceparent

import (
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/kspring/kspring/serde"
)

// Header names, as propagation.TraceContext writes them.
const (
	Header      = "traceparent"
	StateHeader = "tracestate"
)

// Len is the length of a version 00 traceparent value:
// "00-" + 32 hex digits + "-" + 16 hex digits + "-" + 2 hex digits.
const Len = 2 + 1 + 32 + 1 + 16 + 1 + 2

// IsDefault reports whether p is propagation.TraceContext, the propagator
// whose work Inject and Extract do.
func IsDefault(p propagation.TextMapPropagator) bool {
	switch p.(type) {
	case propagation.TraceContext, *propagation.TraceContext:
		return true
	}
	return false
}

// Inject writes sc into h as propagation.TraceContext.Inject writes it
// through a serde.HeaderCarrier: nothing for an invalid sc; a non-empty
// trace state replaces the tracestate headers; then the traceparent value,
// encoded into buf, replaces the traceparent headers. h's new traceparent
// value is buf itself: buf must live as long as h does and not be reused
// meanwhile.
func Inject(sc trace.SpanContext, h *serde.Headers, buf *[Len]byte) {
	if !sc.IsValid() {
		return
	}
	if ts := sc.TraceState(); ts.Len() > 0 {
		h.Set(StateHeader, []byte(ts.String()))
	}
	Encode(buf, sc)
	h.Set(Header, buf[:])
}

const hexDigits = "0123456789abcdef"

// Encode writes sc's traceparent, version 00, into buf. Only the sampled
// and random flags are kept, as propagation.TraceContext keeps them.
func Encode(buf *[Len]byte, sc trace.SpanContext) {
	buf[0], buf[1], buf[2] = '0', '0', '-'
	tid, sid := sc.TraceID(), sc.SpanID()
	i := 3
	for _, b := range tid {
		buf[i], buf[i+1] = hexDigits[b>>4], hexDigits[b&0x0f]
		i += 2
	}
	buf[i] = '-'
	i++
	for _, b := range sid {
		buf[i], buf[i+1] = hexDigits[b>>4], hexDigits[b&0x0f]
		i += 2
	}
	flags := byte(sc.TraceFlags() & (trace.FlagsSampled | trace.FlagsRandom))
	buf[i], buf[i+1], buf[i+2] = '-', hexDigits[flags>>4], hexDigits[flags&0x0f]
}
