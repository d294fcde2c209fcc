package listener

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/IBM/sarama"
	"go.uber.org/zap"
)

// RetryTopicConfig configures non-blocking retries, Spring's @RetryableTopic.
// A record that fails on topic T is republished to T-retry-0 with a due
// time; the container delivers it again once due (pausing that partition
// meanwhile, never sleeping on the records of others); if it fails again it
// goes to T-retry-1, and so on; after Attempts deliveries, or at once for a
// not-retryable error, it goes to the dead-letter topic T-dlt. Records carry
// Spring's retry_topic-attempts, retry_topic-backoff-timestamp and
// retry_topic-original-timestamp headers and the kafka_dlt-* headers, so a
// Java service can take part in the same chain.
//
// The container consumes the main topics and their retry topics in one
// group, and the dead-letter topics too when DLTHandler is set. Retry topics
// need record handlers (not batch) and fixed Topics.
type RetryTopicConfig struct {
	// Attempts counts deliveries, the first included: Attempts-1 retry
	// topics. Default 3, as Spring.
	Attempts int
	// Delay is the wait before the first retry. Default 1s, as Spring.
	Delay time.Duration
	// Multiplier grows the delay of each next retry topic. Default 1: all
	// the same.
	Multiplier float64
	// MaxDelay caps the delays; zero means no cap.
	MaxDelay time.Duration
	// RetryTopicSuffix and DLTSuffix name the topics: T+RetryTopicSuffix+
	// "-<index>" and T+DLTSuffix. Defaults "-retry" and "-dlt", as Spring.
	RetryTopicSuffix string
	DLTSuffix        string
	// AutoCreateTopics creates missing retry and dead-letter topics when
	// the container starts. Default true.
	AutoCreateTopics *bool
	// NumPartitions and ReplicationFactor of created topics. Default: those
	// of the main topic, so a record keeps its partition.
	NumPartitions     int32
	ReplicationFactor int16
	// Sender publishes retries and dead letters. Default: the registry's
	// dead-letter publisher, else its reply template.
	Sender Sender
	// NotRetryable errors (matched with errors.Is) go to the dead-letter
	// topic at once, as do the errors Retryable refuses.
	NotRetryable []error
	// DLTHandler, if set, receives the records of the dead-letter topics
	// (Spring's @DltHandler); an error is logged and the record skipped.
	DLTHandler func(ctx context.Context, rec *RawRecord) error
}

type topicKind int

const (
	topicMain topicKind = iota
	topicRetry
	topicDLT
)

type retryChain struct {
	main    string
	retries []string
	dlt     string
}

// retryPlan is a RetryTopicConfig resolved for a container; it is the
// container's ErrorHandler for main and retry topics.
type retryPlan struct {
	cfg      RetryTopicConfig
	attempts int
	delays   []time.Duration
	chains   map[string]*retryChain // by main, retry and dead-letter topic
	kinds    map[string]topicKind
	sender   Sender
	create   bool
	log      *zap.Logger

	partsMu sync.RWMutex
	parts   map[string]int32 // partitions of each destination, set by prepare
}

func newRetryPlan(r *Registry, c *Container, cfg RetryTopicConfig) (*retryPlan, error) {
	if c.batch {
		return nil, fmt.Errorf("%w: retry topics need a record handler, not a batch one", ErrConfig)
	}
	if c.pattern != nil || len(c.manual) > 0 || len(c.topics) == 0 {
		return nil, fmt.Errorf("%w: retry topics need Topics (not TopicPattern or Partitions)", ErrConfig)
	}
	p := &retryPlan{
		cfg: cfg, attempts: cfg.Attempts, chains: map[string]*retryChain{}, kinds: map[string]topicKind{},
		sender: cfg.Sender, create: cfg.AutoCreateTopics == nil || *cfg.AutoCreateTopics, log: c.log,
	}
	if p.attempts == 0 {
		p.attempts = 3
	}
	if p.attempts < 1 {
		return nil, fmt.Errorf("%w: retry topics: attempts %d", ErrConfig, cfg.Attempts)
	}
	if p.sender == nil {
		p.sender = r.dlt
	}
	if p.sender == nil {
		p.sender = r.replies
	}
	if p.sender == nil {
		return nil, fmt.Errorf("%w: retry topics need a sender (RetryTopicConfig.Sender or the registry's WithDeadLetterPublisher)", ErrConfig)
	}
	delay, mult := cfg.Delay, cfg.Multiplier
	if delay == 0 {
		delay = time.Second
	}
	if mult <= 0 {
		mult = 1
	}
	for i := range p.attempts - 1 {
		d := time.Duration(float64(delay) * math.Pow(mult, float64(i)))
		if cfg.MaxDelay > 0 && d > cfg.MaxDelay {
			d = cfg.MaxDelay
		}
		p.delays = append(p.delays, d)
	}
	retrySuffix, dltSuffix := cfg.RetryTopicSuffix, cfg.DLTSuffix
	if retrySuffix == "" {
		retrySuffix = "-retry"
	}
	if dltSuffix == "" {
		dltSuffix = DefaultDeadLetterSuffix
	}
	mains := c.topics
	for _, t := range mains {
		ch := &retryChain{main: t, dlt: t + dltSuffix}
		for i := range p.attempts - 1 {
			ch.retries = append(ch.retries, t+retrySuffix+"-"+strconv.Itoa(i))
		}
		p.chains[t], p.kinds[t] = ch, topicMain
		for _, rt := range ch.retries {
			p.chains[rt], p.kinds[rt] = ch, topicRetry
			c.topics = append(c.topics, rt)
		}
		p.chains[ch.dlt], p.kinds[ch.dlt] = ch, topicDLT
		if cfg.DLTHandler != nil {
			c.topics = append(c.topics, ch.dlt)
		}
	}
	return p, nil
}

