package serde

// HeaderCarrier lets a propagator (OpenTelemetry's
// propagation.TextMapCarrier: Get, Set, Keys) read and write trace context
// as record headers, the way Kafka clients carry W3C traceparent and
// tracestate. Set replaces every header of the key. It is not safe for
// concurrent use, as Headers is not.
type HeaderCarrier struct{ Headers *Headers }

// Get returns the value of the last header named key as a string, or "".
func (c HeaderCarrier) Get(key string) string {
	v, _ := c.Headers.Get(key)
	return string(v)
}

// Set replaces the headers named key with one holding value.
func (c HeaderCarrier) Set(key, value string) { c.Headers.Set(key, []byte(value)) }

// Keys returns the header keys, in order, repeated keys included.
func (c HeaderCarrier) Keys() []string {
	keys := make([]string, len(*c.Headers))
	for i, h := range *c.Headers {
		keys[i] = h.Key
	}
	return keys
}
