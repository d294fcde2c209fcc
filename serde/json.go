package serde

import (
	"encoding/json"
	"reflect"
)

// Header names written by Spring's JsonSerializer and read by its
// JsonDeserializer to pick the Java type of a value or key.
const (
	TypeIDHeader    = "__TypeId__"
	KeyTypeIDHeader = "__Key_TypeId__"
)

// JSON is a serde for T with encoding/json, compatible with Spring for Apache
// Kafka's JsonSerializer and JsonDeserializer. The zero value is ready to use.
//
// With TypeID set, Serialize sets the __TypeId__ header (__Key_TypeId__ when
// IsKey) to it, as JsonSerializer does with the Java class name, so a Java
// consumer that maps types by header (spring.json.type.mapping or trusted
// packages) can read records written in Go. Deserialize always decodes into T
// and ignores the type header.
//
// A nil pointer or nil interface serializes to null bytes (a tombstone when it
// is the value), and null data deserializes to the zero T: use JSON[*Order] to
// tell a tombstone from an empty Order. Deserialize returns a
// *DeserializationError for bytes that are not JSON for T.
type JSON[T any] struct {
	TypeID string // optional Java type id for the type header
	IsKey  bool   // serializes keys: use __Key_TypeId__
}

// Serialize encodes v as JSON and sets the type header when TypeID is set.
func (j JSON[T]) Serialize(topic string, h *Headers, v T) ([]byte, error) {
	a := any(v)
	if isNull(a) {
		return nil, nil
	}
	b, err := json.Marshal(a)
	if err != nil {
		return nil, &SerializationError{Topic: topic, Key: j.IsKey, Cause: err}
	}
	if j.TypeID != "" {
		name := TypeIDHeader
		if j.IsKey {
			name = KeyTypeIDHeader
		}
		h.Set(name, []byte(j.TypeID))
	}
	return b, nil
}

// Deserialize decodes JSON data into a T.
func (j JSON[T]) Deserialize(topic string, h Headers, data []byte) (T, error) {
	var v T
	if data == nil {
		return v, nil
	}
	if err := json.Unmarshal(data, &v); err != nil {
		var zero T
		return zero, &DeserializationError{Topic: topic, Key: j.IsKey, Headers: h, Data: data, Cause: err}
	}
	return v, nil
}

// isNull reports whether a is a nil interface or a nil pointer.
func isNull(a any) bool {
	if a == nil {
		return true
	}
	rv := reflect.ValueOf(a)
	return rv.Kind() == reflect.Pointer && rv.IsNil()
}
