package wire

// Produce (key 0), versions 0-9.
// Only RecordBatch v2 is stored: v0-2 requests (message format 0/1) get
// UNSUPPORTED_FOR_MESSAGE_FORMAT. Each batch is validated (length, CRC-32C,
// record count, max.message.bytes) and stored as sent, compressed or not; the
// log patches baseOffset and partitionLeaderEpoch in place. With
// message.timestamp.type=LogAppendTime the batch's max timestamp and type bit
// are set and its CRC recomputed, as Kafka does. Idempotent batches are
// deduplicated by the log (a duplicate is answered with its original offset).
// A record without a key in a compacted topic gets INVALID_RECORD, as in
// Kafka. acks=0 gets no response, and an error closes the connection, as in
// Kafka. Only the partition's leader takes records (NOT_LEADER_OR_FOLLOWER
// elsewhere). acks=-1 is answered once the whole ISR has the batches (the
// high watermark passed them), within the request's timeout
// (REQUEST_TIMED_OUT after it); an ISR smaller than min.insync.replicas
// answers NOT_ENOUGH_REPLICAS before the append and
// NOT_ENOUGH_REPLICAS_AFTER_APPEND after it. Clients cannot write internal topics such as
// __consumer_offsets (INVALID_TOPIC_EXCEPTION), as in Kafka.
// Transactional batches (attribute bit 4) are accepted with the idempotence
// checks, and open the producer's transaction on the partition; the
// transaction coordinator ends it with WriteTxnMarkers. A producer epoch
// older than the partition has seen gets INVALID_PRODUCER_EPOCH (Kafka
// 2.7+), a non-transactional batch during the producer's transaction
// INVALID_TXN_STATE, and a control batch from a client INVALID_RECORD. The
// transactional id is not checked against the coordinator's transaction
// (Kafka's KIP-890 verification is not done).

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"

	"github.com/kspring/kspring/broker/internal/batch"
	"github.com/kspring/kspring/broker/internal/log"
	"github.com/kspring/kspring/broker/internal/replica"
)

func init() { register(0, 0, 9, handler((*Server).handleProduce)) }

func (s *Server) handleProduce(ctx context.Context, req *Request, body *kmsg.ProduceRequest) (kmsg.Response, error) {
	resp := body.ResponseKind().(*kmsg.ProduceResponse)
	resp.SetVersion(body.Version)
	reqErr := func() *kerr.Error {
		switch {
		case body.Acks != 0 && body.Acks != 1 && body.Acks != -1:
			return kerr.InvalidRequiredAcks
		}
		return nil
	}()
	now := time.Now()
	var waits []replicated
	for _, rt := range body.Topics {
		st := kmsg.NewProduceResponseTopic()
		st.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			sp := kmsg.NewProduceResponseTopicPartition()
			sp.Partition = rp.Partition
			sp.BaseOffset = -1
			sp.LogAppendTime = -1
			sp.LogStartOffset = -1
			if reqErr != nil {
				sp.ErrorCode = reqErr.Code
			} else if w, ok := s.producePartition(req, body, rt.Topic, rp, &sp, now); ok {
				w.ti, w.pi = len(resp.Topics), len(st.Partitions)
				waits = append(waits, w)
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	if body.Acks == -1 && len(waits) > 0 {
		s.waitReplicated(ctx, resp, waits, time.Duration(body.TimeoutMillis)*time.Millisecond)
	}
	if body.Acks == 0 {
		// No response; as in Kafka, an error closes the connection so the
		// client refreshes its metadata.
		for _, st := range resp.Topics {
			for _, sp := range st.Partitions {
				if sp.ErrorCode != 0 {
					return nil, fmt.Errorf("acks=0 produce to %s-%d failed: %w", st.Topic, sp.Partition, kerr.ErrorForCode(sp.ErrorCode))
				}
			}
		}
		return nil, nil
	}
	return resp, nil
}

// replicated is an acks=all append waiting for the ISR.
type replicated struct {
	p      *replica.Partition
	end    int64 // the offset after the appended batches
	ti, pi int   // the partition's place in the response
}

// waitReplicated waits, within timeout, until the ISR has every append of
// the request, and sets the error of each that did not get there.
func (s *Server) waitReplicated(ctx context.Context, resp *kmsg.ProduceResponse, waits []replicated, timeout time.Duration) {
	// Most often (a leader alone in its ISR, or fast followers) every
	// append is replicated already: answer without a timer.
	pending := waits[:0]
	for _, w := range waits {
		if done, err := w.p.Replicated(w.end); !done {
			pending = append(pending, w)
		} else if err != nil {
			s.replicationFailed(resp, w, err)
		}
	}
	if len(pending) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, max(timeout, time.Millisecond))
	defer cancel()
	for _, w := range pending {
		if err := w.p.WaitReplicated(ctx, w.end); err != nil {
			s.replicationFailed(resp, w, err)
		}
	}
}

// replicationFailed sets the error of an acks=all append that did not
// reach the ISR.
func (s *Server) replicationFailed(resp *kmsg.ProduceResponse, w replicated, err error) {
	sp := &resp.Topics[w.ti].Partitions[w.pi]
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		sp.ErrorCode = kerr.RequestTimedOut.Code
	} else {
		sp.ErrorCode = produceErrorCode(err).Code
	}
	sp.BaseOffset = -1
}

