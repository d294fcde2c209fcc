package serde

// Serializer turns a typed key or value into the bytes of a record. It returns
// nil bytes for a null key or value. It may add headers (for example a type
// header); headers is never nil. Implementations must be safe for concurrent
// use.
type Serializer[T any] interface {
	Serialize(topic string, headers *Headers, v T) ([]byte, error)
}

// Deserializer turns the bytes of a record's key or value back into a typed
// value. data is nil for a null key or value (a tombstone). Implementations
// must be safe for concurrent use and must not keep data after returning: the
// caller may reuse it.
type Deserializer[T any] interface {
	Deserialize(topic string, headers Headers, data []byte) (T, error)
}

// Serde is a type that both serializes and deserializes T, as every serde in
// this package does.
type Serde[T any] interface {
	Serializer[T]
	Deserializer[T]
}

// SerializerFunc adapts a function to a Serializer.
type SerializerFunc[T any] func(topic string, headers *Headers, v T) ([]byte, error)

// Serialize calls f.
func (f SerializerFunc[T]) Serialize(topic string, headers *Headers, v T) ([]byte, error) {
	return f(topic, headers, v)
}

// DeserializerFunc adapts a function to a Deserializer.
type DeserializerFunc[T any] func(topic string, headers Headers, data []byte) (T, error)

// Deserialize calls f.
func (f DeserializerFunc[T]) Deserialize(topic string, headers Headers, data []byte) (T, error) {
	return f(topic, headers, data)
}

// Combine joins a separate Serializer and Deserializer into one Serde.
func Combine[T any](s Serializer[T], d Deserializer[T]) Serde[T] {
	return combined[T]{s, d}
}

type combined[T any] struct {
	Serializer[T]
	Deserializer[T]
}
