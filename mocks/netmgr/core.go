package netmgr

import (
	"errors"
	"fmt"
	"math/rand"
	"slices"
	"time"

	"github.com/cascade-lab/cascade/mocks/kit"
)

// Errors the core returns; the transport maps them to the wire in one place.
var (
	// ErrUnknownInstance is returned for an instance Network Manager was never told about.
	ErrUnknownInstance = errors.New("unknown instance")
	// ErrUnknownNode is returned for a location that is not one of the configured nodes.
	ErrUnknownNode = errors.New("unknown node")
	// ErrThrottled is returned when admission control refuses work (fixed mode).
	ErrThrottled = errors.New("throttled: waiting queue is full")
	// ErrInvalid is returned for malformed input (empty id, bad count).
	ErrInvalid = errors.New("invalid request")
)

// CoreConfig parameterises the propagation mechanism.
type CoreConfig struct {
	// Mode selects admission: as-was admits everything, fixed admits bulk
	// work only while the waiting queue is below QueueLimit.
	Mode kit.Mode `flag:"mode" usage:"aswas admits all work; fixed admits bulk work by queue size"`
	// Nodes are the locations an instance's state must reach (the NLB's
	// health-checker nodes, named by AZ id).
	Nodes []string `flag:"nodes" usage:"locations state propagates to: the NLB's checker nodes, by AZ id (default use1-az1,use1-az2,use1-az3)"`
	// RatePerMinute is how many work items (one location of one instance,
	// or one unit of bulk work) the worker completes per incident minute.
	RatePerMinute float64 `flag:"rate" usage:"work items propagated per incident minute (default 120)"`
	// QueueLimit is the waiting-queue size above which fixed mode refuses
	// bulk work.
	QueueLimit int `flag:"queue-limit" usage:"fixed: waiting-queue size above which bulk work is refused (default 600)"`
	// Fanout decides, per instance, the order in which its state reaches the
	// nodes: one location per pass through the queue. Nil means a random
	// order drawn from the core's rand. A test replaces it with AllAtOnce to
	// show that without per-location propagation nothing flaps.
	Fanout func(rng *rand.Rand, nodes []string) [][]string `flag:"-"`
}

// SequentialFanout reaches one node per pass through the queue, in a random
// order per instance (the default).
func SequentialFanout(rng *rand.Rand, nodes []string) [][]string {
	order := slices.Clone(nodes)
	rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	hops := make([][]string, len(order))
	for i, n := range order {
		hops[i] = []string{n}
	}
	return hops
}

// AllAtOnce reaches every node in a single pass (the mechanism removed).
func AllAtOnce(_ *rand.Rand, nodes []string) [][]string {
	return [][]string{slices.Clone(nodes)}
}

func (c *CoreConfig) validate() error {
	if len(c.Nodes) == 0 {
		c.Nodes = []string{"use1-az1", "use1-az2", "use1-az3"}
	}
	seen := map[string]bool{}
	for _, n := range c.Nodes {
		if n == "" || seen[n] {
			return fmt.Errorf("nodes %v: names must be non-empty and distinct", c.Nodes)
		}
		seen[n] = true
	}
	if c.RatePerMinute == 0 {
		c.RatePerMinute = 120
	}
	if c.RatePerMinute < 0 {
		return fmt.Errorf("rate %v per minute: must be positive", c.RatePerMinute)
	}
	if c.QueueLimit == 0 {
		c.QueueLimit = 600
	}
	if c.QueueLimit < 0 {
		return fmt.Errorf("queue limit %d: must be positive", c.QueueLimit)
	}
	if c.Mode == "" {
		c.Mode = kit.AsWas
	}
	if _, err := kit.ParseMode(string(c.Mode)); err != nil {
		return err
	}
	if c.Fanout == nil {
		c.Fanout = SequentialFanout
	}
	return nil
}

// InstanceState is what Network Manager knows about one instance.
type InstanceState struct {
	ID           string               `json:"instanceId"`
	AZ           string               `json:"az"`
	Registered   time.Time            `json:"registered"`
	Propagated   bool                 `json:"propagated"`
	PropagatedAt *time.Time           `json:"propagatedAt,omitempty"`
	Reached      map[string]time.Time `json:"reached"`
}

