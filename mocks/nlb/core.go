package nlb

import (
	"errors"
	"fmt"
	"math/rand"
	"slices"
	"sort"
	"time"

	"github.com/cascade-lab/cascade/mocks/kit"
)

// Errors the core returns; the transport maps them to the wire in one place.
var (
	// ErrUnknownTarget is returned for a target that is not registered.
	ErrUnknownTarget = errors.New("unknown target")
	// ErrUnknownAZ is returned for an AZ (node) the NLB does not span.
	ErrUnknownAZ = errors.New("unknown availability zone")
	// ErrInvalid is returned for malformed input.
	ErrInvalid = errors.New("invalid request")
	// ErrNoTarget is returned by Route when no AZ in DNS has a target in service.
	ErrNoTarget = errors.New("no target in service")
)

// CoreConfig parameterises health checking and AZ DNS failover. Durations
// are incident time.
type CoreConfig struct {
	// Mode: aswas removes AZs without limit; fixed applies velocity control
	// (the protection AWS announced).
	Mode kit.Mode `flag:"mode" usage:"aswas, or fixed: velocity control on AZ failover"`
	// PropagationGate puts a new target in service only once Network
	// Manager reports its state propagated (as-was: at registration). AWS
	// did not announce it: it is a separate option (the harness's
	// nlb-propagation-gate), independent of Mode.
	PropagationGate bool `flag:"propagation-gate" usage:"targets enter service only once Network Manager reports them propagated (not announced by AWS)"`
	// AZs are the NLB's zones; each has one node that health-checks every
	// target and whose address is one A record of the NLB's DNS name.
	AZs []string `flag:"azs" usage:"AZ ids, one node each (default use1-az1,use1-az2,use1-az3)"`
	// CheckInterval is how often each node checks each target.
	CheckInterval time.Duration `flag:"check-interval" usage:"health-check interval per node and target, incident time (default 2m)"`
	// CheckJitter spreads each check's start uniformly over [0, CheckJitter).
	CheckJitter time.Duration `flag:"check-jitter" usage:"check start jitter, incident time (default the interval)"`
	// CheckTimeout fails a check that would wait longer than this in its
	// node's queue: a node holds at most CheckCapacity*CheckTimeout/
	// CheckInterval waiting checks, and a check arriving at a full queue
	// fails at once (the checker is overloaded and the probe is late). The
	// bound is on the queue, not on measured waits, so a replay whose loop is
	// starved by a loaded machine does not fail checks by itself.
	CheckTimeout time.Duration `flag:"check-timeout" usage:"a check waiting longer than this fails, incident time (default twice the interval)"`
	// CheckCapacity is how many checks a node can run per CheckInterval.
	CheckCapacity int `flag:"check-capacity" usage:"checks a node runs per interval (default 64)"`
	// HealthyThreshold consecutive passes make an unhealthy target healthy.
	HealthyThreshold int `flag:"healthy-threshold" usage:"consecutive passes to become healthy (default 2)"`
	// UnhealthyThreshold consecutive failures make a healthy target unhealthy.
	UnhealthyThreshold int `flag:"unhealthy-threshold" usage:"consecutive failures to become unhealthy (default 2)"`
	// RechecksPerFlap extra checks per node follow every change of a
	// target's health (the flapping loads the health-check subsystem);
	// negative means none.
	RechecksPerFlap int `flag:"rechecks-per-flap" usage:"re-checks per node queued by each flap (default 2)"`
	// FailoverThreshold is the share of unhealthy in-service targets at
	// which an AZ is removed from DNS.
	FailoverThreshold float64 `flag:"failover-threshold" usage:"unhealthy share that removes an AZ from DNS (default 0.3)"`
	// RestoreThreshold is the share below which a removed AZ returns.
	RestoreThreshold float64 `flag:"restore-threshold" usage:"unhealthy share below which a removed AZ returns (default 0.15)"`
	// VelocityWindow and MaxRemovedFraction are the fixed mode's velocity
	// control: at most MaxRemovedFraction of the AZs removed per window.
	VelocityWindow     time.Duration `flag:"velocity-window" usage:"fixed: velocity-control window, incident time (default 30m)"`
	MaxRemovedFraction float64       `flag:"max-removed-fraction" usage:"fixed: share of AZs removable per window (default 0.34)"`
	// PropagationPoll is how often (PropagationGate) a target waiting for its network
	// state is asked about again.
	PropagationPoll time.Duration `flag:"propagation-poll" usage:"with --propagation-gate: how often a waiting target's propagation is asked, incident time (default the interval)"`
}

