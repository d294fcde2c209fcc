// Package traceparent writes and reads W3C trace context (the traceparent
// and tracestate headers) in record headers the way OpenTelemetry's
// propagation.TraceContext does, byte for byte, without its generic
// TextMapCarrier path: no string conversions of header values, and the
// traceparent value written into storage the caller owns. The template and
// the listener use it when their propagator is the default
// propagation.TraceContext{}; any other propagator goes through
// TextMapPropagator as before.
//
// The functions hold no state and are safe for concurrent use; the
// headers and buffers they are given belong to the caller.
package traceparent
