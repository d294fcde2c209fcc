package broker_test

// Shared plumbing of the end-to-end tests: a broker on a free port, restarts
// on the same directories, a bounded poller, franz-go helpers, and a raw
// Kafka-protocol connection for requests at exact versions and for bytes no
// client would send.

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"

	"github.com/kspring/kspring/broker"
	"github.com/kspring/kspring/broker/internal/batch"
)

// waitFor bounds every wait in these tests: generous, so that a slow shared
// machine under -race does not fail a correct broker, yet finite.
const waitFor = 30 * time.Second

// testCtx returns a context that ends with the test or after waitFor.
func testCtx(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	t.Cleanup(cancel)
	return ctx
}

// startBroker starts a broker on 127.0.0.1:0 with its log in a fresh temporary
// directory and no initial rebalance delay; opts adjust the config first. The
// broker is closed when the test ends.
func startBroker(t testing.TB, opts ...func(*broker.Config)) *broker.Broker {
	t.Helper()
	return startWith(t, testConfig(t, opts...))
}

// testConfig is the config startBroker uses.
func testConfig(t testing.TB, opts ...func(*broker.Config)) broker.Config {
	cfg := broker.DefaultConfig()
	cfg.Listeners = []string{"PLAINTEXT://127.0.0.1:0"}
	cfg.LogDirs = []string{t.TempDir()}
	cfg.GroupInitialRebalanceDelayMs = time.Millisecond
	for _, o := range opts {
		o(&cfg)
	}
	return cfg
}

// startWith starts a broker with exactly cfg and closes it when the test ends.
func startWith(t testing.TB, cfg broker.Config) *broker.Broker {
	t.Helper()
	return startLogged(t, cfg, zapcore.InfoLevel)
}

// startLogged is startWith, logging to the test at level and above.
func startLogged(t testing.TB, cfg broker.Config, level zapcore.Level) *broker.Broker {
	t.Helper()
	b, err := broker.New(cfg, broker.WithLogger(zaptest.NewLogger(t, zaptest.Level(level))))
	require.NoError(t, err)
	require.NoError(t, b.Start(testCtx(t)))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		if err := b.Close(ctx); err != nil {
			t.Errorf("close broker: %v", err)
		}
	})
	return b
}

// closeBroker closes b cleanly, as a SIGTERM would.
func closeBroker(t testing.TB, b *broker.Broker) {
	t.Helper()
	require.NoError(t, b.Close(testCtx(t)))
}

// restart closes b cleanly and starts a new broker with the same config and
// directories (on a new free port).
func restart(t testing.TB, b *broker.Broker) *broker.Broker {
	t.Helper()
	cfg := b.Config()
	closeBroker(t, b)
	return startWith(t, cfg)
}

// eventually calls fn until it returns nil, failing the test with fn's last
// error if that does not happen within waitFor.
func eventually(t testing.TB, fn func() error) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		err := fn()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v: %v", waitFor, err)
		}
		<-tick.C
	}
}

// requireCode checks a Kafka error code, naming both codes on failure.
func requireCode(t testing.TB, want *kerr.Error, got int16, msgAndArgs ...any) {
	t.Helper()
	wantCode := int16(0)
	wantName := "NONE"
	if want != nil {
		wantCode, wantName = want.Code, want.Message
	}
	if got != wantCode {
		gotName := "NONE"
		if e := kerr.ErrorForCode(got); e != nil {
			gotName = e.Error()
		}
		require.Failf(t, "unexpected Kafka error code", "want %d (%s), got %d (%s) %s",
			wantCode, wantName, got, gotName, fmt.Sprint(msgAndArgs...))
	}
}

// ---- franz-go ----

// newKgo returns a franz-go client bootstrapped from addr, closed when the test
// ends.
func newKgo(t testing.TB, addr string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(strings.Split(addr, ",")...)}, opts...)...)
	require.NoError(t, err)
	t.Cleanup(cl.Close)
	return cl
}

// createTopic creates a topic with n partitions and the given config overrides.
func createTopic(t testing.TB, addr, topic string, n int32, configs map[string]string) {
	t.Helper()
	adm := kadm.NewClient(newKgo(t, addr))
	var cfg map[string]*string
	for k, v := range configs {
		if cfg == nil {
			cfg = map[string]*string{}
		}
		cfg[k] = &v
	}
	resp, err := adm.CreateTopic(testCtx(t), n, 1, cfg, topic)
	require.NoError(t, err)
	require.NoError(t, resp.Err, "create topic %s", topic)
}