func (c *CoreConfig) validate() error {
	if len(c.AZs) == 0 {
		c.AZs = []string{"use1-az1", "use1-az2", "use1-az3"}
	}
	seen := map[string]bool{}
	for _, az := range c.AZs {
		if az == "" || seen[az] {
			return fmt.Errorf("azs %v: names must be non-empty and distinct", c.AZs)
		}
		seen[az] = true
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.CheckInterval, 2*time.Minute)
	def(&c.CheckJitter, c.CheckInterval)
	def(&c.CheckTimeout, 2*c.CheckInterval)
	def(&c.VelocityWindow, 30*time.Minute)
	def(&c.PropagationPoll, c.CheckInterval)
	if c.CheckInterval < 0 || c.CheckJitter < 0 || c.CheckTimeout < 0 || c.VelocityWindow < 0 || c.PropagationPoll < 0 {
		return fmt.Errorf("durations must be positive")
	}
	if c.CheckCapacity == 0 {
		c.CheckCapacity = 64
	}
	if c.HealthyThreshold == 0 {
		c.HealthyThreshold = 2
	}
	if c.UnhealthyThreshold == 0 {
		c.UnhealthyThreshold = 2
	}
	if c.RechecksPerFlap == 0 {
		c.RechecksPerFlap = 2
	}
	if c.FailoverThreshold == 0 {
		c.FailoverThreshold = 0.3
	}
	if c.RestoreThreshold == 0 {
		c.RestoreThreshold = 0.15
	}
	if c.MaxRemovedFraction == 0 {
		c.MaxRemovedFraction = 0.34
	}
	if c.CheckCapacity < 0 || c.HealthyThreshold < 0 || c.UnhealthyThreshold < 0 {
		return fmt.Errorf("capacity and thresholds must be positive")
	}
	if c.FailoverThreshold < 0 || c.FailoverThreshold > 1 || c.RestoreThreshold < 0 || c.RestoreThreshold > c.FailoverThreshold || c.MaxRemovedFraction < 0 || c.MaxRemovedFraction > 1 {
		return fmt.Errorf("need 0 <= restore %v <= failover %v <= 1 and 0 <= max removed %v <= 1", c.RestoreThreshold, c.FailoverThreshold, c.MaxRemovedFraction)
	}
	if c.Mode == "" {
		c.Mode = kit.AsWas
	}
	if _, err := kit.ParseMode(string(c.Mode)); err != nil {
		return err
	}
	return nil
}

// Check is one health check for the transport to perform: GET the target's
// health as seen from Node, then report it with Core.Result.
type Check struct {
	Target string
	Node   string
}

// Flap is one change of a target's health.
type Flap struct {
	Target  string
	AZ      string
	Healthy bool
	Flaps   int
}

// Failover is one AZ leaving or re-entering the NLB's DNS name.
type Failover struct {
	AZ             string
	Removed        bool
	UnhealthyShare float64
	Reason         string
}

// Ready is what a Tick produced, for the transport to perform and publish.
type Ready struct {
	Checks          []Check
	Flaps           []Flap
	Failovers       []Failover
	DNSChanged      bool
	DNS             []string // the AZs in DNS after the changes, when DNSChanged
	NeedPropagation []string // fixed: targets to ask Network Manager about
	Entered         []string // targets that entered service
	Late            int      // checks failed because they waited too long in the checker
}

// TargetState describes one target.
type TargetState struct {
	ID          string     `json:"id"`
	AZ          string     `json:"az"`
	Registered  time.Time  `json:"registered"`
	InService   bool       `json:"inService"`
	InServiceAt *time.Time `json:"inServiceAt,omitempty"`
	Healthy     bool       `json:"healthy"`
	Flaps       int        `json:"flaps"`
}

