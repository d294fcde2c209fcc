package broker_test

// FuzzRequest sends arbitrary framed requests to a running broker. Whatever
// the key, version and body, the broker must answer, or close that one
// connection, and keep serving new ones.
//
//	go test ./broker -run '^$' -fuzz FuzzRequest -fuzztime 60s

import (
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap/zapcore"

	"github.com/kspring/kspring/broker"
	"github.com/kspring/kspring/broker/internal/batch"
)

// fuzzBody encodes req as what follows the client id in a request: the
// header's tagged fields when the version is flexible, then the body.
func fuzzBody(req kmsg.Request) []byte {
	var b []byte
	if req.IsFlexible() {
		b = append(b, 0)
	}
	return req.AppendTo(b)
}

// fuzzSeeds returns valid requests for every API kmsg knows, at its oldest
// and newest version, with zero-valued fields, plus requests with content
// for the APIs on the data path.
func fuzzSeeds() []kmsg.Request {
	var out []kmsg.Request
	for key := range int16(100) {
		for _, newest := range []bool{false, true} {
			req := kmsg.RequestForKey(key)
			if req == nil {
				continue
			}
			if newest {
				req.SetVersion(req.MaxVersion())
			}
			out = append(out, req)
		}
	}

	now := time.Now().UnixMilli()
	recs := []batch.Record{{Key: []byte("k"), Value: []byte("v"), Headers: []batch.RecordHeader{{Key: "h", Value: []byte("x")}}}}
	for _, v := range []int16{3, 7, 9} {
		for _, codec := range []batch.Codec{batch.None, batch.Gzip, batch.Zstd} {
			p := produceReq(v, 1, "fuzz", 0, batch.Build(nil, 0, now, recs, batch.WithCompression(codec), batch.WithProducer(1, 0, 0)))
			out = append(out, p)
		}
	}
	for _, v := range []int16{4, 11, 12, 13} {
		f := fetchReq("fuzz", 1<<20, fetchPart{Partition: 0, Offset: 0, MaxBytes: 1 << 20})
		f.SetVersion(v)
		f.MaxWaitMillis = 10
		out = append(out, f)
	}
	out = append(out, replicaFetchSeeds([16]byte{}, [16]byte{1, 2, 3})...)
	for _, v := range []int16{0, 1, 4, 9, 12} {
		m := kmsg.NewPtrMetadataRequest()
		m.SetVersion(v)
		m.AllowAutoTopicCreation = true
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = kmsg.StringPtr("fuzz")
		m.Topics = append(m.Topics, rt)
		out = append(out, m)
	}
	for _, v := range []int16{0, 1, 7} {
		l := kmsg.NewPtrListOffsetsRequest()
		l.SetVersion(v)
		rt := kmsg.NewListOffsetsRequestTopic()
		rt.Topic = "fuzz"
		rt.Partitions = []kmsg.ListOffsetsRequestTopicPartition{{Partition: 0, Timestamp: -1, MaxNumOffsets: 1, CurrentLeaderEpoch: -1}}
		l.Topics = append(l.Topics, rt)
		out = append(out, l)
	}
	for _, v := range []int16{0, 5, 7} {
		c := kmsg.NewPtrCreateTopicsRequest()
		c.SetVersion(v)
		rt := kmsg.NewCreateTopicsRequestTopic()
		rt.Topic, rt.NumPartitions, rt.ReplicationFactor = "fuzz-created", 2, 1
		rt.Configs = []kmsg.CreateTopicsRequestTopicConfig{{Name: "retention.ms", Value: kmsg.StringPtr("1000")}}
		c.Topics = append(c.Topics, rt)
		out = append(out, c)
	}
	for _, v := range []int16{0, 4} {
		i := kmsg.NewPtrInitProducerIDRequest()
		i.SetVersion(v)
		i.ProducerID, i.ProducerEpoch = -1, -1
		out = append(out, i)
	}
	for _, v := range []int16{0, 1} {
		w := kmsg.NewPtrWriteTxnMarkersRequest()
		w.SetVersion(v)
		m := kmsg.NewWriteTxnMarkersRequestMarker()
		m.ProducerID, m.ProducerEpoch, m.Committed = 1, 0, v == 1
		m.Topics = []kmsg.WriteTxnMarkersRequestMarkerTopic{{Topic: "fuzz", Partitions: []int32{0}}}
		w.Markers = append(w.Markers, m)
		out = append(out, w)
	}
	for _, v := range []int16{0, 3} {
		tc := kmsg.NewPtrTxnOffsetCommitRequest()
		tc.SetVersion(v)
		tc.TransactionalID, tc.Group, tc.ProducerID = "fuzz", "fuzz", 1
		p := kmsg.NewTxnOffsetCommitRequestTopicPartition()
		p.Offset = 1
		tc.Topics = []kmsg.TxnOffsetCommitRequestTopic{{Topic: "fuzz", Partitions: []kmsg.TxnOffsetCommitRequestTopicPartition{p}}}
		out = append(out, tc)
	}
	a := kmsg.NewPtrApiVersionsRequest()
	a.SetVersion(3)
	a.ClientSoftwareName, a.ClientSoftwareVersion = "fuzz", "1"
	return append(out, a)
}

