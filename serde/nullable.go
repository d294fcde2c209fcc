package serde

// Nullable adapts a serde of T to *T: a nil pointer is a null record part (a
// tombstone when it is the value), and null data deserializes to a nil
// pointer. Non-nil values go through s.
func Nullable[T any](s Serde[T]) Serde[*T] {
	return Combine(NullableSerializer[T](s), NullableDeserializer[T](s))
}

// NullableSerializer adapts s to *T, writing a nil pointer as null.
func NullableSerializer[T any](s Serializer[T]) Serializer[*T] {
	return SerializerFunc[*T](func(topic string, h *Headers, v *T) ([]byte, error) {
		if v == nil {
			return nil, nil
		}
		return s.Serialize(topic, h, *v)
	})
}

// NullableDeserializer adapts d to *T, reading null data as a nil pointer.
func NullableDeserializer[T any](d Deserializer[T]) Deserializer[*T] {
	return DeserializerFunc[*T](func(topic string, h Headers, data []byte) (*T, error) {
		if data == nil {
			return nil, nil
		}
		v, err := d.Deserialize(topic, h, data)
		if err != nil {
			return nil, err
		}
		return &v, nil
	})
}
