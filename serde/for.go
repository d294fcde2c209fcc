package serde

// For returns the serde this package would pick for T: String for string,
// Bytes for []byte, the numeric serdes for int16, int32, int64, float32 and
// float64, and JSON[T] for every other type.
func For[T any]() Serde[T] {
	var s any
	switch any(*new(T)).(type) {
	case string:
		s = String{}
	case []byte:
		s = Bytes{}
	case int16:
		s = Int16{}
	case int32:
		s = Int32{}
	case int64:
		s = Int64{}
	case float32:
		s = Float32{}
	case float64:
		s = Float64{}
	default:
		return JSON[T]{}
	}
	return s.(Serde[T])
}