// Propagation is one instance whose state reached every node during a Tick.
type Propagation struct {
	ID    string
	Delay time.Duration
}

// Ready is what a Tick produced, for the transport to publish.
type Ready struct {
	Processed  int
	Propagated []Propagation
}

// Stats is a snapshot of the queue.
type Stats struct {
	Mode      kit.Mode      `json:"mode"`
	Depth     int           `json:"depth"`
	HeadWait  time.Duration `json:"headWait"`
	Instances int           `json:"instances"`
	Pending   int           `json:"pending"`
	Admitted  int64         `json:"admitted"`
	Rejected  int64         `json:"rejected"`
	Processed int64         `json:"processed"`
}

type instance struct {
	id, az       string
	registered   time.Time
	hops         [][]string
	reached      map[string]time.Time
	propagatedAt time.Time
	done         bool
}

// item is one queue entry: an instance's next hop, or a run of bulk work.
type item struct {
	inst  *instance
	kind  string
	count int
	enq   time.Time
}

// Core is the propagation mechanism. It is not safe for concurrent use: the
// transport serialises calls. Time comes from the clock, randomness from rng.
type Core struct {
	cfg   CoreConfig
	clock kit.Clock
	rng   *rand.Rand

	nodes     map[string]bool
	instances map[string]*instance
	queue     []*item
	depth     int
	credit    float64
	lastTick  time.Time
	pending   int

	admitted, rejected, processed int64
	// admit decides how much of count bulk items enter; swapped by mode.
	admit func(count int) int
}

// NewCore returns a core; it returns an error for a bad config.
func NewCore(cfg CoreConfig, clock kit.Clock, rng *rand.Rand) (*Core, error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("netmgr core: %w", err)
	}
	if rng == nil {
		rng = rand.New(rand.NewSource(1))
	}
	c := &Core{cfg: cfg, clock: clock, rng: rng, nodes: map[string]bool{}, instances: map[string]*instance{}, lastTick: clock.Now()}
	for _, n := range cfg.Nodes {
		c.nodes[n] = true
	}
	c.admit = func(count int) int { return count }
	if cfg.Mode.IsFixed() {
		c.admit = func(count int) int { return max(0, min(count, c.cfg.QueueLimit-c.depth)) }
	}
	return c, nil
}

// Config returns the validated configuration.
func (c *Core) Config() CoreConfig { return c.cfg }

func (c *Core) push(it *item) {
	c.queue = append(c.queue, it)
	if it.inst != nil {
		c.depth++
	} else {
		c.depth += it.count
	}
}

// RegisterInstance starts propagating a new instance's state. Instances are
// always admitted (they are the work admission control protects);
// registering a known instance again is a no-op.
func (c *Core) RegisterInstance(id, az string) (InstanceState, error) {
	if id == "" {
		return InstanceState{}, fmt.Errorf("%w: instanceId is required", ErrInvalid)
	}
	if in, ok := c.instances[id]; ok {
		return in.state(), nil
	}
	now := c.clock.Now()
	in := &instance{id: id, az: az, registered: now, hops: c.cfg.Fanout(c.rng, c.cfg.Nodes), reached: map[string]time.Time{}}
	c.instances[id] = in
	c.pending++
	c.admitted++
	c.push(&item{inst: in, enq: now})
	return in.state(), nil
}

// TerminateInstance forgets an instance at once (it loses connectivity) and
// queues the work of removing its state from every node.
func (c *Core) TerminateInstance(id string) error {
	in, ok := c.instances[id]
	if !ok {
		return fmt.Errorf("%w: %q", ErrUnknownInstance, id)
	}
	n := len(c.cfg.Nodes)
	if c.admit(n) < n {
		c.rejected += int64(n)
		return fmt.Errorf("%w: %d items waiting, limit %d", ErrThrottled, c.depth, c.cfg.QueueLimit)
	}
	if !in.done {
		c.pending--
	}
	delete(c.instances, id)
	c.admitted += int64(n)
	c.push(&item{kind: "terminate", count: n, enq: c.clock.Now()})
	return nil
}

