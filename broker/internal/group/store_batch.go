package group

import (
	"github.com/kspring/kspring/broker/internal/batch"
	"github.com/kspring/kspring/broker/internal/log"
)

// BatchRecords decodes one RecordBatch of __consumer_offsets into the
// Records a Store's Load passes on: a transactional batch's records are
// marked Transactional with their producer id, and a control batch yields
// one Control record for its transaction marker (other control records are
// skipped). Store implementations call it for every batch they replay.
func BatchRecords(b []byte, fn func(Record) error) error {
	h, err := batch.ParseHeader(b)
	if err != nil {
		return err
	}
	if h.IsControl() {
		return batch.Records(b, func(r batch.Record) error {
			_, typ, err := log.ParseControlKey(r.Key)
			if err != nil || (typ != 0 && typ != 1) {
				return err // not a transaction marker
			}
			return fn(Record{Key: r.Key, Value: r.Value, ProducerID: h.ProducerID, Control: true, Commit: typ == 1})
		})
	}
	txn := h.IsTransactional()
	return batch.Records(b, func(r batch.Record) error {
		rec := Record{Key: r.Key, Value: r.Value}
		if txn {
			rec.ProducerID, rec.Transactional = h.ProducerID, true
		}
		return fn(rec)
	})
}

// TxnBatch builds the transactional batch AppendTxn writes: recs of
// producer producerID at epoch, with no sequence (the coordinator's writes
// are not sequenced, as in Kafka), at time nowMs.
func TxnBatch(producerID int64, epoch int16, recs []Record, nowMs int64) []byte {
	brs := make([]batch.Record, len(recs))
	for i, r := range recs {
		brs[i] = batch.Record{Key: r.Key, Value: r.Value}
	}
	return batch.Build(nil, 0, nowMs, brs, batch.WithProducer(producerID, epoch, -1), batch.WithTransactional())
}
