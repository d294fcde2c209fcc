package serde

import (
	"encoding/binary"
	"fmt"
	"math"
)

// The numeric serdes write fixed-size big-endian numbers, exactly as Kafka's
// ShortSerializer, IntegerSerializer, LongSerializer, FloatSerializer and
// DoubleSerializer do, so Go and Java services read the same keys and values.
// A null record part deserializes to 0; use [Nullable] to tell them apart.
type (
	Int16   struct{}
	Int32   struct{}
	Int64   struct{}
	Float32 struct{}
	Float64 struct{}
)

// Serialize writes v as 2 big-endian bytes.
func (Int16) Serialize(_ string, _ *Headers, v int16) ([]byte, error) {
	return binary.BigEndian.AppendUint16(make([]byte, 0, 2), uint16(v)), nil
}

// Deserialize reads 2 big-endian bytes.
func (Int16) Deserialize(topic string, h Headers, data []byte) (int16, error) {
	if err := checkSize(topic, h, data, 2, "Int16"); err != nil || data == nil {
		return 0, err
	}
	return int16(binary.BigEndian.Uint16(data)), nil
}

// Serialize writes v as 4 big-endian bytes.
func (Int32) Serialize(_ string, _ *Headers, v int32) ([]byte, error) {
	return binary.BigEndian.AppendUint32(make([]byte, 0, 4), uint32(v)), nil
}

// Deserialize reads 4 big-endian bytes.
func (Int32) Deserialize(topic string, h Headers, data []byte) (int32, error) {
	if err := checkSize(topic, h, data, 4, "Int32"); err != nil || data == nil {
		return 0, err
	}
	return int32(binary.BigEndian.Uint32(data)), nil
}

// Serialize writes v as 8 big-endian bytes.
func (Int64) Serialize(_ string, _ *Headers, v int64) ([]byte, error) {
	return binary.BigEndian.AppendUint64(make([]byte, 0, 8), uint64(v)), nil
}

// Deserialize reads 8 big-endian bytes.
func (Int64) Deserialize(topic string, h Headers, data []byte) (int64, error) {
	if err := checkSize(topic, h, data, 8, "Int64"); err != nil || data == nil {
		return 0, err
	}
	return int64(binary.BigEndian.Uint64(data)), nil
}

// Serialize writes the IEEE 754 bits of v as 4 big-endian bytes.
func (Float32) Serialize(_ string, _ *Headers, v float32) ([]byte, error) {
	return binary.BigEndian.AppendUint32(make([]byte, 0, 4), math.Float32bits(v)), nil
}

// Deserialize reads 4 big-endian bytes as IEEE 754 bits.
func (Float32) Deserialize(topic string, h Headers, data []byte) (float32, error) {
	if err := checkSize(topic, h, data, 4, "Float32"); err != nil || data == nil {
		return 0, err
	}
	return math.Float32frombits(binary.BigEndian.Uint32(data)), nil
}

// Serialize writes the IEEE 754 bits of v as 8 big-endian bytes.
func (Float64) Serialize(_ string, _ *Headers, v float64) ([]byte, error) {
	return binary.BigEndian.AppendUint64(make([]byte, 0, 8), math.Float64bits(v)), nil
}

// Deserialize reads 8 big-endian bytes as IEEE 754 bits.
func (Float64) Deserialize(topic string, h Headers, data []byte) (float64, error) {
	if err := checkSize(topic, h, data, 8, "Float64"); err != nil || data == nil {
		return 0, err
	}
	return math.Float64frombits(binary.BigEndian.Uint64(data)), nil
}

func checkSize(topic string, h Headers, data []byte, want int, name string) error {
	if data == nil || len(data) == want {
		return nil
	}
	return &DeserializationError{
		Topic: topic, Headers: h, Data: data,
		Cause: fmt.Errorf("%s needs %d bytes, got %d", name, want, len(data)),
	}
}
