package serde

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// ErrUnknownClass is wrapped by the error for a serializer or deserializer
// Java class name that no serde of this package stands for.
var ErrUnknownClass = errors.New("serde: unknown serializer class")

// Format is the record format a Java serializer or deserializer class
// stands for: what spring.kafka.producer.value-serializer and
// spring.kafka.consumer.value-deserializer select.
type Format int

// Formats.
const (
	// FormatDefault: no class named; For[T]() decides.
	FormatDefault Format = iota
	FormatString
	FormatBytes
	FormatInt16
	FormatInt32
	FormatInt64
	FormatFloat32
	FormatFloat64
	FormatJSON
)

const (
	kafkaSer  = "org.apache.kafka.common.serialization."
	springSer = "org.springframework.kafka.support.serializer."
)

// classFormats maps class names, without their Serializer or Deserializer
// suffix, to formats.
var classFormats = map[string]Format{
	kafkaSer + "String":       FormatString,
	kafkaSer + "ByteArray":    FormatBytes,
	kafkaSer + "Bytes":        FormatBytes,
	kafkaSer + "ByteBuffer":   FormatBytes,
	kafkaSer + "Short":        FormatInt16,
	kafkaSer + "Integer":      FormatInt32,
	kafkaSer + "Long":         FormatInt64,
	kafkaSer + "Float":        FormatFloat32,
	kafkaSer + "Double":       FormatFloat64,
	springSer + "Json":        FormatJSON,
	springSer + "JacksonJson": FormatJSON,
}

// Spring's ErrorHandlingDeserializer, which reads through a delegate.
var errorHandlingDeserializers = []string{springSer + "ErrorHandlingDeserializer", springSer + "ErrorHandlingDeserializer2"}

func (f Format) String() string {
	return [...]string{"default", "string", "bytes", "int16", "int32", "int64", "float32", "float64", "JSON"}[f]
}

// SerializerFormat returns the format a serializer class name selects
// ("org.apache.kafka.common.serialization.StringSerializer", Spring's
// "org.springframework.kafka.support.serializer.JsonSerializer", ...). An
// empty name is FormatDefault; an unknown one wraps ErrUnknownClass.
func SerializerFormat(class string) (Format, error) {
	return classFormat(strings.TrimSpace(class), "Serializer")
}

// DeserializerFormat returns the format a deserializer class name selects.
// Spring's ErrorHandlingDeserializer selects its delegate's, named by
// spring.deserializer.value.delegate.class (key.delegate.class for keys) in
// props: kspring's deserialization already hands failures to the error
// handler as not retryable, which is what ErrorHandlingDeserializer is for.
// An empty name is FormatDefault; an unknown one wraps ErrUnknownClass.
func DeserializerFormat(class string, props map[string]string, isKey bool) (Format, error) {
	class = strings.TrimSpace(class)
	if slices.Contains(errorHandlingDeserializers, class) {
		key := DelegateClassKey(isKey)
		delegate := strings.TrimSpace(props[key])
		if delegate == "" {
			return 0, fmt.Errorf("%w: %s needs a delegate: set %s", ErrUnknownClass, class, key)
		}
		if slices.Contains(errorHandlingDeserializers, delegate) {
			return 0, fmt.Errorf("%w: %s=%s: the delegate cannot be an ErrorHandlingDeserializer", ErrUnknownClass, key, delegate)
		}
		f, err := classFormat(delegate, "Deserializer")
		if err != nil {
			return 0, fmt.Errorf("%s: %w", key, err)
		}
		return f, nil
	}
	return classFormat(class, "Deserializer")
}

// DelegateClassKey is the property naming ErrorHandlingDeserializer's
// delegate: spring.deserializer.value.delegate.class, or key.delegate.class.
func DelegateClassKey(isKey bool) string {
	if isKey {
		return "spring.deserializer.key.delegate.class"
	}
	return "spring.deserializer.value.delegate.class"
}

func classFormat(class, suffix string) (Format, error) {
	if class == "" {
		return FormatDefault, nil
	}
	if base, ok := strings.CutSuffix(class, suffix); ok {
		if f, ok := classFormats[base]; ok {
			return f, nil
		}
	}
	return 0, fmt.Errorf("%w %q: kspring knows Kafka's String, ByteArray, Bytes, ByteBuffer, Short, Integer, Long, Float and Double%ss (%s...) and Spring's Json%s (%s...)",
		ErrUnknownClass, class, suffix, kafkaSer, suffix, springSer)
}

