package cluster

import "encoding/base64"

// encodeUUID renders a 16-byte id the way Kafka prints cluster and topic ids.
func encodeUUID(id [16]byte) string {
	return base64.RawURLEncoding.EncodeToString(id[:])
}
