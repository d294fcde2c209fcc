package broker_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kspring/kspring/broker"
)

// txnConn is a connection speaking the transactional APIs by hand, so that
// each request and its error code is visible.
type txnConn struct{ *wireConn }

func (c txnConn) findCoordinator(version int16, ids ...string) *kmsg.FindCoordinatorResponse {
	req := kmsg.NewPtrFindCoordinatorRequest()
	req.Version, req.CoordinatorType = version, 1
	if version >= 4 {
		req.CoordinatorKeys = ids
	} else {
		req.CoordinatorKey = ids[0]
	}
	return c.do(req).(*kmsg.FindCoordinatorResponse)
}

func (c txnConn) initProducerID(id string, timeoutMs int32) *kmsg.InitProducerIDResponse {
	req := kmsg.NewPtrInitProducerIDRequest()
	req.Version = 4
	req.TransactionalID, req.TransactionTimeoutMillis = &id, timeoutMs
	req.ProducerID, req.ProducerEpoch = -1, -1
	return c.do(req).(*kmsg.InitProducerIDResponse)
}

func (c txnConn) addPartitions(version int16, id string, pid int64, epoch int16, topic string, parts ...int32) int16 {
	req := kmsg.NewPtrAddPartitionsToTxnRequest()
	req.Version = version
	req.TransactionalID, req.ProducerID, req.ProducerEpoch = id, pid, epoch
	rt := kmsg.NewAddPartitionsToTxnRequestTopic()
	rt.Topic, rt.Partitions = topic, parts
	req.Topics = append(req.Topics, rt)
	return c.do(req).(*kmsg.AddPartitionsToTxnResponse).Topics[0].Partitions[0].ErrorCode
}

func (c txnConn) describe(id string) kmsg.DescribeTransactionsResponseTransactionState {
	req := kmsg.NewPtrDescribeTransactionsRequest()
	req.TransactionalIDs = []string{id}
	return c.do(req).(*kmsg.DescribeTransactionsResponse).TransactionStates[0]
}

// initTxn finds the coordinator of id (creating __transaction_state) and
// initialises id's producer, waiting out COORDINATOR_LOAD_IN_PROGRESS.
func (c txnConn) initTxn(t *testing.T, id string) *kmsg.InitProducerIDResponse {
	t.Helper()
	requireCode(t, nil, c.findCoordinator(3, id).ErrorCode)
	var resp *kmsg.InitProducerIDResponse
	eventually(t, func() error {
		resp = c.initProducerID(id, 60000)
		return kerr.ErrorForCode(resp.ErrorCode)
	})
	return resp
}

