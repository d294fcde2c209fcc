package framework

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/IBM/sarama"
	"go.uber.org/zap"

	"github.com/kspring/kspring/listener"
	"github.com/kspring/kspring/serde"
	"github.com/kspring/kspring/template"
)

// Kafka client properties pass through as in Spring Boot:
// spring.kafka.properties.* reach every client (producer, consumers, admin),
// spring.kafka.producer.properties.*, consumer.properties.* and
// admin.properties.* reach theirs and win over the shared ones. A property
// sarama can honour takes effect (the template and listener packages map
// them); one it cannot is logged once at start as ignored, by name, as the
// Java client warns of a property it does not know.

// knownAdminProps lists the admin client properties the module honours.
var knownAdminProps = []string{"client.id", "default.api.timeout.ms", "request.timeout.ms"}

// knownCommonProps are honoured whichever client reads them.
var knownCommonProps = securityProps

// ignoredProperty is a Kafka property no client of the module honours.
type ignoredProperty struct {
	section string // spring.kafka.properties, spring.kafka.producer.properties, ...
	name    string
}

// ignoredProperties lists the properties of c sarama cannot honour, sorted.
func (c Config) ignoredProperties() []ignoredProperty {
	producer := append(template.KnownProducerProperties(), serde.SpringJSONProperties()...)
	consumer := append(listener.KnownConsumerProperties(), serde.SpringJSONProperties()...)
	producer = append(producer, knownCommonProps...)
	consumer = append(consumer, knownCommonProps...)
	admin := append(slices.Clone(knownAdminProps), knownCommonProps...)
	all := slices.Concat(producer, consumer, admin)
	var out []ignoredProperty
	for _, s := range []struct {
		section string
		props   map[string]string
		known   []string
	}{
		{"spring.kafka.properties", c.Properties, all},
		{"spring.kafka.producer.properties", c.Producer.Properties, producer},
		{"spring.kafka.consumer.properties", c.Consumer.Properties, consumer},
		{"spring.kafka.admin.properties", c.Admin.Properties, admin},
	} {
		for _, k := range slices.Sorted(maps.Keys(s.props)) {
			if !slices.Contains(s.known, k) {
				out = append(out, ignoredProperty{s.section, k})
			}
		}
	}
	return out
}

// logIgnoredProperties logs, once at start, each property sarama cannot honour.
func logIgnoredProperties(c Config, logger *zap.Logger) {
	for _, p := range c.ignoredProperties() {
		logger.Warn("Kafka property ignored: kspring's clients (sarama) cannot honour it",
			zap.String("property", p.section+"."+p.name))
	}
}

// validate checks what LoadConfig can check without connecting: serializer
// and deserializer class names, spring.json.* values and each client's
// security (protocol, SASL mechanism, JAAS configuration), with the key at
// fault named.
func (c Config) validate() error {
	var errs []error
	producerProps := mergeProps(c.Properties, c.Producer.Properties)
	for _, ks := range [][2]string{{"key-serializer", "key.serializer"}, {"value-serializer", "value.serializer"}} {
		class, key := c.Producer.ValueSerializer, "spring.kafka.producer."+ks[0]
		if ks[0] == "key-serializer" {
			class = c.Producer.KeySerializer
		}
		if v, ok := producerProps[ks[1]]; ok {
			class, key = v, "spring.kafka.producer.properties."+ks[1]
		}
		if _, err := serde.SerializerFormat(class); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", key, err))
		}
	}
	consumerProps := mergeProps(c.Properties, c.Consumer.Properties)
	for _, ks := range [][2]string{{"key-deserializer", "key.deserializer"}, {"value-deserializer", "value.deserializer"}} {
		class, key := c.Consumer.ValueDeserializer, "spring.kafka.consumer."+ks[0]
		if ks[0] == "key-deserializer" {
			class = c.Consumer.KeyDeserializer
		}
		if v, ok := consumerProps[ks[1]]; ok {
			class, key = v, "spring.kafka.consumer.properties."+ks[1]
		}
		if _, err := serde.DeserializerFormat(class, consumerProps, ks[0] == "key-deserializer"); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", key, err))
		}
	}
	if _, err := serde.ParseSpringJSON(producerProps, false); err != nil {
		errs = append(errs, fmt.Errorf("spring.kafka.producer.properties: %w", err))
	}
	if _, err := serde.ParseSpringJSON(consumerProps, false); err != nil {
		errs = append(errs, fmt.Errorf("spring.kafka.consumer.properties: %w", err))
	}
	for _, cl := range []client{producerClient, consumerClient, adminClient} {
		if _, err := parseSecurity(c.securityFor(cl)); err != nil {
			errs = append(errs, fmt.Errorf("spring.kafka %s: %w", cl, err))
		}
	}
	return errors.Join(errs...)
}

// adminConfig returns the sarama config of the admin client that creates
// the declared topics: the shared client's, with spring.kafka.admin.* and
// the shared properties over it.
func (c Config) adminConfig(base *sarama.Config) (*sarama.Config, time.Duration, error) {
	conf := *base
	timeout := c.Admin.OperationTimeout.D()
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	props := mergeProps(c.Properties, c.Admin.Properties)
	if id := c.Admin.ClientID; id != "" {
		conf.ClientID = id
	}
	if id := props["client.id"]; id != "" && c.Admin.Properties["client.id"] != "" {
		conf.ClientID = id
	}
	for _, key := range []string{"request.timeout.ms", "default.api.timeout.ms"} {
		v, ok := props[key]
		if !ok {
			continue
		}
		ms, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || ms <= 0 {
			return nil, 0, fmt.Errorf("kspring: spring.kafka.admin.properties.%s=%q: want a positive number of milliseconds", key, v)
		}
		d := time.Duration(ms) * time.Millisecond
		if key == "request.timeout.ms" {
			conf.Net.ReadTimeout, conf.Net.WriteTimeout = d, d
		} else if c.Admin.OperationTimeout == 0 {
			timeout = d
		}
	}
	if err := c.applySecurity(&conf, adminClient); err != nil {
		return nil, 0, fmt.Errorf("kspring: %w", err)
	}
	return &conf, timeout, nil
}
