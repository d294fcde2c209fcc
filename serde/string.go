package serde

// String is Kafka's StringSerializer and StringDeserializer: UTF-8 text as is.
// A null record part deserializes to "".
type String struct{}

// Serialize returns the bytes of v.
func (String) Serialize(_ string, _ *Headers, v string) ([]byte, error) {
	return []byte(v), nil
}

// Deserialize returns data as a string.
func (String) Deserialize(_ string, _ Headers, data []byte) (string, error) {
	return string(data), nil
}

// Bytes is Kafka's ByteArraySerializer and ByteArrayDeserializer: bytes pass
// through. A nil slice is a null record part and the other way round.
type Bytes struct{}

// Serialize returns v itself; the caller must not change v until the record is
// sent.
func (Bytes) Serialize(_ string, _ *Headers, v []byte) ([]byte, error) {
	return v, nil
}

// Deserialize returns a copy of data, so the result outlives the caller's buffer.
func (Bytes) Deserialize(_ string, _ Headers, data []byte) ([]byte, error) {
	if data == nil {
		return nil, nil
	}
	return append([]byte{}, data...), nil
}