// SpringJSON is what Spring's JsonSerializer and JsonDeserializer read from
// the spring.json.* properties of a producer or consumer. Build it with
// [ParseSpringJSON].
type SpringJSON struct {
	// AddTypeHeaders is spring.json.add.type.headers (serializer; default
	// true): write the __TypeId__ header.
	AddTypeHeaders bool
	// TypeMapping is spring.json.type.mapping: type-header tokens to Java
	// class names ("order:com.example.Order, ...").
	TypeMapping map[string]string
	// TrustedPackages is spring.json.trusted.packages (deserializer); nil
	// when not set.
	TrustedPackages []string
	// UseTypeHeaders is spring.json.use.type.headers (deserializer; default
	// true): read the __TypeId__ header.
	UseTypeHeaders bool
	// DefaultType is spring.json.value.default.type (key.default.type for
	// keys): the Java class of records without a type header.
	DefaultType string
}

// SpringJSONProperties lists the spring.json.* and spring.deserializer.*
// properties that [ParseSpringJSON] and [DeserializerFormat] read, sorted.
func SpringJSONProperties() []string {
	return []string{
		"spring.deserializer.key.delegate.class", "spring.deserializer.value.delegate.class",
		"spring.json.add.type.headers", "spring.json.key.default.type", "spring.json.trusted.packages",
		"spring.json.type.mapping", "spring.json.use.type.headers", "spring.json.value.default.type",
	}
}

// ParseSpringJSON reads the spring.json.* properties in props, for keys or
// values.
func ParseSpringJSON(props map[string]string, isKey bool) (SpringJSON, error) {
	s := SpringJSON{AddTypeHeaders: true, UseTypeHeaders: true}
	var errs []error
	boolean := func(key string, dst *bool) {
		if v, ok := props[key]; ok {
			b, err := strconv.ParseBool(strings.TrimSpace(v))
			if err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: want true or false", key, v))
			}
			*dst = b
		}
	}
	boolean("spring.json.add.type.headers", &s.AddTypeHeaders)
	boolean("spring.json.use.type.headers", &s.UseTypeHeaders)
	if v, ok := props["spring.json.trusted.packages"]; ok {
		s.TrustedPackages = []string{}
		for p := range strings.SplitSeq(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				s.TrustedPackages = append(s.TrustedPackages, p)
			}
		}
	}
	if v := props["spring.json.type.mapping"]; v != "" {
		s.TypeMapping = map[string]string{}
		for pair := range strings.SplitSeq(v, ",") {
			if pair = strings.TrimSpace(pair); pair == "" {
				continue
			}
			token, class, ok := strings.Cut(pair, ":")
			if !ok || strings.TrimSpace(token) == "" || strings.TrimSpace(class) == "" {
				errs = append(errs, fmt.Errorf("spring.json.type.mapping: %q is not token:class", pair))
				continue
			}
			s.TypeMapping[strings.TrimSpace(token)] = strings.TrimSpace(class)
		}
	}
	s.DefaultType = strings.TrimSpace(props["spring.json.value.default.type"])
	if isKey {
		s.DefaultType = strings.TrimSpace(props["spring.json.key.default.type"])
	}
	return s, errors.Join(errs...)
}

// typeToken returns the type-header token Spring's JsonSerializer would
// write for Go type t under the mapping: the token of the mapped class whose
// simple name is t's name (case-insensitive), or "".
func (s SpringJSON) typeToken(t reflect.Type) string {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Name() == "" {
		return ""
	}
	tokens := make([]string, 0, len(s.TypeMapping))
	for token := range s.TypeMapping {
		tokens = append(tokens, token)
	}
	slices.Sort(tokens)
	for _, token := range tokens {
		class := s.TypeMapping[token]
		if strings.EqualFold(class[strings.LastIndex(class, ".")+1:], t.Name()) {
			return token
		}
	}
	return ""
}

// trusted reports whether a type header may name class.
func (s SpringJSON) trusted(class string) bool {
	if s.TrustedPackages == nil {
		return true
	}
	if _, mapped := s.TypeMapping[class]; mapped {
		return true
	}
	for _, c := range s.TypeMapping {
		if c == class {
			return true
		}
	}
	pkg := ""
	if i := strings.LastIndex(class, "."); i >= 0 {
		pkg = class[:i]
	}
	for _, p := range s.TrustedPackages {
		if p == "*" || p == pkg {
			return true
		}
		if base, ok := strings.CutSuffix(p, ".*"); ok && (pkg == base || strings.HasPrefix(pkg, base+".")) {
			return true
		}
	}
	return false
}

