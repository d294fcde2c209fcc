package load

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Fetch request limits: kgo's consumer defaults, so a fetch moves what a
// kgo consumer's would.
const (
	fetchMaxBytes          = 50 << 20
	fetchPartitionMaxBytes = 1 << 20
	fetchMaxWaitMillis     = 5000
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// FetchAll reads every partition of topic from the start with raw Fetch
// requests sent through a fresh kgo client, until it has seen want records.
// It does what a consumer does to every batch short of decoding its
// records: checks its CRC-32C and steps the partition's offset past it.
// With the client's per-record work out of the way this measures the
// broker's side of consuming, which is what differs between brokers.
//
// It returns the records and the batch bytes it read; a partial batch at
// the end of a partition's data (which Kafka may send) is not counted and
// is fetched again.
func FetchAll(ctx context.Context, addr, topic string, want int64) (records, bytes int64, err error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(addr, ",")...))
	if err != nil {
		return 0, 0, fmt.Errorf("fetch %s: client: %w", topic, err)
	}
	defer cl.Close()
	req, err := fetchRequest(ctx, cl, topic)
	if err != nil {
		return 0, 0, fmt.Errorf("fetch %s: %w", topic, err)
	}
	parts := req.Topics[0].Partitions
	for records < want {
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			return records, bytes, fmt.Errorf("fetch %s: %d of %d records: %w", topic, records, want, err)
		}
		if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
			return records, bytes, fmt.Errorf("fetch %s: %w", topic, err)
		}
		for _, t := range resp.Topics {
			for _, p := range t.Partitions {
				if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
					return records, bytes, fmt.Errorf("fetch %s/%d: %w", topic, p.Partition, err)
				}
				if p.Partition < 0 || int(p.Partition) >= len(parts) {
					return records, bytes, fmt.Errorf("fetch %s: answer for partition %d, not asked for", topic, p.Partition)
				}
				rp := &parts[p.Partition]
				n, b, next, err := walkBatches(p.RecordBatches, rp.FetchOffset)
				if err != nil {
					return records, bytes, fmt.Errorf("fetch %s/%d at %d: %w", topic, p.Partition, rp.FetchOffset, err)
				}
				records, bytes, rp.FetchOffset = records+n, bytes+b, next
			}
		}
	}
	return records, bytes, nil
}

// fetchRequest builds a fetch of every partition of topic from offset 0,
// with the topic's id for the versions that name topics by id.
func fetchRequest(ctx context.Context, cl *kgo.Client, topic string) (*kmsg.FetchRequest, error) {
	mreq := kmsg.NewPtrMetadataRequest()
	mt := kmsg.NewMetadataRequestTopic()
	mt.Topic = kmsg.StringPtr(topic)
	mreq.Topics = append(mreq.Topics, mt)
	mresp, err := mreq.RequestWith(ctx, cl)
	if err != nil {
		return nil, fmt.Errorf("metadata: %w", err)
	}
	if len(mresp.Topics) != 1 {
		return nil, fmt.Errorf("metadata: %d topics in the answer", len(mresp.Topics))
	}
	if err := kerr.ErrorForCode(mresp.Topics[0].ErrorCode); err != nil {
		return nil, fmt.Errorf("metadata: %w", err)
	}
	req := kmsg.NewPtrFetchRequest()
	req.ReplicaID = -1
	req.MaxWaitMillis = fetchMaxWaitMillis
	req.MinBytes = 1
	req.MaxBytes = fetchMaxBytes
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic, rt.TopicID = topic, mresp.Topics[0].TopicID
	for i := range mresp.Topics[0].Partitions {
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.Partition = int32(i)
		rp.PartitionMaxBytes = fetchPartitionMaxBytes
		rt.Partitions = append(rt.Partitions, rp)
	}
	req.Topics = append(req.Topics, rt)
	return req, nil
}

// RecordBatch v2 header fields used here (see Kafka's DefaultRecordBatch).
const (
	batchHeaderSize   = 61
	lengthAt          = 8  // int32: bytes after this field
	crcAt             = 17 // uint32: CRC-32C of the bytes after it
	lastOffsetDeltaAt = 23 // int32
	numRecordsAt      = 57 // int32
)

var errBadCRC = errors.New("batch CRC mismatch")

// walkBatches checks the whole batches in data and returns how many
// records at or after offset they hold, their bytes, and the offset to
// fetch next.
func walkBatches(data []byte, offset int64) (records, bytes, next int64, err error) {
	next = offset
	for len(data) >= batchHeaderSize {
		size := 12 + int(int32(binary.BigEndian.Uint32(data[lengthAt:])))
		if size < batchHeaderSize {
			return 0, 0, 0, fmt.Errorf("batch of %d bytes", size)
		}
		if size > len(data) {
			break // a partial batch at the end
		}
		b := data[:size]
		if crc32.Checksum(b[crcAt+4:], castagnoli) != binary.BigEndian.Uint32(b[crcAt:]) {
			return 0, 0, 0, errBadCRC
		}
		base := int64(binary.BigEndian.Uint64(b))
		last := base + int64(int32(binary.BigEndian.Uint32(b[lastOffsetDeltaAt:])))
		if last >= next {
			records += min(int64(int32(binary.BigEndian.Uint32(b[numRecordsAt:]))), last-next+1)
			bytes += int64(size)
			next = last + 1
		}
		data = data[size:]
	}
	return records, bytes, next, nil
}