// produceSync produces recs with cl and fails the test on any error. The
// records come back with their partitions and offsets filled in.
func produceSync(t testing.TB, cl *kgo.Client, recs ...*kgo.Record) []*kgo.Record {
	t.Helper()
	res := cl.ProduceSync(testCtx(t), recs...)
	require.NoError(t, res.FirstErr())
	return recs
}

// pollN polls cl until it has n records, failing the test on a fetch error or
// if they do not arrive within waitFor. Extra records are returned too.
func pollN(t testing.TB, cl *kgo.Client, n int) []*kgo.Record {
	t.Helper()
	ctx := testCtx(t)
	var out []*kgo.Record
	for len(out) < n {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("got %d of %d records within %v", len(out), n, waitFor)
		}
		fs.EachError(func(topic string, p int32, err error) {
			t.Fatalf("fetch %s[%d]: %v", topic, p, err)
		})
		out = append(out, fs.Records()...)
	}
	return out
}

// consumeAll reads n records of topic from the start of every partition with a
// fresh client.
func consumeAll(t testing.TB, addr, topic string, n int) []*kgo.Record {
	t.Helper()
	cl := newKgo(t, addr, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	return pollN(t, cl, n)
}

// ---- raw protocol ----

// wireConn is a raw Kafka-protocol connection: requests go out at exactly
// the version they carry, and arbitrary bytes can be written.
type wireConn struct {
	t    testing.TB
	nc   net.Conn
	br   *bufio.Reader
	f    *kmsg.RequestFormatter
	corr int32
}

func dialWire(t testing.TB, addr string) *wireConn {
	t.Helper()
	var d net.Dialer
	nc, err := d.DialContext(testCtx(t), "tcp", addr)
	require.NoError(t, err)
	t.Cleanup(func() { nc.Close() })
	return &wireConn{t: t, nc: nc, br: bufio.NewReader(nc), f: kmsg.NewRequestFormatter(kmsg.FormatterClientID("kspring-e2e"))}
}

// send writes req at its version and returns its correlation id.
func (c *wireConn) send(req kmsg.Request) int32 {
	c.t.Helper()
	c.corr++
	buf := c.f.AppendRequest(nil, req, c.corr)
	c.write(buf)
	return c.corr
}

// write writes raw bytes.
func (c *wireConn) write(b []byte) {
	c.t.Helper()
	require.NoError(c.t, c.nc.SetWriteDeadline(time.Now().Add(waitFor)))
	_, err := c.nc.Write(b)
	require.NoError(c.t, err)
}

// readFrame reads one response frame and returns its correlation id and the
// bytes after it.
func (c *wireConn) readFrame() (int32, []byte, error) {
	if err := c.nc.SetReadDeadline(time.Now().Add(waitFor)); err != nil {
		return 0, nil, err
	}
	var hdr [4]byte
	if _, err := io.ReadFull(c.br, hdr[:]); err != nil {
		return 0, nil, err
	}
	size := int32(binary.BigEndian.Uint32(hdr[:]))
	if size < 4 || size > 64<<20 {
		return 0, nil, fmt.Errorf("response frame size %d", size)
	}
	buf := make([]byte, size)
	if _, err := io.ReadFull(c.br, buf); err != nil {
		return 0, nil, err
	}
	return int32(binary.BigEndian.Uint32(buf)), buf[4:], nil
}

// recv reads the response to req, sent with correlation id corr.
func (c *wireConn) recv(req kmsg.Request, corr int32) kmsg.Response {
	c.t.Helper()
	gotCorr, body, err := c.readFrame()
	require.NoError(c.t, err, "reading the response to %s v%d", kmsg.NameForKey(req.Key()), req.GetVersion())
	require.Equal(c.t, corr, gotCorr, "correlation id")
	resp, err := decodeResponse(req, body)
	require.NoError(c.t, err)
	return resp
}

// decodeResponse decodes the response to req from a frame's bytes after the
// correlation id.
func decodeResponse(req kmsg.Request, body []byte) (kmsg.Response, error) {
	resp := req.ResponseKind()
	resp.SetVersion(req.GetVersion())
	if resp.IsFlexible() && req.Key() != 18 { // ApiVersions answers with header v0 (KIP-511)
		r := kbin.Reader{Src: body}
		kmsg.SkipTags(&r)
		if err := r.Complete(); err != nil {
			return nil, fmt.Errorf("response header tags: %w", err)
		}
		body = r.Src
	}
	if err := resp.ReadFrom(body); err != nil {
		return nil, fmt.Errorf("decoding %s v%d response: %w", kmsg.NameForKey(req.Key()), req.GetVersion(), err)
	}
	return resp, nil
}

// do sends req and returns its response.
func (c *wireConn) do(req kmsg.Request) kmsg.Response {
	c.t.Helper()
	return c.recv(req, c.send(req))
}

// requireClosed asserts that the broker closes the connection: a read ends in
// EOF or a reset, not a timeout and not a response.
func (c *wireConn) requireClosed() {
	c.t.Helper()
	corr, _, err := c.readFrame()
	require.Error(c.t, err, "expected the broker to close the connection, got a response (correlation id %d)", corr)
	require.False(c.t, errors.Is(err, os.ErrDeadlineExceeded), "connection still open after %v", waitFor)
}

// apiVersionsOK checks that a fresh connection to addr gets a good ApiVersions
// answer: the broker is alive and serving.
func apiVersionsOK(t testing.TB, addr string) {
	t.Helper()
	c := dialWire(t, addr)
	req := kmsg.NewPtrApiVersionsRequest()
	req.SetVersion(3)
	req.ClientSoftwareName, req.ClientSoftwareVersion = "kspring-e2e", "1"
	resp := c.do(req).(*kmsg.ApiVersionsResponse)
	requireCode(t, nil, resp.ErrorCode)
	require.NotEmpty(t, resp.ApiKeys)
	c.nc.Close()
}

// produceReq builds a Produce request for one partition.
func produceReq(version int16, acks int16, topic string, partition int32, records []byte) *kmsg.ProduceRequest {
	req := kmsg.NewPtrProduceRequest()
	req.SetVersion(version)
	req.Acks = acks
	req.TimeoutMillis = int32(waitFor / time.Millisecond)
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Partition = partition
	rp.Records = records
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	return req
}

// produceRaw sends one Produce v9 with acks=-1 and returns the partition's
// answer.
func produceRaw(t testing.TB, c *wireConn, topic string, partition int32, records []byte) kmsg.ProduceResponseTopicPartition {
	t.Helper()
	return producePartition(t, c, produceReq(9, -1, topic, partition, records))
}

// producePartition sends a one-partition produce request and returns the
// partition's answer.
func producePartition(t testing.TB, c *wireConn, req *kmsg.ProduceRequest) kmsg.ProduceResponseTopicPartition {
	t.Helper()
	resp := c.do(req).(*kmsg.ProduceResponse)
	require.Len(t, resp.Topics, 1)
	require.Len(t, resp.Topics[0].Partitions, 1)
	return resp.Topics[0].Partitions[0]
}

// fetchPart is one partition of a raw fetch.
type fetchPart struct {
	Partition int32
	Offset    int64
	MaxBytes  int32 // PartitionMaxBytes
}

// fetchReq builds a Fetch v12 (the newest that names topics) of one topic's
// partitions that returns at once, with response limit maxBytes.
func fetchReq(topic string, maxBytes int32, parts ...fetchPart) *kmsg.FetchRequest {
	req := kmsg.NewPtrFetchRequest()
	req.SetVersion(12)
	req.ReplicaID = -1
	req.MaxBytes = maxBytes
	req.MinBytes = 0
	req.MaxWaitMillis = 0
	req.SessionEpoch = -1
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic = topic
	for _, p := range parts {
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.Partition = p.Partition
		rp.FetchOffset = p.Offset
		rp.PartitionMaxBytes = p.MaxBytes
		rp.CurrentLeaderEpoch = -1
		rp.LogStartOffset = -1
		rt.Partitions = append(rt.Partitions, rp)
	}
	req.Topics = append(req.Topics, rt)
	return req
}

// fetchRaw fetches one partition from offset and returns its answer.
func fetchRaw(t testing.TB, c *wireConn, topic string, partition int32, offset int64) kmsg.FetchResponseTopicPartition {
	t.Helper()
	req := fetchReq(topic, 64<<20, fetchPart{Partition: partition, Offset: offset, MaxBytes: 32 << 20})
	resp := c.do(req).(*kmsg.FetchResponse)
	requireCode(t, nil, resp.ErrorCode)
	require.Len(t, resp.Topics, 1)
	require.Len(t, resp.Topics[0].Partitions, 1)
	return resp.Topics[0].Partitions[0]
}

// listOffset asks for one partition's offset at timestamp ts (-2 earliest,
// -1 latest).
func listOffset(t testing.TB, c *wireConn, topic string, partition int32, ts int64) kmsg.ListOffsetsResponseTopicPartition {
	t.Helper()
	req := kmsg.NewPtrListOffsetsRequest()
	req.SetVersion(7)
	req.ReplicaID = -1
	rt := kmsg.NewListOffsetsRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewListOffsetsRequestTopicPartition()
	rp.Partition = partition
	rp.Timestamp = ts
	rp.CurrentLeaderEpoch = -1
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp := c.do(req).(*kmsg.ListOffsetsResponse)
	require.Len(t, resp.Topics, 1)
	require.Len(t, resp.Topics[0].Partitions, 1)
	return resp.Topics[0].Partitions[0]
}

// initProducerID gets an idempotent producer id over c.
func initProducerID(t testing.TB, c *wireConn) (int64, int16) {
	t.Helper()
	req := kmsg.NewPtrInitProducerIDRequest()
	req.SetVersion(4)
	req.TransactionTimeoutMillis = -1
	req.ProducerID, req.ProducerEpoch = -1, -1
	resp := c.do(req).(*kmsg.InitProducerIDResponse)
	requireCode(t, nil, resp.ErrorCode)
	require.GreaterOrEqual(t, resp.ProducerID, int64(0))
	return resp.ProducerID, resp.ProducerEpoch
}

// ---- record batches ----

// values returns records with the given values and no keys.
func values(vs ...string) []batch.Record {
	recs := make([]batch.Record, len(vs))
	for i, v := range vs {
		recs[i] = batch.Record{TimestampDelta: int64(i), Value: []byte(v)}
	}
	return recs
}

// fetchedRecord is one record read back from a fetch or a segment.
type fetchedRecord struct {
	Offset    int64
	Timestamp int64
	Key       string
	Value     string
	Headers   []batch.RecordHeader
	Batch     batch.Header
}

// decodeBatches walks whole batches in data (a fetch response's records or a
// segment file), verifying each CRC, and returns their headers and records.
func decodeBatches(t testing.TB, data []byte) ([]batch.Header, []fetchedRecord) {
	t.Helper()
	var hs []batch.Header
	var recs []fetchedRecord
	err := batch.Split(data, func(b []byte) error {
		h, err := batch.VerifyChecksum(b)
		if err != nil {
			return err
		}
		hs = append(hs, h)
		return batch.Records(b, func(r batch.Record) error {
			ts := h.FirstTimestamp + r.TimestampDelta
			if h.TimestampType() {
				ts = h.MaxTimestamp
			}
			recs = append(recs, fetchedRecord{
				Offset: h.BaseOffset + int64(r.OffsetDelta), Timestamp: ts,
				Key: string(r.Key), Value: string(r.Value),
				Headers: append([]batch.RecordHeader(nil), r.Headers...), Batch: h,
			})
			return nil
		})
	})
	require.NoError(t, err)
	return hs, recs
}

// fetchAll reads a partition from offset to its high watermark over c.
func fetchAll(t testing.TB, c *wireConn, topic string, partition int32, offset int64) []fetchedRecord {
	t.Helper()
	var out []fetchedRecord
	for {
		sp := fetchRaw(t, c, topic, partition, offset)
		requireCode(t, nil, sp.ErrorCode, "fetch", topic, partition, offset)
		_, recs := decodeBatches(t, sp.RecordBatches)
		for _, r := range recs {
			if r.Offset >= offset { // a batch may start before the fetch offset
				out = append(out, r)
			}
		}
		if len(recs) > 0 {
			offset = recs[len(recs)-1].Offset + 1
		}
		if offset >= sp.HighWatermark || len(recs) == 0 {
			require.Equal(t, sp.HighWatermark, offset, "fetch stopped before the high watermark")
			return out
		}
	}
}

// valuesOf returns the values of records.
func valuesOf(recs []fetchedRecord) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.Value
	}
	return out
}

// seq returns prefix0..prefix(n-1).
func seq(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%d", prefix, i)
	}
	return out
}