// AddWork queues count units of bulk work of kind. It returns how many were
// admitted; when fewer than count, the error is ErrThrottled and the sender
// should retry the rest later.
func (c *Core) AddWork(kind string, count int) (int, error) {
	if kind == "" || count <= 0 || count > 1_000_000 {
		return 0, fmt.Errorf("%w: kind must be non-empty and count in 1..1000000 (got %q, %d)", ErrInvalid, kind, count)
	}
	n := c.admit(count)
	if n > 0 {
		c.admitted += int64(n)
		c.push(&item{kind: kind, count: n, enq: c.clock.Now()})
	}
	if n < count {
		c.rejected += int64(count - n)
		return n, fmt.Errorf("%w: admitted %d of %d, %d items waiting, limit %d", ErrThrottled, n, count, c.depth, c.cfg.QueueLimit)
	}
	return n, nil
}

// Tick lets the worker complete the work the time since the last Tick allows.
func (c *Core) Tick(now time.Time) Ready {
	var r Ready
	if el := now.Sub(c.lastTick); el > 0 {
		c.credit += el.Minutes() * c.cfg.RatePerMinute
	}
	c.lastTick = now
	for c.credit >= 1 && len(c.queue) > 0 {
		it := c.queue[0]
		if it.inst == nil {
			n := min(it.count, int(c.credit))
			it.count -= n
			c.depth -= n
			c.credit -= float64(n)
			r.Processed += n
			if it.count == 0 {
				c.pop()
			}
			continue
		}
		c.pop()
		c.depth--
		c.credit--
		r.Processed++
		in := it.inst
		if c.instances[in.id] != in { // terminated while queued
			continue
		}
		for _, n := range in.hops[0] {
			in.reached[n] = now
		}
		in.hops = in.hops[1:]
		if len(in.hops) > 0 {
			c.push(&item{inst: in, enq: now})
			continue
		}
		in.done = true
		in.propagatedAt = now
		c.pending--
		r.Propagated = append(r.Propagated, Propagation{ID: in.id, Delay: now.Sub(in.registered)})
	}
	if len(c.queue) == 0 {
		c.credit = 0 // an idle worker does not bank capacity
	}
	c.processed += int64(r.Processed)
	return r
}

func (c *Core) pop() {
	c.queue[0] = nil
	c.queue = c.queue[1:]
	if len(c.queue) == 0 {
		c.queue = nil
	}
}

// Instance returns what is known about an instance.
func (c *Core) Instance(id string) (InstanceState, error) {
	in, ok := c.instances[id]
	if !ok {
		return InstanceState{}, fmt.Errorf("%w: %q", ErrUnknownInstance, id)
	}
	return in.state(), nil
}

// Reachable reports whether node can reach the instance (its state reached
// node). An empty node asks for full connectivity (every node).
func (c *Core) Reachable(id, node string) (bool, error) {
	if node != "" && !c.nodes[node] {
		return false, fmt.Errorf("%w: %q (valid nodes: %v)", ErrUnknownNode, node, c.cfg.Nodes)
	}
	in, ok := c.instances[id]
	if !ok {
		return false, fmt.Errorf("%w: %q", ErrUnknownInstance, id)
	}
	if node == "" {
		return in.done, nil
	}
	_, ok = in.reached[node]
	return ok, nil
}

// Stats returns the queue's figures now.
func (c *Core) Stats() Stats {
	s := Stats{Mode: c.cfg.Mode, Depth: c.depth, Instances: len(c.instances), Pending: c.pending,
		Admitted: c.admitted, Rejected: c.rejected, Processed: c.processed}
	if len(c.queue) > 0 {
		s.HeadWait = c.clock.Now().Sub(c.queue[0].enq)
	}
	return s
}

func (in *instance) state() InstanceState {
	s := InstanceState{ID: in.id, AZ: in.az, Registered: in.registered, Propagated: in.done, Reached: map[string]time.Time{}}
	for k, v := range in.reached {
		s.Reached[k] = v
	}
	if in.done {
		t := in.propagatedAt
		s.PropagatedAt = &t
	}
	return s
}
