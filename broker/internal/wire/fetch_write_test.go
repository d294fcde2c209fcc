package wire

import (
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"

	"github.com/kspring/kspring/broker/internal/batch"
	"github.com/kspring/kspring/broker/internal/log"
)

// TestWriteFetchSplicesBatches checks that a fetch response written with
// its large batch sets as separate buffers decodes to the same response, in
// flexible and non-flexible versions.
func TestWriteFetchSplicesBatches(t *testing.T) {
	big := func(seed byte, n int) []byte {
		b := bytes.Repeat([]byte{seed}, n)
		b[0], b[n-1] = 0xEE, 0xFF
		return b
	}
	for _, version := range []int16{4, 11, 12, 13} {
		resp := kmsg.NewPtrFetchResponse()
		resp.SetVersion(version)
		for ti, name := range []string{"a", "b"} {
			st := kmsg.NewFetchResponseTopic()
			st.Topic = name
			st.TopicID[0] = byte(ti + 1)
			for pi, data := range [][]byte{big(1, 70000), {1, 2, 3}, big(2, zeroCopyMin), noRecords, big(3, 200)} {
				sp := kmsg.NewFetchResponseTopicPartition()
				sp.Partition = int32(pi)
				sp.HighWatermark = int64(100 * pi)
				sp.RecordBatches = data
				st.Partitions = append(st.Partitions, sp)
			}
			resp.Topics = append(resp.Topics, st)
		}
		want := resp.AppendTo(nil)

		client, server := net.Pipe()
		c := &conn{nc: server}
		req := &Request{Key: 1, Version: version, CorrelationID: 77}
		errc := make(chan error, 1)
		go func() {
			done, err := c.writeFetch(req, resp)
			if err == nil && !done {
				err = io.ErrShortWrite
			}
			errc <- err
			server.Close()
		}()
		frame, err := io.ReadAll(client)
		require.NoError(t, err)
		require.NoError(t, <-errc)

		require.Equal(t, len(frame)-4, int(binary.BigEndian.Uint32(frame)), "v%d: frame size", version)
		require.Equal(t, int32(77), int32(binary.BigEndian.Uint32(frame[4:])))
		body := frame[8:]
		if resp.IsFlexible() {
			body = body[1:] // empty header tags
		}
		require.Equal(t, want, body, "v%d: spliced response differs from the plain encoding", version)
		// The response is left as it was.
		require.Len(t, resp.Topics[1].Partitions[0].RecordBatches, 70000)
	}
}

// TestWriteFetchSendsFromFiles checks that a fetch response whose batch sets
// stay in segment files, sent with sendfile over TCP between copied ones
// large and small, arrives as the plain encoding of the same response.
func TestWriteFetchSendsFromFiles(t *testing.T) {
	cfg := log.DefaultConfig()
	cfg.SegmentBytes = 64 << 10 // reads span segments
	l, err := log.Open(t.TempDir(), cfg, zap.NewNop())
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, l.Close()) })
	for i := range 40 {
		recs := []batch.Record{{Value: bytes.Repeat([]byte{byte(i)}, 5000)}}
		_, err := l.Append(batch.Build(nil, 0, 1, recs), 0, time.Now())
		require.NoError(t, err)
	}
	whole, err := l.Read(0, 1<<30, l.EndOffset())
	require.NoError(t, err)

	for _, version := range []int16{4, 12, 13} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		client, err := net.Dial("tcp", ln.Addr().String()) // the backlog completes it
		require.NoError(t, err)
		server, err := ln.Accept()
		require.NoError(t, err)
		ln.Close()
		c := &conn{nc: server, raw: rawConnFor(server)}
		require.NotNil(t, c.raw)

		resp := kmsg.NewPtrFetchResponse()
		resp.SetVersion(version)
		st := kmsg.NewFetchResponseTopic()
		st.Topic = "t"
		// Partitions: two read from files (one across segments), one
		// large and one small copied set, one empty.
		reads := []struct {
			offset   int64
			maxBytes int
		}{{0, 200 << 10}, {30, 20 << 10}}
		var wantData [][]byte
		for pi, r := range reads {
			sp := kmsg.NewFetchResponseTopicPartition()
			sp.Partition = int32(pi)
			from := len(c.fetch.chunks)
			c.fetch.chunks, err = l.ReadChunks(c.fetch.chunks, r.offset, r.maxBytes, l.EndOffset())
			require.NoError(t, err)
			require.NoError(t, c.fetch.add(&sp, from, true))
			data, err := l.Read(r.offset, r.maxBytes, l.EndOffset())
			require.NoError(t, err)
			wantData = append(wantData, data)
			st.Partitions = append(st.Partitions, sp)
		}
		require.Greater(t, len(c.fetch.chunks), 2, "the first read spans segments")
		for pi, data := range [][]byte{whole[:70000], {1, 2, 3}, noRecords} {
			sp := kmsg.NewFetchResponseTopicPartition()
			sp.Partition = int32(len(reads) + pi)
			sp.RecordBatches = data
			wantData = append(wantData, data)
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)

		plain := kmsg.NewPtrFetchResponse()
		plain.SetVersion(version)
		pt := kmsg.NewFetchResponseTopic()
		pt.Topic = "t"
		for i, sp := range st.Partitions {
			sp.RecordBatches = wantData[i]
			pt.Partitions = append(pt.Partitions, sp)
		}
		plain.Topics = append(plain.Topics, pt)
		want := plain.AppendTo(nil)

		req := &Request{Key: 1, Version: version, CorrelationID: 78}
		errc := make(chan error, 1)
		go func() {
			errc <- c.writeResponse(req, resp)
			server.Close()
		}()
		frame, err := io.ReadAll(client)
		require.NoError(t, err)
		require.NoError(t, <-errc)
		client.Close()

		require.Equal(t, len(frame)-4, int(binary.BigEndian.Uint32(frame)), "v%d: frame size", version)
		body := frame[8:]
		if resp.IsFlexible() {
			body = body[1:]
		}
		require.True(t, bytes.Equal(want, body), "v%d: response sent from files differs from the plain encoding", version)
		require.Empty(t, c.fetch.chunks, "chunks are released once the response is written")
	}
}
