package traceparent

import (
	"bytes"

	"go.opentelemetry.io/otel/trace"

	"github.com/kspring/kspring/serde"
)

// Extract reads the span context in h as propagation.TraceContext.Extract
// reads it through a serde.HeaderCarrier (the last header of each name
// counts, an empty value is none): a remote span context, or the zero
// SpanContext when h carries no valid traceparent. A tracestate that does
// not parse is dropped, as the W3C specification asks, without touching
// the traceparent. Only a trace state is allocated.
func Extract(h serde.Headers) trace.SpanContext {
	v, _ := h.Get(Header)
	if len(v) == 0 {
		return trace.SpanContext{}
	}
	var ver [1]byte
	if !part(ver[:], &v) || ver[0] == 0xff { // version 255 is invalid
		return trace.SpanContext{}
	}
	var scc trace.SpanContextConfig
	var flags [1]byte
	if !part(scc.TraceID[:], &v) || !part(scc.SpanID[:], &v) || !part(flags[:], &v) {
		return trace.SpanContext{}
	}
	// Version 00 allows neither more fields nor reserved flag bits; later
	// versions may add both.
	if ver[0] == 0 && (len(v) != 0 || flags[0] > 3) {
		return trace.SpanContext{}
	}
	scc.TraceFlags = trace.TraceFlags(flags[0]) & (trace.FlagsSampled | trace.FlagsRandom)
	if ts, _ := h.Get(StateHeader); len(ts) > 0 {
		scc.TraceState, _ = trace.ParseTraceState(string(ts))
	}
	scc.Remote = true
	sc := trace.NewSpanContext(scc)
	if !sc.IsValid() {
		return trace.SpanContext{}
	}
	return sc
}

// part decodes the lower-case hex field that starts *v, up to the next
// '-' or the end, into dst, which it must fill exactly, and leaves the rest
// after that '-' in *v.
func part(dst []byte, v *[]byte) bool {
	field, rest, _ := bytes.Cut(*v, []byte{'-'})
	*v = rest
	if len(field) != 2*len(dst) {
		return false
	}
	var bad byte
	for i := range dst {
		hi, lo := unhex[field[2*i]], unhex[field[2*i+1]]
		dst[i] = hi<<4 | lo
		bad |= hi | lo
	}
	return bad&0xf0 == 0
}

// unhex maps lower-case hex digits to their values and every other byte
// (upper-case digits included, which the specification forbids) to 0xff.
var unhex = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for i, c := range hexDigits {
		t[c] = byte(i)
	}
	return t
}()
