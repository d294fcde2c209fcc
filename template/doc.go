// Package template is the producer half of kspring: Spring for Apache Kafka's
// KafkaTemplate for Go, on an IBM/sarama AsyncProducer.
//
// Start from [Template]. [Dial] builds one from broker addresses and a
// [Config] (the spring.kafka.producer.* settings); [New] builds one over a
// sarama.Client you own, whose config comes from [Config.Sarama]. Keys and
// values are typed; serializers come from package serde:
//
//	t, err := template.Dial[string, Order](brokers, cfg,
//		template.WithValueSerializer(serde.JSON[Order]{TypeID: "com.acme.Order"}))
//	...
//	t.SendKey(ctx, "orders", o.ID, o).
//		OnSuccess(func(r template.SendResult[string, Order]) {
//			log.Printf("written at %s-%d@%d", r.Metadata.Topic, r.Metadata.Partition, r.Metadata.Offset)
//		}).
//		OnFailure(func(err error) { log.Printf("not written: %v", err) })
//
// Every Send method returns a [Future] at once. It completes exactly once: with
// a [SendResult] (the record and its [RecordMetadata]: topic, partition, offset,
// timestamp, serialized sizes) or with a [*SendError] that keeps the record and
// the cause (a kerr.Error for Kafka error codes, with Retriable). Every failure
// reaches the future and the [ProducerListener]: a cancelled context, a
// serializer error, a record too large, a full buffer, an unknown topic,
// brokers that cannot be reached, a delivery timeout, Close.
//
// Placement: a record with an explicit partition goes there; a keyed record
// goes where Kafka's Java default partitioner puts it (murmur2 of the
// serialized key), so Go and Java services sharing a topic keep per-key order;
// records with a null key are spread round robin. [WithPartitioner] overrides
// this.
//
// Bounds: buffer-memory bounds the bytes in flight, and Send waits at most
// max-block-ms (or until its context ends) for room; delivery-timeout-ms
// bounds the time until a future completes, so Future.Get and Flush return
// within it; [Template.Close] waits for the producer to finish, or until its
// context ends, when it fails what is still outstanding.
//
// Transactions: a Config with a TransactionIDPrefix (Spring's
// spring.kafka.producer.transaction-id-prefix) makes the template
// transactional. [Template.ExecuteInTransaction] runs a function in a Kafka
// transaction and commits it, or aborts it on an error or a panic; [Tx]
// sends in it and adds consumed offsets ([Tx.SendOffsets]) for
// consume-process-produce; a send whose context carries the transaction
// ([Tx.Context]) joins it, and any other send runs in a transaction of its
// own. Errors wrap [ErrTransactionAborted] and the cause; a fenced producer
// is replaced on the next transaction. See ExecuteInTransaction and the
// notes in txn.go for how this follows Spring's KafkaTemplate.
//
// Concurrency: a Template is safe for concurrent use, and records sent from
// one goroutine to a partition keep their order. Each template runs three
// goroutines. Two read the producer's Successes and Errors and run no user
// code, so sarama never waits on the template: the drainer, which reads
// Successes, completes plain successes itself and queues the rest for the
// completer, and the other queues every failure. The completer runs
// interceptor acknowledgements, future callbacks and listener calls. (A send
// that fails before reaching the producer completes on the goroutine that
// called Send.) Callbacks must therefore not block, and must not call Flush,
// Close or Future.Get. A blocked completer holds records' buffer-memory, so
// Sends start to wait and then fail with ErrBufferFull. Sending from a
// callback works but may wait for buffer room that only the completer can
// free; prefer another goroutine.
package template
