package group

import (
	"encoding/binary"
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Record versions, the ones Kafka 2.3+ writes: offset commit keys v1, group
// metadata keys v2, offset commit values v3 (v1 when an old client asked for
// a per-commit retention), group metadata values v3.
const (
	offsetKeyVersion          = 1
	groupKeyVersion           = 2
	offsetValueVersion        = 3
	offsetValueVersionExpires = 1
	groupValueVersion         = 3
)

func offsetCommitKey(group, topic string, partition int32) []byte {
	k := kmsg.OffsetCommitKey{Version: offsetKeyVersion, Group: group, Topic: topic, Partition: partition}
	return k.AppendTo(make([]byte, 0, 2+2+len(group)+2+len(topic)+4))
}

func offsetCommitValue(o *offset) []byte {
	v := kmsg.NewOffsetCommitValue()
	v.Version = offsetValueVersion
	v.Offset = o.offset
	v.LeaderEpoch = o.leaderEpoch
	v.Metadata = o.metadata
	v.CommitTimestamp = o.commitMillis
	if o.expireMillis > 0 {
		v.Version = offsetValueVersionExpires
		v.ExpireTimestamp = o.expireMillis
	}
	return v.AppendTo(make([]byte, 0, 2+8+4+2+len(o.metadata)+8+8))
}

func groupMetadataKey(group string) []byte {
	k := kmsg.GroupMetadataKey{Version: groupKeyVersion, Group: group}
	return k.AppendTo(make([]byte, 0, 2+2+len(group)))
}

// groupMetadataValue snapshots g as Kafka's GroupMetadataValue. The caller
// holds g.mu.
func groupMetadataValue(g *group) []byte { return groupMetadataValueWith(g, nil) }

// groupMetadataValueWith is groupMetadataValue with the members'
// assignments taken from assignments when it is not nil.
func groupMetadataValueWith(g *group, assignments map[string][]byte) []byte {
	v := kmsg.NewGroupMetadataValue()
	v.Version = groupValueVersion
	v.ProtocolType = g.protocolType
	v.Generation = g.generation
	if g.protocol != "" {
		v.Protocol = new(g.protocol)
	}
	if g.leader != "" {
		v.Leader = new(g.leader)
	}
	v.CurrentStateTimestamp = g.stateTime.UnixMilli()
	v.Members = make([]kmsg.GroupMetadataValueMember, 0, len(g.members))
	for _, m := range g.sortedMembers() {
		vm := kmsg.NewGroupMetadataValueMember()
		vm.MemberID = m.id
		vm.InstanceID = m.instanceID
		vm.ClientID = m.clientID
		vm.ClientHost = m.clientHost
		vm.RebalanceTimeoutMillis = int32(m.rebalanceTimeout.Milliseconds())
		vm.SessionTimeoutMillis = int32(m.sessionTimeout.Milliseconds())
		vm.Subscription = m.metadata(g.protocol)
		vm.Assignment = m.assignment
		if assignments != nil {
			vm.Assignment = assignments[m.id]
		}
		v.Members = append(v.Members, vm)
	}
	return v.AppendTo(nil)
}

// recordKind tells the record types of __consumer_offsets apart by the key
// version, as Kafka does: 0 and 1 are offset commits, 2 is group metadata;
// later versions belong to record types this coordinator does not keep.
type recordKind int8

const (
	kindUnknown recordKind = iota
	kindOffset
	kindGroup
)

func kindOf(key []byte) (recordKind, error) {
	if len(key) < 2 {
		return kindUnknown, fmt.Errorf("key of %d bytes has no version", len(key))
	}
	switch binary.BigEndian.Uint16(key) {
	case 0, 1:
		return kindOffset, nil
	case 2:
		return kindGroup, nil
	default:
		return kindUnknown, nil
	}
}
