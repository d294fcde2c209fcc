package broker

import (
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/kspring/kspring/broker/internal/wire"
)

// voters parses controller.quorum.voters ("id@host:port,...") into node id
// to address.
func (c *Config) voters() (map[int32]string, error) {
	out := map[int32]string{}
	for _, v := range c.ControllerQuorumVoters {
		idStr, addr, ok := strings.Cut(strings.TrimSpace(v), "@")
		id, err := strconv.ParseInt(idStr, 10, 32)
		if !ok || err != nil || id < 0 {
			return nil, fmt.Errorf("broker: config: controller.quorum.voters entry %q: want id@host:port", v)
		}
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return nil, fmt.Errorf("broker: config: controller.quorum.voters entry %q: %v", v, err)
		}
		if _, dup := out[int32(id)]; dup {
			return nil, fmt.Errorf("broker: config: controller.quorum.voters names node %d twice", id)
		}
		out[int32(id)] = addr
	}
	return out, nil
}

// checkQuorum refuses a quorum configuration kspring cannot run.
func (c *Config) checkQuorum() error {
	roles := slices.Clone(c.ProcessRoles)
	slices.Sort(roles)
	if !slices.Equal(roles, []string{"broker", "controller"}) {
		return fmt.Errorf("broker: config: process.roles=%s: kspring runs every node as broker,controller (combined mode)",
			strings.Join(c.ProcessRoles, ","))
	}
	if c.UncleanLeaderElectionEnable {
		return fmt.Errorf("broker: config: unclean.leader.election.enable=true is not supported: an unclean election loses acknowledged records")
	}
	v, err := c.voters()
	if err != nil {
		return err
	}
	if len(v) > 0 {
		if _, ok := v[c.NodeID]; !ok {
			return fmt.Errorf("broker: config: controller.quorum.voters (%s) does not name this node (node.id=%d)",
				strings.Join(c.ControllerQuorumVoters, ","), c.NodeID)
		}
	}
	if len(v) > 1 {
		if _, ok := c.controllerListener(); !ok {
			return fmt.Errorf("broker: config: a quorum of %d voters needs a listener named by controller.listener.names (%s) in listeners",
				len(v), strings.Join(c.ControllerListenerNames, ","))
		}
	}
	return nil
}

// isControllerListener reports whether listener l ("NAME://host:port") is
// named by controller.listener.names.
func (c *Config) isControllerListener(l string) bool {
	name, _, ok := strings.Cut(l, "://")
	return ok && slices.ContainsFunc(c.ControllerListenerNames, func(n string) bool { return strings.EqualFold(n, name) })
}

// controllerListener returns the host:port of the controller listener.
func (c *Config) controllerListener() (string, bool) {
	for _, l := range c.Listeners {
		if c.isControllerListener(l) {
			_, addr, _ := strings.Cut(l, "://")
			return addr, true
		}
	}
	return "", false
}

// clientListeners returns the listeners that serve Kafka clients.
func (c *Config) clientListeners() []string {
	var out []string
	for _, l := range c.Listeners {
		if !c.isControllerListener(l) {
			out = append(out, l)
		}
	}
	return out
}

// clusterConfigs are the quorum's and replication's settings, as
// DescribeConfigs reports them.
func (c *Config) clusterConfigs() []wire.StaticConfig {
	ms := func(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) }
	list := func(v []string) string { return strings.Join(v, ",") }
	return []wire.StaticConfig{
		{Name: "process.roles", Value: list(c.ProcessRoles), Type: kmsg.ConfigTypeList},
		{Name: "controller.quorum.voters", Value: list(c.ControllerQuorumVoters), Type: kmsg.ConfigTypeList},
		{Name: "controller.listener.names", Value: list(c.ControllerListenerNames), Type: kmsg.ConfigTypeString},
		{Name: "controller.quorum.election.timeout.ms", Value: ms(c.ControllerQuorumElectionTimeoutMs), Type: kmsg.ConfigTypeInt},
		{Name: "controller.quorum.fetch.timeout.ms", Value: ms(c.ControllerQuorumFetchTimeoutMs), Type: kmsg.ConfigTypeInt},
		{Name: "broker.heartbeat.interval.ms", Value: ms(c.BrokerHeartbeatIntervalMs), Type: kmsg.ConfigTypeInt},
		{Name: "broker.session.timeout.ms", Value: ms(c.BrokerSessionTimeoutMs), Type: kmsg.ConfigTypeInt},
		{Name: "replica.lag.time.max.ms", Value: ms(c.ReplicaLagTimeMaxMs), Type: kmsg.ConfigTypeLong},
		{Name: "replica.fetch.wait.max.ms", Value: ms(c.ReplicaFetchWaitMaxMs), Type: kmsg.ConfigTypeInt},
		{Name: "replica.fetch.backoff.ms", Value: ms(c.ReplicaFetchBackoffMs), Type: kmsg.ConfigTypeInt},
		{Name: "replica.high.watermark.checkpoint.interval.ms", Value: ms(c.ReplicaHighWatermarkCheckpointMs), Type: kmsg.ConfigTypeLong},
		{Name: "unclean.leader.election.enable", Value: strconv.FormatBool(c.UncleanLeaderElectionEnable), Type: kmsg.ConfigTypeBoolean},
	}
}