// replicaFetchSeeds returns followers' fetches (Fetch v13 with a replica
// id, topics named by id, as the replica fetcher sends) of partition 0 of
// each topic id.
func replicaFetchSeeds(ids ...[16]byte) []kmsg.Request {
	var out []kmsg.Request
	for _, id := range ids {
		f := fetchReq("", 1<<20, fetchPart{Partition: 0, Offset: 0, MaxBytes: 1 << 20})
		f.SetVersion(13)
		f.ReplicaID, f.MinBytes, f.MaxWaitMillis = 2, 1, 10
		f.Topics[0].TopicID = id
		rp := &f.Topics[0].Partitions[0]
		rp.CurrentLeaderEpoch, rp.LastFetchedEpoch, rp.LogStartOffset = 0, 0, 0
		out = append(out, f)
	}
	return out
}

func FuzzRequest(f *testing.F) {
	// Limit requests to 1 MiB so the fuzzer cannot make the broker buffer
	// the default 100 MiB per input.
	cfg := testConfig(f, func(c *broker.Config) { c.SocketRequestMaxBytes = 1 << 20 })
	addr := startLogged(f, cfg, zapcore.ErrorLevel).Addr()
	// A replica fetch by the id of a topic that exists reaches the
	// follower path (and is refused: the lone broker has no follower).
	createTopic(f, addr, "fuzz", 1, nil)
	md, err := kadm.NewClient(newKgo(f, addr)).Metadata(testCtx(f), "fuzz")
	require.NoError(f, err)
	for _, req := range append(fuzzSeeds(), replicaFetchSeeds(md.Topics["fuzz"].ID)...) {
		f.Add(req.Key(), req.GetVersion(), fuzzBody(req))
	}
	probe := kmsg.NewPtrApiVersionsRequest() // v0, correlation id 2
	probeFrame := kmsg.NewRequestFormatter().AppendRequest(nil, probe, 2)

	f.Fuzz(func(t *testing.T, key, version int16, body []byte) {
		nc, err := net.DialTimeout("tcp", addr, waitFor)
		require.NoError(t, err)
		defer nc.Close()
		// The fuzzed request (correlation id 1), then a probe on the same
		// connection: the broker handles a connection's requests in order,
		// so once the probe is answered, or the connection closed, the
		// fuzzed request has been handled. Long polls and acks=0 produces
		// answer late or never; the deadline bounds those.
		require.NoError(t, nc.SetDeadline(time.Now().Add(2*time.Second)))
		msg := append(frame(requestHeader(key, version), body), probeFrame...)
		if _, err := nc.Write(msg); err == nil {
			drainUntilProbe(nc)
		}
		nc.Close()

		apiVersionsOK(t, addr)
	})
}

// drainUntilProbe reads responses until the one with correlation id 2, an
// error, or the deadline.
func drainUntilProbe(nc net.Conn) {
	var hdr [8]byte
	for {
		if _, err := io.ReadFull(nc, hdr[:]); err != nil {
			return
		}
		size := int64(binary.BigEndian.Uint32(hdr[:4]))
		if _, err := io.CopyN(io.Discard, nc, size-4); err != nil {
			return
		}
		if binary.BigEndian.Uint32(hdr[4:]) == 2 {
			return
		}
	}
}
