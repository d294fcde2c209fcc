package wire

import (
	"fmt"
	"strings"
)

// Internal topic names.
const (
	OffsetsTopic     = "__consumer_offsets"
	TransactionTopic = "__transaction_state"
)

// MaxPartitionsPerTopic bounds CreateTopics and CreatePartitions. Every
// partition holds open files and its creation is synchronous; a request for
// tens of thousands would exhaust file descriptors and stall topic changes.
const MaxPartitionsPerTopic = 10000

func isInternalTopic(name string) bool { return name == OffsetsTopic || name == TransactionTopic }

// validateTopicName applies Kafka's rules: 1-249 characters of [a-zA-Z0-9._-],
// and not "." or "..".
func validateTopicName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("topic name is empty")
	case name == "." || name == "..":
		return fmt.Errorf("topic name %q is not allowed", name)
	case len(name) > 249:
		return fmt.Errorf("topic name is %d characters, more than 249", len(name))
	}
	if i := strings.IndexFunc(name, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-')
	}); i >= 0 {
		return fmt.Errorf("topic name %q has illegal character %q: use [a-zA-Z0-9._-]", name, name[i])
	}
	return nil
}
