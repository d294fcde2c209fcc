package metrics

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// Source supplies the state the scrape-time gauges describe. The broker
// implements it over its metadata, partitions and group coordinator; each
// method is called once per scrape, concurrently with the broker's work.
type Source interface {
	// Partitions returns this broker's replicas as the gauges count them.
	Partitions() []PartitionStat
	// Controller reports whether this broker is the active controller and,
	// if so, how many partitions of the cluster have no leader.
	Controller() (active bool, offline int)
	// Groups returns how many groups this broker coordinates and the lag
	// of their committed offsets on the partitions this broker holds.
	Groups() (count int, lag []GroupLag)
}

// PartitionStat is one replica on this broker.
type PartitionStat struct {
	Topic     string
	Partition int32
	Leader    bool  // this broker leads it
	UnderRepl bool  // led here, with fewer in-sync replicas than replicas
	Size      int64 // bytes in the log's segments
	StartOff  int64 // log start offset
	EndOff    int64 // log end offset
}

// GroupLag is a group's lag on one partition: the high watermark less
// its committed offset.
type GroupLag struct {
	Group     string
	Topic     string
	Partition int32
	Committed int64
	Lag       int64
}

var (
	descPartitionCount = prometheus.NewDesc("kafka_server_replicamanager_partitioncount",
		"Partitions with a replica on this broker (PartitionCount).", nil, nil)
	descLeaderCount = prometheus.NewDesc("kafka_server_replicamanager_leadercount",
		"Partitions this broker leads (LeaderCount).", nil, nil)
	descUnderReplicated = prometheus.NewDesc("kafka_server_replicamanager_underreplicatedpartitions",
		"Partitions this broker leads whose ISR is smaller than their replica set (UnderReplicatedPartitions).", nil, nil)
	descPartitionUnderReplicated = prometheus.NewDesc("kafka_cluster_partition_underreplicated",
		"1 if this broker leads the partition and its ISR is smaller than its replica set (Partition UnderReplicated).",
		[]string{"topic", "partition"}, nil)
	descActiveController = prometheus.NewDesc("kafka_controller_kafkacontroller_activecontrollercount",
		"1 on the active controller, 0 elsewhere (ActiveControllerCount).", nil, nil)
	descOffline = prometheus.NewDesc("kafka_controller_kafkacontroller_offlinepartitionscount",
		"Partitions without a leader, as the active controller counts them; 0 on the other brokers (OfflinePartitionsCount).", nil, nil)
	descNumGroups = prometheus.NewDesc("kafka_coordinator_group_groupmetadatamanager_numgroups",
		"Groups this broker coordinates (NumGroups).", nil, nil)
	descLogSize = prometheus.NewDesc("kafka_log_log_size",
		"Bytes in the partition's log segments on this broker (Log Size).", []string{"topic", "partition"}, nil)
	descLogStart = prometheus.NewDesc("kafka_log_log_logstartoffset",
		"The partition's log start offset on this broker (Log LogStartOffset).", []string{"topic", "partition"}, nil)
	descLogEnd = prometheus.NewDesc("kafka_log_log_logendoffset",
		"The partition's log end offset on this broker (Log LogEndOffset).", []string{"topic", "partition"}, nil)
	descGroupLag = prometheus.NewDesc("kafka_consumergroup_lag",
		"High watermark less the group's committed offset, per partition, on the group's coordinator (kafka_exporter's name).",
		[]string{"consumergroup", "topic", "partition"}, nil)
	descGroupOffset = prometheus.NewDesc("kafka_consumergroup_current_offset",
		"The group's committed offset, per partition, on the group's coordinator (kafka_exporter's name).",
		[]string{"consumergroup", "topic", "partition"}, nil)
)

// collector reads the scrape-time gauges from a Source.
type collector struct{ src Source }

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descPartitionCount, descLeaderCount, descUnderReplicated,
		descPartitionUnderReplicated, descActiveController, descOffline, descNumGroups,
		descLogSize, descLogStart, descLogEnd, descGroupLag, descGroupOffset} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	parts := c.src.Partitions()
	leaders, under := 0, 0
	for _, p := range parts {
		idx := strconv.Itoa(int(p.Partition))
		if p.Leader {
			leaders++
			u := 0.0
			if p.UnderRepl {
				under++
				u = 1
			}
			gauge(descPartitionUnderReplicated, u, p.Topic, idx)
		}
		gauge(descLogSize, float64(p.Size), p.Topic, idx)
		gauge(descLogStart, float64(p.StartOff), p.Topic, idx)
		gauge(descLogEnd, float64(p.EndOff), p.Topic, idx)
	}
	gauge(descPartitionCount, float64(len(parts)))
	gauge(descLeaderCount, float64(leaders))
	gauge(descUnderReplicated, float64(under))

	active, offline := c.src.Controller()
	if active {
		gauge(descActiveController, 1)
		gauge(descOffline, float64(offline))
	} else {
		gauge(descActiveController, 0)
		gauge(descOffline, 0)
	}

	groups, lags := c.src.Groups()
	gauge(descNumGroups, float64(groups))
	for _, l := range lags {
		idx := strconv.Itoa(int(l.Partition))
		gauge(descGroupLag, float64(l.Lag), l.Group, l.Topic, idx)
		gauge(descGroupOffset, float64(l.Committed), l.Group, l.Topic, idx)
	}
}
