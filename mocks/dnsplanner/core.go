package dnsplanner

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cascade-lab/cascade/mocks/dnsplan"
	"github.com/cascade-lab/cascade/mocks/kit"
)

// LBConfig names a load balancer and its address.
type LBConfig struct {
	Name string `json:"name"`
	IP   string `json:"ip"`
}

// CoreConfig configures the planner's mechanism.
type CoreConfig struct {
	LBs       []LBConfig
	Endpoints []dnsplan.Endpoint
	// Period: a generation is written at least this often (incident time).
	Period time.Duration
	// SlowLatency: an LB answering slower than this loses weight.
	SlowLatency time.Duration
	// MaxChangesPerBatch bounds one Route53 change batch.
	MaxChangesPerBatch int
}

func (c *CoreConfig) validate() error {
	if len(c.LBs) == 0 {
		return errors.New("no load balancers")
	}
	seen := map[string]bool{}
	for _, lb := range c.LBs {
		if lb.Name == "" || lb.IP == "" {
			return fmt.Errorf("load balancer %+v: want name and ip", lb)
		}
		if seen[lb.Name] {
			return fmt.Errorf("load balancer %s listed twice", lb.Name)
		}
		seen[lb.Name] = true
	}
	if len(c.Endpoints) == 0 {
		return errors.New("no endpoints")
	}
	if c.Period <= 0 {
		c.Period = time.Minute
	}
	if c.SlowLatency <= 0 {
		c.SlowLatency = 100 * time.Millisecond
	}
	if c.MaxChangesPerBatch <= 0 {
		c.MaxChangesPerBatch = 1000
	}
	return nil
}

// Probe is one health check of one load balancer.
type Probe struct {
	LB      string
	Healthy bool
	Latency time.Duration
	Detail  string
}

// Plan is a generation ready to be written: Batches in order, the marker
// alone in the last one.
type Plan struct {
	Gen     uint64
	Reason  string
	Weights []dnsplan.LB
	Batches [][]dnsplan.Change
	Records int
}

// Core is the planner's mechanism. Not safe for concurrent use.
type Core struct {
	cfg     CoreConfig
	clock   kit.Clock
	events  *kit.Events
	plans   []string
	gen     uint64
	health  map[string]Probe
	weights []dnsplan.LB // of the last generation written
	written time.Time
	force   string
}

// NewCore returns a planner core. events may be nil.
func NewCore(cfg CoreConfig, clock kit.Clock, events *kit.Events) (*Core, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("dnsplanner core: %w", err)
	}
	return &Core{cfg: cfg, clock: clock, events: events, plans: dnsplan.PlanIDs(cfg.Endpoints), health: map[string]Probe{}}, nil
}

// Resume continues after the newest generation found in Route53 (restarts).
func (c *Core) Resume(gen uint64) {
	if gen > c.gen {
		c.gen = gen
	}
}

// Generation is the last generation written.
func (c *Core) Generation() uint64 { return c.gen }

// Force makes the next Due report reason (operator or test request).
func (c *Core) Force(reason string) { c.force = reason }

// Observe takes one round of health checks.
func (c *Core) Observe(probes []Probe) {
	for _, p := range probes {
		old, seen := c.health[p.LB]
		c.health[p.LB] = p
		if !seen || old.Healthy != p.Healthy || weightOf(old, c.cfg.SlowLatency) != weightOf(p, c.cfg.SlowLatency) {
			c.events.Emit("lb-health", "lb", p.LB, "healthy", p.Healthy, "latency_ms", p.Latency.Milliseconds(),
				"weight", weightOf(p, c.cfg.SlowLatency), "detail", p.Detail)
		}
	}
}

// weightOf weighs a load balancer: fast 100, slow 50, very slow 10, dead 0.
// Buckets rather than a continuous function, so jitter does not churn plans.
func weightOf(p Probe, slow time.Duration) int64 {
	switch {
	case !p.Healthy:
		return 0
	case p.Latency <= slow:
		return 100
	case p.Latency <= 4*slow:
		return 50
	default:
		return 10
	}
}

// Weights are the load balancers' current weights. With none healthy every
// LB gets weight 1: the planner never empties a plan by itself.
func (c *Core) Weights() []dnsplan.LB {
	out := make([]dnsplan.LB, 0, len(c.cfg.LBs))
	any := false
	for _, lb := range c.cfg.LBs {
		w := int64(100) // not yet checked: assume healthy
		if p, ok := c.health[lb.Name]; ok {
			w = weightOf(p, c.cfg.SlowLatency)
		}
		any = any || w > 0
		out = append(out, dnsplan.LB{Name: lb.Name, IP: lb.IP, Weight: w})
	}
	if !any {
		for i := range out {
			out[i].Weight = 1
		}
	}
	return out
}

// Due reports whether a generation should be written now, and why.
func (c *Core) Due() (string, bool) {
	switch {
	case c.force != "":
		return c.force, true
	case c.written.IsZero():
		return "initial", true
	case !sameWeights(c.weights, c.Weights()):
		return "weights", true
	case c.clock.Since(c.written) >= c.cfg.Period:
		return "period", true
	}
	return "", false
}

func sameWeights(a, b []dnsplan.LB) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Build returns the next generation's plan, not yet committed: records in
// batches, then the marker alone. Records are UPSERTed so a planner that died
// half-way through a generation can write the next one over its remains.
func (c *Core) Build(reason string) *Plan {
	p := &Plan{Gen: c.gen + 1, Reason: reason, Weights: c.Weights()}
	changes := make([]dnsplan.Change, 0, len(c.plans)*len(p.Weights))
	for _, id := range c.plans {
		for _, r := range dnsplan.PlanRecords(id, p.Gen, p.Weights) {
			changes = append(changes, dnsplan.Change{Action: dnsplan.Upsert, Record: r})
		}
	}
	p.Records = len(changes)
	p.Batches = dnsplan.Batches(changes, c.cfg.MaxChangesPerBatch)
	p.Batches = append(p.Batches, []dnsplan.Change{{Action: dnsplan.Upsert, Record: dnsplan.MarkerRecord(p.Gen, len(c.plans), p.Records, reason)}})
	return p
}

// Written commits a plan once its last batch (the marker) was written.
func (c *Core) Written(p *Plan) {
	c.gen = p.Gen
	c.weights = p.Weights
	c.written = c.clock.Now()
	c.force = ""
	c.events.Emit("plan-generated", "generation", p.Gen, "records", p.Records, "plans", len(c.plans), "reason", p.Reason)
}

// Write writes the plan's batches in order to st (the marker last).
func (p *Plan) Write(ctx context.Context, st dnsplan.Store, zoneID string) error {
	for i, b := range p.Batches {
		if err := st.Change(ctx, zoneID, b); err != nil {
			return fmt.Errorf("write generation %d batch %d/%d: %w", p.Gen, i+1, len(p.Batches), err)
		}
	}
	return nil
}

// MarshalText writes the load balancer as its --lb flag reads it: name=ip.
func (l LBConfig) MarshalText() ([]byte, error) { return []byte(l.Name + "=" + l.IP), nil }

// UnmarshalText parses name=ip.
func (l *LBConfig) UnmarshalText(b []byte) error {
	name, ip, ok := strings.Cut(string(b), "=")
	if !ok || name == "" || ip == "" {
		return fmt.Errorf("load balancer %q: want name=ip", b)
	}
	l.Name, l.IP = name, ip
	return nil
}
