package serde

import (
	"errors"
	"fmt"
)

// ErrPanic is wrapped by the error reported when a serde panics.
var ErrPanic = errors.New("serde panicked")

// SerializationError reports a key or value that could not be serialized.
type SerializationError struct {
	Topic string
	Key   bool // the key failed, not the value
	Cause error
}

func (e *SerializationError) Error() string {
	return fmt.Sprintf("serde: serialize %s for topic %q: %v", part(e.Key), e.Topic, e.Cause)
}

func (e *SerializationError) Unwrap() error { return e.Cause }

// DeserializationError reports record bytes that could not be deserialized. It
// carries the bytes so that an error handler can log them or publish them to a
// dead-letter topic. Retrying never helps: the same bytes fail the same way.
type DeserializationError struct {
	Topic   string
	Key     bool // the key failed, not the value
	Headers Headers
	Data    []byte
	Cause   error
}

func (e *DeserializationError) Error() string {
	return fmt.Sprintf("serde: deserialize %s from topic %q (%d bytes): %v", part(e.Key), e.Topic, len(e.Data), e.Cause)
}

func (e *DeserializationError) Unwrap() error { return e.Cause }

func part(key bool) string {
	if key {
		return "key"
	}
	return "value"
}

// SerializeKey serializes a record key with s. Any failure, including a panic
// in s, is returned as a *SerializationError with Key set.
func SerializeKey[T any](s Serializer[T], topic string, headers *Headers, v T) ([]byte, error) {
	return serialize(s, topic, headers, v, true)
}

// SerializeValue serializes a record value with s. Any failure, including a
// panic in s, is returned as a *SerializationError.
func SerializeValue[T any](s Serializer[T], topic string, headers *Headers, v T) ([]byte, error) {
	return serialize(s, topic, headers, v, false)
}

func serialize[T any](s Serializer[T], topic string, headers *Headers, v T, key bool) (b []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			b, err = nil, &SerializationError{Topic: topic, Key: key, Cause: fmt.Errorf("%w: %v", ErrPanic, r)}
		}
	}()
	b, err = s.Serialize(topic, headers, v)
	if err != nil {
		var se *SerializationError
		if errors.As(err, &se) {
			// Keep the serde's cause but make the part and topic right.
			err = se.Cause
		}
		return nil, &SerializationError{Topic: topic, Key: key, Cause: err}
	}
	return b, nil
}

// DeserializeKey deserializes a record key with d. Any failure, including a
// panic in d, is returned as a *DeserializationError with Key set and the data
// attached.
func DeserializeKey[T any](d Deserializer[T], topic string, headers Headers, data []byte) (T, error) {
	return deserialize(d, topic, headers, data, true)
}

// DeserializeValue deserializes a record value with d. Any failure, including
// a panic in d, is returned as a *DeserializationError with the data attached.
func DeserializeValue[T any](d Deserializer[T], topic string, headers Headers, data []byte) (T, error) {
	return deserialize(d, topic, headers, data, false)
}

func deserialize[T any](d Deserializer[T], topic string, headers Headers, data []byte, key bool) (v T, err error) {
	defer func() {
		if r := recover(); r != nil {
			var zero T
			v, err = zero, &DeserializationError{Topic: topic, Key: key, Headers: headers, Data: data, Cause: fmt.Errorf("%w: %v", ErrPanic, r)}
		}
	}()
	v, err = d.Deserialize(topic, headers, data)
	if err != nil {
		var de *DeserializationError
		if errors.As(err, &de) {
			// Keep the serde's cause but make the part and context right.
			err = de.Cause
		}
		var zero T
		return zero, &DeserializationError{Topic: topic, Key: key, Headers: headers, Data: data, Cause: err}
	}
	return v, nil
}
