package timeline

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// Well-known probe names. The probes in package harness use them, and the
// default component table maps them to components; a probe with another name
// is still recorded and can be mapped with RegisterComponent.
const (
	ProbeDNSResolve   = "dns-resolve"           // resolve the regional DynamoDB endpoint through the mock DNS; Value = addresses
	ProbeDDBGetItem   = "ddb-getitem"           // DynamoDB GetItem with the real SDK on a fresh connection
	ProbeDDBPutItem   = "ddb-putitem"           // DynamoDB PutItem
	ProbeEC2Launch    = "ec2-launch"            // EC2 RunInstances outcome
	ProbeConnectivity = "instance-connectivity" // a newly launched instance is reachable
	ProbeNLBCapacity  = "nlb-capacity"          // NLB healthy capacity above its floor; Value = healthy targets
	ProbeNLBHealth    = "nlb-health"            // NLB target health stable (no flaps)
)

// Well-known outcome codes of a dns-resolve sample that mean the record is
// empty: the name exists in no answer, or the answer holds no address.
const (
	CodeNoSuchHost  = "no-such-host"
	CodeNoAddresses = "no-addresses"
	CodeNXDomain    = "nxdomain"
)

// Component maps a component of the system to the probes whose samples make
// up its health.
type Component struct {
	Name   string   `json:"name"`
	Probes []string `json:"probes"`
}

// DefaultComponents is the probe -> component table a new Timeline starts
// with, in the order of the cascade (cause first): the order reports use.
func DefaultComponents() []Component {
	return []Component{
		{Name: "dynamodb", Probes: []string{ProbeDNSResolve, ProbeDDBGetItem, ProbeDDBPutItem}},
		{Name: "ec2", Probes: []string{ProbeEC2Launch}},
		{Name: "connectivity", Probes: []string{ProbeConnectivity}},
		{Name: "nlb", Probes: []string{ProbeNLBCapacity, ProbeNLBHealth}},
	}
}

// EventProbe turns a service event into a probe sample, so that a component's
// health can come from what a service reports about itself (DWFM's leases held,
// Network Manager's backlog) as well as from probes. It returns false for an
// event it does not read. The sample's Probe and a zero Time are filled in by
// the timeline. Event-derived samples are stored like probe samples, so a saved
// timeline keeps them.
type EventProbe func(Event) (Sample, bool)

// serviceMatches reports whether an event's service matches pattern: ""
// matches any, "dwfm*" any service starting with "dwfm", anything else itself.
func serviceMatches(pattern, service string) bool {
	if pattern == "" {
		return true
	}
	if prefix, ok := strings.CutSuffix(pattern, "*"); ok {
		return strings.HasPrefix(service, prefix)
	}
	return pattern == service
}

// EventValue is an EventProbe reading the numeric field of events of service
// and kind (service "" matches any service, "dwfm*" any starting with
// "dwfm"): the sample's Value is the field, it is OK when ok(value) holds, and
// its Source is the event's service, so each instance counts on its own.
// Events without the field, or with a non-numeric one, are ignored.
func EventValue(service, kind, field string, ok func(v float64) bool) EventProbe {
	return func(ev Event) (Sample, bool) {
		if ev.Kind != kind || !serviceMatches(service, ev.Service) {
			return Sample{}, false
		}
		v, found := number(ev.Fields[field])
		if !found {
			return Sample{}, false
		}
		return Sample{Time: ev.Time, OK: ok(v), Value: v, Source: ev.Service, Detail: fmt.Sprintf("%s %s=%g", ev.Service, field, v)}, true
	}
}

// EventRatio is an EventProbe reading num/den from events of service whose
// kind is one of kinds: DWFM's "held" leases over its "droplets", say. A zero
// denominator or a missing field ignores the event.
func EventRatio(service, num, den string, ok func(ratio float64) bool, kinds ...string) EventProbe {
	return func(ev Event) (Sample, bool) {
		if !slices.Contains(kinds, ev.Kind) || !serviceMatches(service, ev.Service) {
			return Sample{}, false
		}
		n, found := number(ev.Fields[num])
		d, found2 := number(ev.Fields[den])
		if !found || !found2 || d == 0 {
			return Sample{}, false
		}
		r := n / d
		return Sample{Time: ev.Time, OK: ok(r), Value: r, Source: ev.Service, Detail: fmt.Sprintf("%s %s/%s=%g/%g", ev.Service, num, den, n, d)}, true
	}
}

// EventKind is an EventProbe turning every event of service and kind (service
// matched as for EventValue) into a sample that is OK when ok is true: for
// example every "lease-expired" event as a failing sample of a "dwfm-leases"
// probe and every "lease-established" as a passing one.
func EventKind(service, kind string, ok bool) EventProbe {
	return func(ev Event) (Sample, bool) {
		if ev.Kind != kind || !serviceMatches(service, ev.Service) {
			return Sample{}, false
		}
		return Sample{Time: ev.Time, OK: ok, Code: kind, Source: ev.Service, Detail: ev.Service}, true
	}
}

// AtLeast returns a predicate for EventValue: v >= min.
func AtLeast(min float64) func(float64) bool { return func(v float64) bool { return v >= min } }

// AtMost returns a predicate for EventValue: v <= max.
func AtMost(max float64) func(float64) bool { return func(v float64) bool { return v <= max } }

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, !math.IsNaN(n)
	case float32:
		return float64(n), true
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case int32:
		return float64(n), true
	case uint:
		return float64(n), true
	case uint64:
		return float64(n), true
	case uint32:
		return float64(n), true
	default:
		return 0, false
	}
}