// AZState describes one AZ.
type AZState struct {
	AZ             string  `json:"az"`
	InDNS          bool    `json:"inDNS"`
	Targets        int     `json:"targets"`
	InService      int     `json:"inService"`
	Healthy        int     `json:"healthy"`
	UnhealthyShare float64 `json:"unhealthyShare"`
	QueuedChecks   int     `json:"queuedChecks"`
}

// State is the NLB's state as GET /admin/state returns it.
type State struct {
	Mode            kit.Mode      `json:"mode"`
	FailoverEnabled bool          `json:"failoverEnabled"`
	AZsInDNS        []string      `json:"azsInDNS"`
	AZs             []AZState     `json:"azs"`
	Targets         []TargetState `json:"targets,omitempty"`
	InService       int           `json:"inService"`
	// HealthyCapacity counts healthy in-service targets in AZs that are in DNS.
	HealthyCapacity int   `json:"healthyCapacity"`
	Flaps           int64 `json:"flaps"`
	Removals        int64 `json:"removals"`
	Restores        int64 `json:"restores"`
	DNSChanges      int64 `json:"dnsChanges"`
	Checks          int64 `json:"checks"`
	FailedChecks    int64 `json:"failedChecks"`
	LateChecks      int64 `json:"lateChecks"`
	Suppressed      int64 `json:"suppressedRemovals"`
	// CapacityRemoved is the share of AZs out of DNS now.
	CapacityRemoved float64 `json:"capacityRemoved"`
	// MaxCapacityRemoved is the largest share of AZs ever out of DNS at once.
	MaxCapacityRemoved float64 `json:"maxCapacityRemoved"`
	// MaxRemovedPerWindow is the largest share of AZs removed within any
	// VelocityWindow (what velocity control bounds).
	MaxRemovedPerWindow float64 `json:"maxRemovedPerWindow"`
}

type target struct {
	id, az      string
	registered  time.Time
	inService   bool
	inServiceAt time.Time
	healthy     bool
	okRun       int
	failRun     int
	flaps       int
	base        []time.Time // per node: the un-jittered schedule
	next        []time.Time // per node: the next check's time
	queued      []int       // per node: checks of this target waiting in the node's queue
	asked       time.Time   // fixed: last propagation query
}

type pendingCheck struct {
	t   *target
	due time.Time
}

type node struct {
	az     string
	inDNS  bool
	queue  []pendingCheck
	credit float64
}

type removal struct {
	at       time.Time
	fraction float64
}

// Core is the NLB's health checking and AZ failover. It is not safe for
// concurrent use. Time comes from the clock, randomness from rng.
type Core struct {
	cfg   CoreConfig
	clock kit.Clock
	rng   *rand.Rand

	nodes    []*node
	azIndex  map[string]int
	targets  map[string]*target
	order    []*target
	enabled  bool
	lastTick time.Time
	removals []removal
	pending  Ready

	maxQueue                                                                 int
	flaps, nRemovals, restores, dnsChanges, checks, failed, late, suppressed int64
	maxOut, maxWindow                                                        float64

	// enter decides what registering a target does (as-was: in service at
	// once; fixed: wait for propagation); allowRemove is velocity control.
	enter       func(t *target, now time.Time)
	allowRemove func(now time.Time) (bool, string)
}

// NewCore returns a core with every AZ in DNS and failover enabled.
func NewCore(cfg CoreConfig, clock kit.Clock, rng *rand.Rand) (*Core, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("nlb core: %w", err)
	}
	if rng == nil {
		rng = rand.New(rand.NewSource(1))
	}
	c := &Core{cfg: cfg, clock: clock, rng: rng, azIndex: map[string]int{}, targets: map[string]*target{},
		enabled: true, lastTick: clock.Now()}
	for i, az := range cfg.AZs {
		c.nodes = append(c.nodes, &node{az: az, inDNS: true})
		c.azIndex[az] = i
	}
	c.maxQueue = max(1, int(float64(cfg.CheckCapacity)*float64(cfg.CheckTimeout)/float64(cfg.CheckInterval)))
	c.enter = c.enterAtOnce
	c.allowRemove = c.failOpen
	if cfg.PropagationGate {
		c.enter = c.enterAfterPropagation
	}
	if cfg.Mode.IsFixed() {
		c.allowRemove = c.velocityControl
	}
	return c, nil
}

// Config returns the validated configuration.
func (c *Core) Config() CoreConfig { return c.cfg }

