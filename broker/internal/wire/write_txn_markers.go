package wire

// WriteTxnMarkers (key 27), versions 0-1.
// The transaction coordinator's request to partition leaders: write each
// marker (commit or abort of a producer's transaction) to each listed
// partition, as Kafka's leader does: appended in the current leader epoch,
// answered once the ISR has it (acks=all, min.insync.replicas honoured),
// within markerTimeout (REQUEST_TIMED_OUT after it; the coordinator
// retries). Per partition: UNKNOWN_TOPIC_OR_PARTITION,
// NOT_LEADER_OR_FOLLOWER, NOT_ENOUGH_REPLICAS(_AFTER_APPEND),
// INVALID_PRODUCER_EPOCH (a marker older than the producer's epoch). A
// marker that lands on a __consumer_offsets partition makes the group
// coordinator commit or drop that producer's transactional offsets. Markers
// are written concurrently, one goroutine per partition, all ended by the
// request's context. Kafka 4.2's v2 (TransactionVersion) is not served.

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/zap"

	"github.com/kspring/kspring/broker/internal/log"
	"github.com/kspring/kspring/broker/internal/replica"
)

func init() { register(27, 0, 1, handler((*Server).handleWriteTxnMarkers)) }

// markerTimeout bounds a WriteTxnMarkers request received over the wire:
// Kafka's request.timeout.ms default, which its coordinator's marker
// requests use.
const markerTimeout = 30 * time.Second

func (s *Server) handleWriteTxnMarkers(ctx context.Context, _ *Request, body *kmsg.WriteTxnMarkersRequest) (kmsg.Response, error) {
	ctx, cancel := context.WithTimeout(ctx, markerTimeout)
	defer cancel()
	return s.WriteTxnMarkers(ctx, body), nil
}

// WriteTxnMarkers writes the markers of req on the partitions this broker
// leads and answers as the WriteTxnMarkers API does, shaped for req's
// version: the in-process form the transaction coordinator uses when this
// broker leads a partition. It returns when every marker is replicated to
// its ISR or failed, at the latest when ctx ends (REQUEST_TIMED_OUT for
// those not done). Safe for concurrent use.
func (s *Server) WriteTxnMarkers(ctx context.Context, req *kmsg.WriteTxnMarkersRequest) *kmsg.WriteTxnMarkersResponse {
	resp := req.ResponseKind().(*kmsg.WriteTxnMarkersResponse)
	resp.Markers = make([]kmsg.WriteTxnMarkersResponseMarker, len(req.Markers))
	var wg sync.WaitGroup
	for i, rm := range req.Markers {
		sm := &resp.Markers[i]
		sm.ProducerID = rm.ProducerID
		sm.Topics = make([]kmsg.WriteTxnMarkersResponseMarkerTopic, len(rm.Topics))
		m := log.Marker{ProducerID: rm.ProducerID, ProducerEpoch: rm.ProducerEpoch, Commit: rm.Committed, CoordinatorEpoch: rm.CoordinatorEpoch}
		for j, rt := range rm.Topics {
			st := &sm.Topics[j]
			st.Topic = rt.Topic
			st.Partitions = make([]kmsg.WriteTxnMarkersResponseMarkerTopicPartition, len(rt.Partitions))
			for k, index := range rt.Partitions {
				sp := &st.Partitions[k]
				sp.Partition = index
				wg.Go(func() { sp.ErrorCode = s.writeMarker(ctx, rt.Topic, index, m).Code })
			}
		}
	}
	wg.Wait()
	return resp
}

// writeMarker writes m to one partition; a nil-coded error is success.
func (s *Server) writeMarker(ctx context.Context, topic string, index int32, m log.Marker) *kerr.Error {
	p, kerrv := s.leaderPartition(topic, index)
	if kerrv != nil {
		return kerrv
	}
	off, err := p.WriteMarker(ctx, m)
	if err != nil {
		code := markerErrorCode(err)
		if code == kerr.KafkaStorageError {
			s.logger.Error("transaction marker write failed", zap.String("topic", topic), zap.Int32("partition", index), zap.Error(err))
		}
		return code
	}
	if topic == OffsetsTopic {
		s.groups.CompleteTxn(index, m.ProducerID, m.Commit)
	}
	s.logger.Debug("wrote transaction marker", zap.String("topic", topic), zap.Int32("partition", index),
		zap.Int64("offset", off), zap.Int64("producer_id", m.ProducerID), zap.Bool("commit", m.Commit))
	return noError
}

// noError is the zero code, so writeMarker can always return a *kerr.Error.
var noError = &kerr.Error{Message: "NONE", Code: 0}

func markerErrorCode(err error) *kerr.Error {
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return kerr.RequestTimedOut
	case errors.Is(err, replica.ErrDeleted):
		return kerr.UnknownTopicOrPartition
	}
	return produceErrorCode(err)
}
