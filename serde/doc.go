// Package serde turns typed keys and values into record bytes and back. It is
// shared by the template (producer) and listener (consumer) packages, so a
// type serialized by one is read by the other with the same rules.
//
// Start from [Serializer] and [Deserializer]: small generic interfaces that
// see the topic and the record [Headers], like Kafka's Java Serializer and
// Deserializer. The package ships the common ones:
//
//   - [String] and [Bytes], Kafka's StringSerializer and ByteArraySerializer.
//   - [Int16], [Int32], [Int64], [Float32], [Float64]: Kafka's big-endian
//     ShortSerializer, IntegerSerializer, LongSerializer, FloatSerializer and
//     DoubleSerializer, so Java services read the same numbers.
//   - [JSON], encoding/json with an optional Spring JsonSerializer type header
//     (__TypeId__, or __Key_TypeId__ for keys) so Java consumers that map types
//     by header can read records written in Go.
//   - [Nullable], which maps a nil *T to a null record part (a tombstone when it
//     is the value) and back.
//   - [SerializerFunc] and [DeserializerFunc] adapt plain functions, so other
//     formats (protobuf, Avro, ...) plug in without a wrapper type.
//
// [For] picks a serde from a Go type: String for string, Bytes for []byte, the
// numeric serdes for fixed-size numbers and JSON for everything else.
//
// Null handling: a serializer returns nil bytes for a null record part, and a
// deserializer receives nil data for one. Every serde here maps nil data to the
// zero value of its type (a nil pointer for JSON[*T] and Nullable).
//
// Errors: [SerializeKey], [SerializeValue], [DeserializeKey] and
// [DeserializeValue] call a serde and always report failure as a
// [*SerializationError] or [*DeserializationError] that names the topic and
// whether the key or the value failed, recovering panics in user code. The
// listener treats a DeserializationError as not retryable: the same bytes will
// never decode on a second attempt.
//
// Concurrency: every serde in this package is stateless and safe for
// concurrent use; user serdes passed to the template or listener must be too.
// Headers is a plain slice: it is not safe for concurrent mutation.
package serde
