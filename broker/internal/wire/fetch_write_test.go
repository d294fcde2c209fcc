package wire

import (
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kmsg"
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
