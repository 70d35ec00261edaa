// Package timeline merges what a run observed onto one incident clock: probe
// samples (steady-state SLIs measured from the outside with the real SDK),
// service events (the JSON lines every mock emits) and the fault ledger
// (every fault and operator action, with when it was applied and reverted).
// From them it derives phases per component: first symptom, impact window,
// recovery.
package timeline

import (
	"time"

	"github.com/cascade-lab/cascade/mocks/kit"
)

// Sample is one probe measurement. Time is incident time.
type Sample struct {
	Time    time.Time     `json:"time"`
	Probe   string        `json:"probe"`             // e.g. "dns-resolve", "ddb-getitem", "ec2-launch"
	OK      bool          `json:"ok"`                // the SLI held for this sample
	Value   float64       `json:"value,omitempty"`   // a measured quantity (latency ms, capacity, count)
	Code    string        `json:"code,omitempty"`    // outcome code: "no-such-host", "InsufficientInstanceCapacity", ...
	Latency time.Duration `json:"latency,omitempty"` // wall latency of the probe call
	Detail  string        `json:"detail,omitempty"`
	// Source is the instance measured when one probe covers several (the
	// service of an event-derived sample, an AZ): a component's health keeps
	// the latest sample per probe and source.
	Source string `json:"source,omitempty"`
}

// Fault is one entry of the fault ledger: a fault or an operator action.
// End is zero while the fault is active (or for instantaneous actions, equal to Start).
type Fault struct {
	ID       string    `json:"id"`
	Kind     string    `json:"kind"`   // "toxic", "failpoint", "dns-edit", "service", "operator"
	Name     string    `json:"name"`   // e.g. "latency", "dnsenactor-a/before-apply-endpoint", "restore-dns"
	Target   string    `json:"target"` // link, service or endpoint
	Detail   string    `json:"detail,omitempty"`
	Start    time.Time `json:"start"`
	End      time.Time `json:"end,omitempty"`
	Operator bool      `json:"operator,omitempty"` // an operator action of the incident, not an injected fault
}

// Event is a service event (alias of kit.Event, so mocks and harness share the shape).
type Event = kit.Event
