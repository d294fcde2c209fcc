package framework

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/kspring/kspring/listener"
)

// Health statuses, Spring Boot Actuator's.
const (
	StatusUp   = "UP"
	StatusDown = "DOWN"
)

// HealthComponent is one node of a health report, in Spring Boot
// Actuator's /actuator/health JSON shape:
//
//	{"status":"UP","components":{"kafka":{"status":"UP","details":{...}},
//	 "kafkaListeners":{"status":"UP","components":{"billing":{...}}}}}
type HealthComponent struct {
	Status     string                     `json:"status"`
	Details    map[string]any             `json:"details,omitempty"`
	Components map[string]HealthComponent `json:"components,omitempty"`
}

// Report checks the application's Kafka side and returns Actuator's
// health tree: component "kafka" (the cluster answers a metadata request:
// UP with the brokers it knows, else DOWN with the error) and component
// "kafkaListeners", with a component per listener container whose details
// give its state (RUNNING, PAUSED, STOPPED or FAILED, the last DOWN), group
// and assignment. The root is DOWN when any component is. ctx bounds the
// check; it is safe for concurrent use.
func (h *Health) Report(ctx context.Context) HealthComponent {
	kafka := HealthComponent{Status: StatusUp, Details: map[string]any{}}
	done := make(chan error, 1)
	go func() { done <- h.client.RefreshMetadata() }()
	select {
	case err := <-done:
		if err != nil {
			kafka.Status, kafka.Details["error"] = StatusDown, fmt.Sprintf("kafka cluster unreachable: %v", err)
		}
	case <-ctx.Done():
		kafka.Status, kafka.Details["error"] = StatusDown, fmt.Sprintf("kafka cluster: %v", ctx.Err())
	}
	if kafka.Status == StatusUp {
		var brokers []string
		for _, b := range h.client.Brokers() {
			brokers = append(brokers, b.Addr())
		}
		slices.Sort(brokers)
		kafka.Details["brokers"] = brokers
	}

	listeners := HealthComponent{Status: StatusUp, Components: map[string]HealthComponent{}}
	for _, c := range h.registry.Containers() {
		listeners.Components[c.ID()] = containerHealth(c)
		if listeners.Components[c.ID()].Status == StatusDown {
			listeners.Status = StatusDown
		}
	}
	root := HealthComponent{Status: StatusUp, Components: map[string]HealthComponent{"kafka": kafka, "kafkaListeners": listeners}}
	for _, c := range root.Components {
		if c.Status == StatusDown {
			root.Status = StatusDown
		}
	}
	return root
}

func containerHealth(c *listener.Container) HealthComponent {
	state, err := c.State()
	hc := HealthComponent{Status: StatusUp, Details: map[string]any{"state": string(state)}}
	if g := c.GroupID(); g != "" {
		hc.Details["groupId"] = g
	}
	if a := c.Assignments(); len(a) > 0 {
		hc.Details["assignments"] = a
	}
	if err != nil {
		hc.Status, hc.Details["error"] = StatusDown, err.Error()
	}
	return hc
}

// withoutDetails returns the report as Actuator shows it without details:
// components with their statuses only, or none at all.
func (hc HealthComponent) withoutDetails(components bool) HealthComponent {
	out := HealthComponent{Status: hc.Status}
	if !components {
		return out
	}
	if len(hc.Components) > 0 {
		out.Components = make(map[string]HealthComponent, len(hc.Components))
		for _, k := range slices.Sorted(maps.Keys(hc.Components)) {
			out.Components[k] = hc.Components[k].withoutDetails(true)
		}
	}
	return out
}