func TestTransactionCoordinatorOverTheWire(t *testing.T) {
	b := startBroker(t, func(c *broker.Config) { c.TransactionMaxTimeoutMs = 15 * time.Minute })
	createTopic(t, b.Addr(), "orders", 2, nil)
	c := txnConn{dialWire(t, b.Addr())}

	t.Run("FindCoordinator names this broker, single and batched", func(t *testing.T) {
		r := c.findCoordinator(3, "tx-a")
		requireCode(t, nil, r.ErrorCode)
		require.Equal(t, b.Config().NodeID, r.NodeID)
		r = c.findCoordinator(4, "tx-a", "tx-b")
		require.Len(t, r.Coordinators, 2)
		for _, co := range r.Coordinators {
			requireCode(t, nil, co.ErrorCode)
			require.Equal(t, b.Config().NodeID, co.NodeID)
		}
	})

	t.Run("__transaction_state is created compacted with Kafka's partition count", func(t *testing.T) {
		req := kmsg.NewPtrMetadataRequest()
		req.Version = 9
		rt := kmsg.NewMetadataRequestTopic()
		name := "__transaction_state"
		rt.Topic = &name
		req.Topics = append(req.Topics, rt)
		m := c.do(req).(*kmsg.MetadataResponse)
		require.Len(t, m.Topics, 1)
		requireCode(t, nil, m.Topics[0].ErrorCode)
		require.True(t, m.Topics[0].IsInternal)
		require.Len(t, m.Topics[0].Partitions, 50)

		dc := kmsg.NewPtrDescribeConfigsRequest()
		res := kmsg.NewDescribeConfigsRequestResource()
		res.ResourceType, res.ResourceName = kmsg.ConfigResourceTypeTopic, name
		dc.Resources = append(dc.Resources, res)
		got := map[string]string{}
		for _, cfg := range c.do(dc).(*kmsg.DescribeConfigsResponse).Resources[0].Configs {
			if cfg.Value != nil {
				got[cfg.Name] = *cfg.Value
			}
		}
		require.Equal(t, "compact", got["cleanup.policy"])
		require.Equal(t, "1", got["min.insync.replicas"], "transaction.state.log.min.isr capped at the one live broker")
	})

	t.Run("DescribeConfigs reports the transaction settings", func(t *testing.T) {
		adm := kadm.NewClient(newKgo(t, b.Addr()))
		rcs, err := adm.DescribeBrokerConfigs(testCtx(t), b.Config().NodeID)
		require.NoError(t, err)
		got := map[string]string{}
		for _, rc := range rcs {
			require.NoError(t, rc.Err)
			for _, cfg := range rc.Configs {
				got[cfg.Key] = cfg.MaybeValue()
			}
		}
		require.Equal(t, "900000", got["transaction.max.timeout.ms"])
		require.Equal(t, "50", got["transaction.state.log.num.partitions"])
		require.Equal(t, "3", got["transaction.state.log.replication.factor"])
		require.Equal(t, "10000", got["transaction.abort.timed.out.transaction.cleanup.interval.ms"])
	})

	id := "tx-wire"
	first := c.initTxn(t, id)
	require.Equal(t, int16(0), first.ProducerEpoch)

	t.Run("a second InitProducerId bumps the epoch and fences the first", func(t *testing.T) {
		second := c.initProducerID(id, 60000)
		requireCode(t, nil, second.ErrorCode)
		require.Equal(t, first.ProducerID, second.ProducerID)
		require.Equal(t, int16(1), second.ProducerEpoch)
		requireCode(t, kerr.ProducerFenced, c.addPartitions(3, id, first.ProducerID, 0, "orders", 0))
		requireCode(t, kerr.InvalidProducerEpoch, c.addPartitions(1, id, first.ProducerID, 0, "orders", 0))
		requireCode(t, nil, c.addPartitions(3, id, second.ProducerID, 1, "orders", 0, 1))
		requireCode(t, kerr.UnknownTopicOrPartition, c.addPartitions(3, id, second.ProducerID, 1, "no-such-topic", 0))
	})

	t.Run("InitProducerId refuses a timeout above transaction.max.timeout.ms", func(t *testing.T) {
		requireCode(t, kerr.InvalidTransactionTimeout, c.initProducerID(id, 16*60*1000).ErrorCode)
	})

	d := c.describe(id)
	requireCode(t, nil, d.ErrorCode)
	require.Equal(t, "Ongoing", d.State)
	require.Equal(t, int16(1), d.ProducerEpoch)
	require.Len(t, d.Topics, 1)
	require.Equal(t, []int32{0, 1}, d.Topics[0].Partitions)

	t.Run("ListTransactions shows the ongoing transaction", func(t *testing.T) {
		req := kmsg.NewPtrListTransactionsRequest()
		req.Version = 1
		req.StateFilters, req.DurationFilterMillis = []string{"Ongoing"}, -1
		r := c.do(req).(*kmsg.ListTransactionsResponse)
		requireCode(t, nil, r.ErrorCode)
		require.Len(t, r.TransactionStates, 1)
		require.Equal(t, id, r.TransactionStates[0].TransactionalID)
	})

	t.Run("the state survives a restart", func(t *testing.T) {
		b2 := restart(t, b)
		c2 := txnConn{dialWire(t, b2.Addr())}
		eventually(t, func() error {
			got := c2.describe(id)
			if err := kerr.ErrorForCode(got.ErrorCode); err != nil {
				return err
			}
			if got.State != "Ongoing" || got.ProducerEpoch != 1 || len(got.Topics) != 1 {
				return fmt.Errorf("after the restart: %+v", got)
			}
			return nil
		})
		requireCode(t, kerr.ProducerFenced, c2.addPartitions(3, id, first.ProducerID, 0, "orders", 0))
	})
}

func TestTransactionPropertiesUnderKafkasNames(t *testing.T) {
	for _, tc := range []struct {
		key, value string
		got        func(broker.Config) any
		want       any
	}{
		{"transaction.state.log.num.partitions", "7", func(c broker.Config) any { return c.TransactionStateLogNumPartitions }, int32(7)},
		{"transaction.state.log.replication.factor", "2", func(c broker.Config) any { return c.TransactionStateLogReplicationFactor }, int16(2)},
		{"transaction.state.log.min.isr", "1", func(c broker.Config) any { return c.TransactionStateLogMinISR }, int16(1)},
		{"transaction.max.timeout.ms", "60000", func(c broker.Config) any { return c.TransactionMaxTimeoutMs }, time.Minute},
		{"transactional.id.expiration.ms", "3600000", func(c broker.Config) any { return c.TransactionalIDExpirationMs }, time.Hour},
		{"transaction.abort.timed.out.transaction.cleanup.interval.ms", "250", func(c broker.Config) any {
			return c.TransactionAbortTimedOutCleanupIntervalMs
		}, 250 * time.Millisecond},
	} {
		t.Run(tc.key, func(t *testing.T) {
			cfg := broker.DefaultConfig()
			require.NoError(t, cfg.Set(tc.key, tc.value))
			require.Equal(t, tc.want, tc.got(cfg))
		})
	}
}