func (c *Core) enterAtOnce(t *target, now time.Time) { c.putInService(t, now) }

func (c *Core) enterAfterPropagation(t *target, now time.Time) {
	c.pending.NeedPropagation = append(c.pending.NeedPropagation, t.id)
	t.asked = now
}

func (c *Core) putInService(t *target, now time.Time) {
	t.inService, t.inServiceAt, t.healthy = true, now, true
	for i := range c.nodes {
		// each node starts at its own phase, so checks interleave
		t.base[i] = now.Add(time.Duration(c.rng.Int63n(int64(c.cfg.CheckInterval))))
		t.next[i] = t.base[i]
	}
	c.pending.Entered = append(c.pending.Entered, t.id)
}

// failOpen (as-was) removes any AZ but never the last one: an NLB whose
// every AZ failed answers with all of them.
func (c *Core) failOpen(time.Time) (bool, string) {
	if c.inDNS() <= 1 {
		return false, "fail-open: last AZ in DNS"
	}
	return true, ""
}

// velocityControl (fixed) also caps the share of AZs removed per window.
func (c *Core) velocityControl(now time.Time) (bool, string) {
	if ok, why := c.failOpen(now); !ok {
		return ok, why
	}
	if c.removedWithin(now)+1/float64(len(c.nodes)) > c.cfg.MaxRemovedFraction+1e-9 {
		return false, "velocity control"
	}
	return true, ""
}

func (c *Core) removedWithin(now time.Time) float64 {
	var sum float64
	keep := c.removals[:0]
	for _, r := range c.removals {
		if now.Sub(r.at) < c.cfg.VelocityWindow {
			sum += r.fraction
			keep = append(keep, r)
		}
	}
	c.removals = keep
	return sum
}

func (c *Core) inDNS() int {
	n := 0
	for _, nd := range c.nodes {
		if nd.inDNS {
			n++
		}
	}
	return n
}

// RegisterTarget adds a target in az.
func (c *Core) RegisterTarget(id, az string) error {
	if id == "" {
		return fmt.Errorf("%w: target id is required", ErrInvalid)
	}
	if _, ok := c.azIndex[az]; !ok {
		return fmt.Errorf("%w: %q (valid: %v)", ErrUnknownAZ, az, c.cfg.AZs)
	}
	if _, ok := c.targets[id]; ok {
		return nil
	}
	now := c.clock.Now()
	t := &target{id: id, az: az, registered: now, base: make([]time.Time, len(c.nodes)), next: make([]time.Time, len(c.nodes)), queued: make([]int, len(c.nodes))}
	c.targets[id] = t
	c.order = append(c.order, t)
	c.enter(t, now)
	return nil
}

// DeregisterTarget removes a target.
func (c *Core) DeregisterTarget(id string) error {
	t, ok := c.targets[id]
	if !ok {
		return fmt.Errorf("%w: %q", ErrUnknownTarget, id)
	}
	delete(c.targets, id)
	c.order = slices.DeleteFunc(c.order, func(x *target) bool { return x == t })
	return nil
}

// MarkPropagated tells the core (fixed) that Network Manager propagated the
// target's network state everywhere: it enters service.
func (c *Core) MarkPropagated(id string) error {
	t, ok := c.targets[id]
	if !ok {
		return fmt.Errorf("%w: %q", ErrUnknownTarget, id)
	}
	if !t.inService {
		c.putInService(t, c.clock.Now())
	}
	return nil
}

// SetFailover enables or disables automatic AZ DNS failover (the
// operators' action). Disabling puts every AZ back into DNS.
func (c *Core) SetFailover(enabled bool) []string {
	c.enabled = enabled
	var restored []string
	if !enabled {
		for _, n := range c.nodes {
			if !n.inDNS {
				n.inDNS = true
				restored = append(restored, n.az)
				c.restores++
				c.pending.Failovers = append(c.pending.Failovers, Failover{AZ: n.az, Reason: "failover disabled"})
			}
		}
		if len(restored) > 0 {
			c.markDNS()
		}
	}
	return restored
}

func (c *Core) markDNS() {
	c.dnsChanges++
	c.pending.DNSChanged = true
	c.pending.DNS = c.dnsSet()
}