func (p *retryPlan) kindOf(topic string) topicKind { return p.kinds[topic] }

// prepare creates missing retry and dead-letter topics and learns the
// partition counts of every destination.
func (p *retryPlan) prepare(ctx context.Context, c *Container) error {
	sc, err := c.consumer.saramaConfig(c.reg.base, c.clientID+"-admin")
	if err != nil {
		return err
	}
	client, err := sarama.NewClient(c.reg.brokers, sc)
	if err != nil {
		return fmt.Errorf("connect to %v: %w", c.reg.brokers, err)
	}
	var mains []string
	for t, k := range p.kinds {
		if k == topicMain {
			mains = append(mains, t)
		}
	}
	if err := client.RefreshMetadata(mains...); err != nil {
		_ = client.Close()
		return fmt.Errorf("topics %v: %w", mains, err)
	}
	var admin sarama.ClusterAdmin
	if p.create {
		if admin, err = sarama.NewClusterAdminFromClient(client); err != nil {
			_ = client.Close()
			return fmt.Errorf("admin: %w", err)
		}
		defer admin.Close() // closes the client too
	} else {
		defer client.Close()
	}
	parts := map[string]int32{}
	seen := map[*retryChain]bool{}
	for _, ch := range p.chains {
		if seen[ch] {
			continue
		}
		seen[ch] = true
		if err := ctx.Err(); err != nil {
			return err
		}
		mainParts, err := client.Partitions(ch.main)
		if err != nil {
			return fmt.Errorf("topic %q: %w", ch.main, err)
		}
		n, rf := int32(len(mainParts)), p.cfg.ReplicationFactor
		if p.cfg.NumPartitions > 0 {
			n = p.cfg.NumPartitions
		}
		if rf == 0 {
			replicas, err := client.Replicas(ch.main, mainParts[0])
			if err != nil || len(replicas) == 0 {
				rf = -1
			} else {
				rf = int16(len(replicas))
			}
		}
		for _, t := range append(append([]string(nil), ch.retries...), ch.dlt) {
			if admin != nil {
				err := admin.CreateTopic(t, &sarama.TopicDetail{NumPartitions: n, ReplicationFactor: rf}, false)
				if err != nil && !errors.Is(err, sarama.ErrTopicAlreadyExists) {
					return fmt.Errorf("create topic %q: %w", t, err)
				}
			}
			if err := client.RefreshMetadata(t); err != nil {
				return fmt.Errorf("topic %q: %w", t, err)
			}
			ps, err := client.Partitions(t)
			if err != nil {
				return fmt.Errorf("topic %q: %w", t, err)
			}
			parts[t] = int32(len(ps))
		}
	}
	p.partsMu.Lock()
	p.parts = parts
	p.partsMu.Unlock()
	return nil
}

func (p *retryPlan) retryable(err error) bool {
	for _, target := range p.cfg.NotRetryable {
		if errors.Is(err, target) {
			return false
		}
	}
	return Retryable(err)
}

// HandleError republishes the failed record to its next retry topic or to
// the dead-letter topic.
func (p *retryPlan) HandleError(ctx context.Context, f *Failure) (bool, time.Duration) {
	for i, rec := range f.Records {
		if err := p.forward(ctx, rec, f.Err, f.Attempt); err != nil {
			p.log.Error("kafka listener: retry-topic publish failed; the record will be delivered again",
				zap.String("topic", rec.Topic), zap.Int32("partition", rec.Partition), zap.Int64("offset", rec.Offset), zap.Error(err))
			f.Records = f.Records[i:]
			return true, time.Second
		}
	}
	return false, 0
}

func (p *retryPlan) forward(ctx context.Context, rec *RawRecord, err error, attempt int) error {
	ch := p.chains[rec.Topic]
	if ch == nil {
		return fmt.Errorf("listener: no retry chain for topic %q", rec.Topic)
	}
	h := deadLetterHeaders(ctx, rec, err)
	dest := ch.dlt
	if p.retryable(err) && attempt < p.attempts && attempt-1 < len(ch.retries) {
		dest = ch.retries[attempt-1]
		h.Set(HeaderRetryAttempts, BigIntHeader(int64(attempt+1)))
		h.Set(HeaderRetryBackoffTimestamp, BigIntHeader(time.Now().Add(p.delays[attempt-1]).UnixMilli()))
		if _, ok := h.Get(HeaderRetryOriginalTimestamp); !ok {
			h.Add(HeaderRetryOriginalTimestamp, BigIntHeader(rec.Timestamp.UnixMilli()))
		}
	}
	partition := int32(-1)
	p.partsMu.RLock()
	n := p.parts[dest]
	p.partsMu.RUnlock()
	if n > 0 {
		partition = rec.Partition % n
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, err := publish(ctx, p.sender, outgoing{topic: dest, partition: partition, key: rec.Key, value: rec.Value, headers: h}); err != nil {
		return fmt.Errorf("to %s: %w", dest, err)
	}
	return nil
}

func (p *retryPlan) handleDLT(ctx context.Context, rec *RawRecord) (err error) {
	if p.cfg.DLTHandler == nil {
		return nil
	}
	defer recovered(&err)
	return p.cfg.DLTHandler(ctx, rec)
}

// retryDue returns the due time in a retry-topic record's header.
func retryDue(raw *RawRecord) (time.Time, bool) {
	b, ok := raw.Headers.Get(HeaderRetryBackoffTimestamp)
	if !ok {
		return time.Time{}, false
	}
	ms, ok := ParseBigIntHeader(b)
	if !ok {
		return time.Time{}, false
	}
	return time.UnixMilli(ms), true
}