// SerializerFor returns the serializer of T that a Java serializer class
// selects (see [SerializerFormat]); no class selects For[T](). A JSON
// serializer follows the spring.json.* properties in props: with
// spring.json.add.type.headers on (the default) and a
// spring.json.type.mapping entry whose class has T's name (Order for
// com.example.Order), it writes that entry's token as the type header, as
// Spring does; otherwise it writes none, as Go has no Java class name to
// give. A class whose format cannot carry T (StringSerializer for a struct)
// is an error saying what would.
func SerializerFor[T any](class string, props map[string]string, isKey bool) (Serializer[T], error) {
	f, err := SerializerFormat(class)
	if err != nil {
		return nil, err
	}
	if f == FormatJSON || f == FormatDefault && isJSON(For[T]()) {
		sj, err := ParseSpringJSON(props, isKey)
		if err != nil {
			return nil, err
		}
		j := JSON[T]{IsKey: isKey}
		if sj.AddTypeHeaders {
			j.TypeID = sj.typeToken(reflect.TypeFor[T]())
		}
		return j, nil
	}
	return formatSerde[T](f, class)
}

// DeserializerFor returns the deserializer of T that a Java deserializer
// class selects (see [DeserializerFormat]); no class selects For[T](). A
// JSON deserializer follows the spring.json.* properties in props: with
// spring.json.trusted.packages set and spring.json.use.type.headers on, a
// record whose type header names a class outside those packages (and not in
// spring.json.type.mapping) fails to deserialize, as in Spring. Whatever the
// header says, the value decodes into T: the handler's Go type plays the
// part of the header's class or of spring.json.value.default.type. A class
// whose format cannot produce T is an error saying what would.
func DeserializerFor[T any](class string, props map[string]string, isKey bool) (Deserializer[T], error) {
	f, err := DeserializerFormat(class, props, isKey)
	if err != nil {
		return nil, err
	}
	if f == FormatJSON || f == FormatDefault && isJSON(For[T]()) {
		sj, err := ParseSpringJSON(props, isKey)
		if err != nil {
			return nil, err
		}
		if sj.TrustedPackages == nil || !sj.UseTypeHeaders {
			return JSON[T]{IsKey: isKey}, nil
		}
		return trustedJSON[T]{JSON: JSON[T]{IsKey: isKey}, spring: sj}, nil
	}
	return formatSerde[T](f, class)
}

// isJSON reports whether For picks JSON for T.
func isJSON[T any](s Serde[T]) bool {
	_, ok := s.(JSON[T])
	return ok
}

// formatSerde returns the serde of format f for T.
func formatSerde[T any](f Format, class string) (Serde[T], error) {
	var s any
	switch f {
	case FormatDefault:
		return For[T](), nil
	case FormatString:
		s = String{}
	case FormatBytes:
		s = Bytes{}
	case FormatInt16:
		s = Int16{}
	case FormatInt32:
		s = Int32{}
	case FormatInt64:
		s = Int64{}
	case FormatFloat32:
		s = Float32{}
	case FormatFloat64:
		s = Float64{}
	case FormatJSON:
		return JSON[T]{}, nil
	}
	out, ok := s.(Serde[T])
	if !ok {
		return nil, fmt.Errorf("%s handles %s data, not %v: name org.springframework.kafka.support.serializer.JsonSerializer (or JsonDeserializer) for Go structs, or pass a serde in code",
			class, f, reflect.TypeFor[T]())
	}
	return out, nil
}

// trustedJSON is JSON[T] that refuses type headers naming untrusted classes.
type trustedJSON[T any] struct {
	JSON[T]
	spring SpringJSON
}

// Deserialize checks the type header, then decodes data into a T.
func (j trustedJSON[T]) Deserialize(topic string, h Headers, data []byte) (T, error) {
	name := TypeIDHeader
	if j.IsKey {
		name = KeyTypeIDHeader
	}
	if id, ok := h.Get(name); ok && !j.spring.trusted(string(id)) {
		var zero T
		return zero, &DeserializationError{Topic: topic, Key: j.IsKey, Headers: h, Data: data,
			Cause: fmt.Errorf("the class %q is not in the trusted packages %q: add its package to spring.json.trusted.packages, or * to trust all", id, j.spring.TrustedPackages)}
	}
	return j.JSON.Deserialize(topic, h, data)
}