func (c *Core) dnsSet() []string {
	var s []string
	for _, n := range c.nodes {
		if n.inDNS {
			s = append(s, n.az)
		}
	}
	return s
}

// Result reports the outcome of a check the transport performed.
func (c *Core) Result(ch Check, ok bool) {
	t, found := c.targets[ch.Target]
	if !found || !t.inService {
		return
	}
	c.checks++
	c.apply(t, ok)
}

func (c *Core) apply(t *target, ok bool) {
	if !ok {
		c.failed++
		t.okRun, t.failRun = 0, t.failRun+1
		if t.healthy && t.failRun >= c.cfg.UnhealthyThreshold {
			c.flap(t, false)
		}
		return
	}
	t.okRun, t.failRun = t.okRun+1, 0
	if !t.healthy && t.okRun >= c.cfg.HealthyThreshold {
		c.flap(t, true)
	}
}

func (c *Core) flap(t *target, healthy bool) {
	t.healthy = healthy
	t.flaps++
	c.flaps++
	c.pending.Flaps = append(c.pending.Flaps, Flap{Target: t.id, AZ: t.az, Healthy: healthy, Flaps: t.flaps})
	now := c.clock.Now()
	// re-checks confirm the change; a node coalesces them per target
	for i, n := range c.nodes {
		for t.queued[i] < c.cfg.RechecksPerFlap {
			if !c.enqueue(n, i, t, now) {
				break
			}
		}
	}
}

// Tick schedules the checks that are due, lets each node run what its
// capacity allows, fails the checks that waited too long, and evaluates AZ
// failover. It returns everything that happened since the last Tick.
func (c *Core) Tick(now time.Time) Ready {
	el := now.Sub(c.lastTick)
	c.lastTick = now
	for _, t := range c.order {
		if !t.inService {
			if now.Sub(t.asked) >= c.cfg.PropagationPoll {
				c.pending.NeedPropagation = append(c.pending.NeedPropagation, t.id)
				t.asked = now
			}
			continue
		}
		for i, n := range c.nodes {
			if now.Sub(t.base[i]) > 4*c.cfg.CheckInterval { // far behind (a stalled loop): resynchronise
				t.base[i] = now
				t.next[i] = now
			}
			for !t.next[i].After(now) {
				// a node does not start a new periodic check of a target
				// while one is still waiting
				if t.queued[i] == 0 {
					c.enqueue(n, i, t, t.next[i])
				}
				t.base[i] = t.base[i].Add(c.cfg.CheckInterval)
				t.next[i] = t.base[i].Add(c.jitter())
			}
		}
	}
	perInterval := float64(c.cfg.CheckCapacity)
	for ni, n := range c.nodes {
		if el > 0 {
			n.credit = min(n.credit+float64(el)/float64(c.cfg.CheckInterval)*perInterval, perInterval)
		}
		i := 0
		for ; i < len(n.queue) && n.credit >= 1 && !n.queue[i].due.After(now); i++ {
			p := n.queue[i]
			p.t.queued[ni]--
			if c.targets[p.t.id] != p.t {
				continue
			}
			n.credit--
			c.pending.Checks = append(c.pending.Checks, Check{Target: p.t.id, Node: n.az})
		}
		n.queue = append(n.queue[:0:0], n.queue[i:]...)
	}
	c.evaluateFailover(now)
	r := c.pending
	c.pending = Ready{}
	return r
}

// enqueue queues a check of t on node n (index ni); a full queue fails it at
// once, as a late probe.
func (c *Core) enqueue(n *node, ni int, t *target, due time.Time) bool {
	if len(n.queue) >= c.maxQueue {
		c.late++
		c.pending.Late++
		c.checks++
		c.apply(t, false)
		return false
	}
	n.queue = append(n.queue, pendingCheck{t: t, due: due})
	t.queued[ni]++
	return true
}

func (c *Core) jitter() time.Duration {
	if c.cfg.CheckJitter <= 0 {
		return 0
	}
	return time.Duration(c.rng.Int63n(int64(c.cfg.CheckJitter)))
}

