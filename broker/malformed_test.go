package broker_test

// Bad input over raw TCP: broken frames, unknown or unsupported requests,
// bodies that do not decode, and produce requests whose batches must be
// refused. Each must end in Kafka's error or a closed connection, lose
// nothing, and leave the broker serving everyone else.

import (
	"encoding/binary"
	"hash/crc32"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kspring/kspring/broker"
	"github.com/kspring/kspring/broker/internal/batch"
)

// requestHeader encodes a request header v1 (key, version, correlation id,
// client id) as every API's header begins.
func requestHeader(key, version int16) []byte {
	b := kbin.AppendInt16(nil, key)
	b = kbin.AppendInt16(b, version)
	b = kbin.AppendInt32(b, 1)
	return kbin.AppendNullableString(b, kmsg.StringPtr("malformed"))
}

// frame prefixes b with its length.
func frame(parts ...[]byte) []byte {
	var body []byte
	for _, p := range parts {
		body = append(body, p...)
	}
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(body))), body...)
}

func TestMalformedFrames(t *testing.T) {
	t.Parallel()
	const maxRequest = 1 << 20
	addr := startBroker(t, func(c *broker.Config) { c.SocketRequestMaxBytes = maxRequest }).Addr()

	// A client connected before the bad input keeps working after it.
	survivor := newKgo(t, addr, kgo.DefaultProduceTopic("survivor"), kgo.AllowAutoTopicCreation())
	produceSync(t, survivor, &kgo.Record{Value: []byte("before")})

	metadataV1 := func() []byte {
		req := kmsg.NewPtrMetadataRequest()
		req.SetVersion(1)
		for _, name := range []string{"first-topic", "second-topic"} {
			rt := kmsg.NewMetadataRequestTopic()
			rt.Topic = kmsg.StringPtr(name)
			req.Topics = append(req.Topics, rt)
		}
		return req.AppendTo(nil)
	}
	fetchV0 := func() []byte {
		req := kmsg.NewPtrFetchRequest()
		req.SetVersion(0)
		req.ReplicaID, req.MaxWaitMillis = -1, 100
		rt := kmsg.NewFetchRequestTopic()
		rt.Topic = "survivor"
		rt.Partitions = []kmsg.FetchRequestTopicPartition{{Partition: 0, PartitionMaxBytes: 1 << 20}}
		req.Topics = append(req.Topics, rt)
		return req.AppendTo(nil)
	}

	for _, tc := range []struct {
		name string
		send func(c *wireConn)
	}{
		{"negative frame length", func(c *wireConn) { c.write([]byte{0xff, 0xff, 0xff, 0xfe}) }},
		{"zero frame length", func(c *wireConn) { c.write([]byte{0, 0, 0, 0}) }},
		{"frame shorter than a request header", func(c *wireConn) { c.write(frame([]byte{0, 3, 0})) }},
		{"frame over socket.request.max.bytes", func(c *wireConn) {
			c.write(binary.BigEndian.AppendUint32(nil, maxRequest+1))
			c.write(requestHeader(3, 1))
		}},
		{"huge frame length", func(c *wireConn) { c.write([]byte{0x7f, 0xff, 0xff, 0xff}) }},
		{"unknown api key", func(c *wireConn) { c.write(frame(requestHeader(999, 0))) }},
		{"negative api key", func(c *wireConn) { c.write(frame(requestHeader(-1, 0), metadataV1())) }},
		{"unsupported old version of a known api (Fetch v0)", func(c *wireConn) { c.write(frame(requestHeader(1, 0), fetchV0())) }},
		{"unsupported new version of a known api (Metadata v99)", func(c *wireConn) { c.write(frame(requestHeader(3, 99), metadataV1())) }},
		{"truncated request header", func(c *wireConn) { c.write(frame([]byte{0, 3, 0, 1, 0, 0, 0, 1, 0, 9, 'x'})) }},
		{"truncated frame", func(c *wireConn) {
			full := frame(requestHeader(3, 1), metadataV1())
			c.write(full[:len(full)/2])
			require.NoError(t, c.nc.(*net.TCPConn).CloseWrite())
		}},
		{"truncated body", func(c *wireConn) {
			body := metadataV1()
			c.write(frame(requestHeader(3, 1), body[:len(body)-5]))
		}},
		{"array length beyond the frame", func(c *wireConn) {
			c.write(frame(requestHeader(3, 1), []byte{0x7f, 0xff, 0xff, 0xff}))
		}},
		{"garbage produce body", func(c *wireConn) {
			garbage := []byte{0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f}
			c.write(frame(requestHeader(0, 3), garbage))
		}},
		{"garbage flexible header tags", func(c *wireConn) {
			c.write(frame(requestHeader(3, 12), []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dialWire(t, addr)
			tc.send(c)
			c.requireClosed()

			apiVersionsOK(t, addr)
			produceSync(t, survivor, &kgo.Record{Value: []byte("after " + tc.name)})
		})
	}
}

// legacyMessageSet encodes one message-format v1 message (Kafka 0.10), the
// format produce v2 carries.
func legacyMessageSet(value string) []byte {
	msg := []byte{1, 0}                                                      // magic 1, attributes
	msg = binary.BigEndian.AppendUint64(msg, uint64(time.Now().UnixMilli())) // timestamp
	msg = binary.BigEndian.AppendUint32(msg, 0xffffffff)                     // null key
	msg = binary.BigEndian.AppendUint32(msg, uint32(len(value)))
	msg = append(msg, value...)
	crc := crc32.ChecksumIEEE(msg)
	set := binary.BigEndian.AppendUint64(nil, 0) // offset
	set = binary.BigEndian.AppendUint32(set, uint32(4+len(msg)))
	set = binary.BigEndian.AppendUint32(set, crc)
	return append(set, msg...)
}

func TestProduceRejectsBadBatches(t *testing.T) {
	t.Parallel()
	addr := startBroker(t).Addr()
	const topic = "rejects"
	createTopic(t, addr, topic, 1, map[string]string{"max.message.bytes": "2000"})
	c := dialWire(t, addr)
	now := time.Now().UnixMilli()
	good := func(v string) []byte { return batch.Build(nil, 0, now, values(v)) }
	requireCode(t, nil, produceRaw(t, c, topic, 0, good("first")).ErrorCode)

	flipped := good("flip me")
	flipped[len(flipped)-3] ^= 0x40 // inside the value: the CRC no longer matches
	shortened := good("cut")
	shortened = shortened[:len(shortened)-1]

	for _, tc := range []struct {
		name    string
		version int16
		records []byte
		want    *kerr.Error // nil: any error
	}{
		{"batch over max.message.bytes", 9, good(string(make([]byte, 3000))), kerr.MessageTooLarge},
		{"flipped bit (CRC-32C mismatch)", 9, flipped, kerr.CorruptMessage},
		{"good batch then a corrupt one", 9, append(good("not alone"), flipped...), kerr.CorruptMessage},
		{"batch shorter than its length field", 9, shortened, kerr.CorruptMessage},
		{"produce v2 with message format v1", 2, legacyMessageSet("old"), kerr.UnsupportedForMessageFormat},
		{"produce v3 with message format v1", 3, legacyMessageSet("old"), nil},
		{"produce v9 with no records", 9, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sp := producePartition(t, c, produceReq(tc.version, -1, topic, 0, tc.records))
			if tc.want != nil {
				requireCode(t, tc.want, sp.ErrorCode)
			} else {
				require.NotZero(t, sp.ErrorCode, "the batch must be refused")
			}
			require.Equal(t, int64(1), listOffset(t, c, topic, 0, -1).Offset, "nothing appended")
		})
	}

	requireCode(t, nil, produceRaw(t, c, topic, 0, good("last")).ErrorCode)
	require.Equal(t, []string{"first", "last"}, valuesOf(fetchAll(t, c, topic, 0, 0)))
}