// producePartition appends to one partition; with acks=all it returns the
// append to wait for.
func (s *Server) producePartition(req *Request, body *kmsg.ProduceRequest, topic string, rp kmsg.ProduceRequestTopicPartition,
	sp *kmsg.ProduceResponseTopicPartition, now time.Time) (replicated, bool) {
	fail := func(err *kerr.Error, msg string) {
		sp.ErrorCode = err.Code
		if msg != "" {
			sp.ErrorMessage = &msg
		}
	}
	p, ok := s.parts.Get(topic, rp.Partition)
	if !ok {
		fail(s.missingPartition(topic, rp.Partition), "")
		return replicated{}, false
	}
	if isInternalTopic(topic) {
		// The broker writes its internal topics itself; a client's records
		// there would corrupt group state.
		fail(kerr.InvalidTopicException, "cannot append to internal topic "+topic)
		return replicated{}, false
	}
	if body.Version < 3 {
		fail(kerr.UnsupportedForMessageFormat, "message format v0/v1 is not supported: use a client that sends RecordBatch v2 (Kafka 0.11+)")
		return replicated{}, false
	}
	settings := p.Settings()
	pol := settings.Policy
	records := rp.Records
	if len(records) == 0 {
		fail(kerr.CorruptMessage, "produce request has no record batch")
		return replicated{}, false
	}
	compacted := settings.Log.Compacts()
	err := batch.Split(records, func(b []byte) error {
		h, err := batch.Validate(b)
		if err != nil {
			return err
		}
		if h.Size() > int(pol.MaxMessageBytes) {
			return errTooLarge
		}
		if h.IsControl() {
			return errControl
		}
		if h.IsTransactional() && !h.Idempotent() {
			return errTxnNoProducer
		}
		if h.Idempotent() && h.BaseSequence < 0 {
			// Only the coordinators write without a sequence.
			return fmt.Errorf("producer %d sent sequence %d: %w", h.ProducerID, h.BaseSequence, log.ErrOutOfOrderSequence)
		}
		if compacted {
			if err := requireKeys(b); err != nil {
				return err
			}
		}
		if pol.LogAppendTime {
			batch.SetLogAppendTime(b, now.UnixMilli())
		}
		return nil
	})
	if err != nil {
		code := produceErrorCode(err)
		s.logger.Debug("rejected produce", zap.String("topic", topic), zap.Int32("partition", rp.Partition),
			zap.String("client", clientID(req)), zap.Error(err))
		fail(code, err.Error())
		return replicated{}, false
	}
	res, err := p.Append(records, body.Acks, now)
	if err != nil {
		code := produceErrorCode(err)
		if code == kerr.KafkaStorageError {
			s.logger.Error("append failed", zap.String("topic", topic), zap.Int32("partition", rp.Partition), zap.Error(err))
		}
		fail(code, "")
		return replicated{}, false
	}
	sp.BaseOffset = res.BaseOffset
	sp.LogStartOffset = res.LogStartOffset
	if pol.LogAppendTime {
		sp.LogAppendTime = now.UnixMilli()
	}
	return replicated{p: p, end: res.LastOffset + 1}, true
}

// missingPartition is the error for a partition this broker does not hold:
// NOT_LEADER_OR_FOLLOWER if the topic exists (another broker leads it),
// else UNKNOWN_TOPIC_OR_PARTITION.
func (s *Server) missingPartition(topic string, index int32) *kerr.Error {
	if t, ok := s.meta.State().Topics[topic]; ok && index >= 0 && index < t.Partitions {
		return kerr.NotLeaderForPartition
	}
	return kerr.UnknownTopicOrPartition
}

var (
	errTooLarge      = errors.New("record batch is larger than max.message.bytes")
	errControl       = errors.New("control batches are written by the transaction coordinator, not by clients")
	errTxnNoProducer = errors.New("transactional batch without a producer id")
	errNoKey         = errors.New("compacted topic cannot accept message without key")
)

// requireKeys refuses a batch holding a record without a key: compaction
// keeps the latest record per key and could not keep it. Only compacted
// topics pay for decoding (and decompressing) the records.
func requireKeys(b []byte) error {
	return batch.Records(b, func(r batch.Record) error {
		if r.Key == nil {
			return errNoKey
		}
		return nil
	})
}

// produceErrorCode maps a validation or append error to Kafka's code.
func produceErrorCode(err error) *kerr.Error {
	switch {
	case errors.Is(err, errTooLarge):
		return kerr.MessageTooLarge
	case errors.Is(err, errControl), errors.Is(err, errTxnNoProducer):
		return kerr.InvalidRecord
	case errors.Is(err, log.ErrInvalidTxnState):
		return kerr.InvalidTxnState
	case errors.Is(err, errNoKey):
		return kerr.InvalidRecord
	case errors.Is(err, batch.ErrUnsupportedMagic):
		return kerr.UnsupportedForMessageFormat
	case errors.Is(err, batch.ErrCorrupt), errors.Is(err, batch.ErrShort):
		return kerr.CorruptMessage
	case errors.Is(err, batch.ErrInvalid):
		return kerr.InvalidRecord
	case errors.Is(err, log.ErrOutOfOrderSequence):
		return kerr.OutOfOrderSequenceNumber
	case errors.Is(err, log.ErrInvalidProducerEpoch):
		return kerr.InvalidProducerEpoch
	case errors.Is(err, replica.ErrDeleted):
		return kerr.UnknownTopicOrPartition
	case errors.Is(err, replica.ErrNotLeader):
		return kerr.NotLeaderForPartition
	case errors.Is(err, replica.ErrNotEnoughReplicas):
		return kerr.NotEnoughReplicas
	case errors.Is(err, replica.ErrNotEnoughReplicasAfterAppend):
		return kerr.NotEnoughReplicasAfterAppend
	}
	return kerr.KafkaStorageError
}

func clientID(req *Request) string {
	if req.ClientID == nil {
		return ""
	}
	return *req.ClientID
}