func (c *Core) evaluateFailover(now time.Time) {
	if !c.enabled {
		return
	}
	azs := c.azStates()
	// remove the worst AZ first
	idx := make([]int, len(azs))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return azs[idx[a]].UnhealthyShare > azs[idx[b]].UnhealthyShare })
	changed := false
	for _, i := range idx {
		a, n := azs[i], c.nodes[i]
		switch {
		case n.inDNS && a.InService > 0 && a.UnhealthyShare >= c.cfg.FailoverThreshold:
			ok, why := c.allowRemove(now)
			if !ok {
				c.suppressed++
				continue
			}
			n.inDNS = false
			changed = true
			c.nRemovals++
			frac := 1 / float64(len(c.nodes))
			c.removals = append(c.removals, removal{at: now, fraction: frac})
			c.maxWindow = max(c.maxWindow, c.removedWithin(now))
			c.pending.Failovers = append(c.pending.Failovers, Failover{AZ: a.AZ, Removed: true, UnhealthyShare: a.UnhealthyShare, Reason: why})
		case !n.inDNS && a.UnhealthyShare < c.cfg.RestoreThreshold:
			n.inDNS = true
			changed = true
			c.restores++
			c.pending.Failovers = append(c.pending.Failovers, Failover{AZ: a.AZ, UnhealthyShare: a.UnhealthyShare, Reason: "healthy"})
		}
	}
	if changed {
		c.markDNS()
		out := 1 - float64(c.inDNS())/float64(len(c.nodes))
		c.maxOut = max(c.maxOut, out)
	}
}

func (c *Core) azStates() []AZState {
	azs := make([]AZState, len(c.nodes))
	for i, n := range c.nodes {
		azs[i] = AZState{AZ: n.az, InDNS: n.inDNS, QueuedChecks: len(n.queue)}
	}
	for _, t := range c.order {
		a := &azs[c.azIndex[t.az]]
		a.Targets++
		if t.inService {
			a.InService++
			if t.healthy {
				a.Healthy++
			}
		}
	}
	for i := range azs {
		if azs[i].InService > 0 {
			azs[i].UnhealthyShare = float64(azs[i].InService-azs[i].Healthy) / float64(azs[i].InService)
		}
	}
	return azs
}

// Route picks where a request through the NLB goes: an AZ in DNS (as a
// client's resolver would) and a healthy in-service target in it, or any
// in-service target there when none is healthy (fail-open).
func (c *Core) Route() (Check, error) {
	dns := c.dnsSet()
	if len(dns) == 0 {
		return Check{}, ErrNoTarget
	}
	start := c.rng.Intn(len(dns))
	for k := range dns {
		az := dns[(start+k)%len(dns)]
		var healthy, any []*target
		for _, t := range c.order {
			if t.az == az && t.inService {
				any = append(any, t)
				if t.healthy {
					healthy = append(healthy, t)
				}
			}
		}
		pick := healthy
		if len(pick) == 0 {
			pick = any
		}
		if len(pick) > 0 {
			return Check{Target: pick[c.rng.Intn(len(pick))].id, Node: az}, nil
		}
	}
	return Check{}, ErrNoTarget
}

// State returns the NLB's state; withTargets includes every target.
func (c *Core) State(withTargets bool) State {
	s := State{Mode: c.cfg.Mode, FailoverEnabled: c.enabled, AZsInDNS: c.dnsSet(), AZs: c.azStates(),
		Flaps: c.flaps, Removals: c.nRemovals, Restores: c.restores, DNSChanges: c.dnsChanges,
		Checks: c.checks, FailedChecks: c.failed, LateChecks: c.late, Suppressed: c.suppressed,
		MaxCapacityRemoved: c.maxOut, MaxRemovedPerWindow: c.maxWindow}
	s.CapacityRemoved = 1 - float64(len(s.AZsInDNS))/float64(len(c.nodes))
	for _, a := range s.AZs {
		s.InService += a.InService
		if a.InDNS {
			s.HealthyCapacity += a.Healthy
		}
	}
	if withTargets {
		for _, t := range c.order {
			ts := TargetState{ID: t.id, AZ: t.az, Registered: t.registered, InService: t.inService, Healthy: t.healthy, Flaps: t.flaps}
			if t.inService {
				at := t.inServiceAt
				ts.InServiceAt = &at
			}
			s.Targets = append(s.Targets, ts)
		}
	}
	return s
}
