package serde

import "slices"

// Header is one record header: a key and an opaque value. Kafka allows repeated
// keys and keeps headers in order.
type Header struct {
	Key   string
	Value []byte
}

// Headers is the ordered list of a record's headers. The zero value is an empty
// list ready to use. Headers is not safe for concurrent mutation.
type Headers []Header

// Get returns the value of the last header named key, as Kafka's
// Headers.lastHeader does, and whether there was one.
func (h Headers) Get(key string) ([]byte, bool) {
	for i := len(h) - 1; i >= 0; i-- {
		if h[i].Key == key {
			return h[i].Value, true
		}
	}
	return nil, false
}

// Values returns the values of every header named key, in order.
func (h Headers) Values(key string) [][]byte {
	var vs [][]byte
	for _, hd := range h {
		if hd.Key == key {
			vs = append(vs, hd.Value)
		}
	}
	return vs
}

// Add appends a header, keeping any others with the same key.
func (h *Headers) Add(key string, value []byte) {
	*h = append(*h, Header{Key: key, Value: value})
}

// Set replaces every header named key with a single one at the end of the list.
func (h *Headers) Set(key string, value []byte) {
	h.Remove(key)
	h.Add(key, value)
}

// Remove deletes every header named key.
func (h *Headers) Remove(key string) {
	*h = slices.DeleteFunc(*h, func(hd Header) bool { return hd.Key == key })
}

// Clone returns a copy of the list that can be changed without touching h. The
// header values are shared, not copied.
func (h Headers) Clone() Headers {
	if h == nil {
		return nil
	}
	return slices.Clone(h)
}
