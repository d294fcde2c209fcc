package template

import (
	"errors"
	"fmt"
	"math/rand/v2"

	"github.com/IBM/sarama"
)

// ErrInvalidPartition is wrapped by the error of a record whose explicit
// partition, or whose Partitioner's choice, is not a partition of its topic.
var ErrInvalidPartition = errors.New("template: invalid partition")

// Partitioner picks the partition of a record that names none. key is the
// serialized key, nil for a null key. It returns an index in
// [0, numPartitions). Implementations must be safe for concurrent use: the
// producer calls them from one goroutine per topic.
type Partitioner interface {
	Partition(topic string, key []byte, numPartitions int32) (int32, error)
}

// PartitionerFunc adapts a function to a Partitioner.
type PartitionerFunc func(topic string, key []byte, numPartitions int32) (int32, error)

// Partition calls f.
func (f PartitionerFunc) Partition(topic string, key []byte, numPartitions int32) (int32, error) {
	return f(topic, key, numPartitions)
}

// routed is what the producer's partitioner needs from a record in flight.
type routed interface {
	// route returns the explicit partition (ok true) or the template's
	// Partitioner override (nil for the default), and the serialized key.
	route() (partition int32, explicit bool, p Partitioner, key []byte)
}

// NewPartitioner is the sarama.PartitionerConstructor a Template's producer
// must use; Config.Sarama sets it. It places each record as Kafka's Java
// producer does:
//
//   - a record with an explicit partition goes there;
//   - else, with a template Partitioner (WithPartitioner), where it says;
//   - else a keyed record goes to toPositive(murmur2(key)) % numPartitions,
//     the Java default partitioner's choice, so Go and Java producers that
//     share a topic keep each key on one partition and in order;
//   - else (null key) records are spread round robin over the partitions that
//     have a leader.
//
// The producer creates one per topic and calls it from one goroutine.
func NewPartitioner(topic string) sarama.Partitioner {
	return &partitioner{
		murmur: sarama.NewMurmur2Partitioner(topic),
		next:   rand.Uint32(),
		topic:  topic,
	}
}

type partitioner struct {
	murmur sarama.Partitioner
	next   uint32 // round-robin cursor for null keys
	topic  string
}

func (p *partitioner) Partition(msg *sarama.ProducerMessage, numPartitions int32) (int32, error) {
	if r, ok := msg.Metadata.(routed); ok {
		part, explicit, custom, key := r.route()
		switch {
		case explicit:
			if part < 0 || part >= numPartitions {
				return -1, fmt.Errorf("%w: %d is not in [0, %d) of topic %q", ErrInvalidPartition, part, numPartitions, p.topic)
			}
			return part, nil
		case custom != nil:
			part, err := custom.Partition(p.topic, key, numPartitions)
			if err != nil {
				return -1, fmt.Errorf("template: partitioner: %w", err)
			}
			if part < 0 || part >= numPartitions {
				return -1, fmt.Errorf("%w: partitioner chose %d, not in [0, %d) of topic %q", ErrInvalidPartition, part, numPartitions, p.topic)
			}
			return part, nil
		}
	}
	if msg.Key == nil {
		p.next++
		return int32(p.next % uint32(numPartitions)), nil
	}
	return p.murmur.Partition(msg, numPartitions)
}

// RequiresConsistency is true: keyed and explicit placement need every
// partition, not only those with a leader.
func (p *partitioner) RequiresConsistency() bool { return true }

// MessageRequiresConsistency lets null-keyed records go to the partitions that
// have a leader.
func (p *partitioner) MessageRequiresConsistency(msg *sarama.ProducerMessage) bool {
	if r, ok := msg.Metadata.(routed); ok {
		if _, explicit, custom, _ := r.route(); explicit || custom != nil {
			return true
		}
	}
	return msg.Key != nil
}
