package ec2

import (
	"encoding/base64"
	"fmt"
	"math"
	"math/rand"
	"strconv"
	"strings"
	"time"

	"github.com/cascade-lab/cascade/mocks/kit"
)

// Instance states (EC2's names and codes).
const (
	StatePending      = "pending"
	StateRunning      = "running"
	StateShuttingDown = "shutting-down"
	StateTerminated   = "terminated"
)

// StateCode is EC2's numeric code of a state name.
func StateCode(name string) int {
	switch name {
	case StatePending:
		return 0
	case StateRunning:
		return 16
	case StateShuttingDown:
		return 32
	case StateTerminated:
		return 48
	}
	return 0
}

// Tag is a resource tag.
type Tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Instance is one launched instance.
type Instance struct {
	ID            string    `json:"instanceId"`
	ReservationID string    `json:"reservationId"`
	ImageID       string    `json:"imageId"`
	InstanceType  string    `json:"instanceType"`
	KeyName       string    `json:"keyName,omitempty"`
	Zone          string    `json:"availabilityZone"`
	ZoneID        string    `json:"availabilityZoneId"`
	Droplet       string    `json:"droplet"`
	PrivateIP     string    `json:"privateIpAddress"`
	LaunchTime    time.Time `json:"launchTime"`
	Tags          []Tag     `json:"tags,omitempty"`
	LaunchIndex   int       `json:"amiLaunchIndex"`
	// HandedOff is set once Network Manager accepted the instance's network
	// state; Propagated once it reports the state propagated (connectivity).
	HandedOff  bool `json:"handedOff"`
	Propagated bool `json:"propagated"`

	stateAt    time.Time // when the state last changed (pending -> running)
	terminated bool
}

// Filter is a DescribeInstances filter.
type Filter struct {
	Name   string
	Values []string
}

// Placement is where one instance of a launch goes.
type Placement struct {
	Zone, ZoneID, Droplet string
}

// LaunchSpec is what RunInstances asked for.
type LaunchSpec struct {
	ImageID      string
	InstanceType string
	KeyName      string
	Tags         []Tag
	// Zone and ZoneID pick the Availability Zone (empty: any); the launch
	// places at least MinCount and at most MaxCount instances.
	Zone, ZoneID       string
	MinCount, MaxCount int
}

// Zone is one Availability Zone: its id, its name and its DWFM host.
type Zone struct {
	ID   string // use1-az1
	Name string // us-east-1a
	DWFM string // base URL of the zone's DWFM host ("": no droplets to ask for)
}

// DefaultZones are the stack's three zones (without DWFM URLs).
func DefaultZones() []Zone {
	return []Zone{{ID: "use1-az1", Name: "us-east-1a"}, {ID: "use1-az2", Name: "us-east-1b"}, {ID: "use1-az3", Name: "us-east-1c"}}
}

// CoreConfig configures Core. Durations are incident durations.
type CoreConfig struct {
	// BootTime is how long an instance stays pending; ShutdownTime how
	// long it stays shutting-down.
	BootTime, ShutdownTime time.Duration
	// RunPerMinute throttles RunInstances (0: no throttle); RunBurst is the
	// bucket's size.
	RunPerMinute float64
	RunBurst     float64
	// SetupWork is how many bulk work items each instance owes Network
	// Manager once its own state has propagated (0: none); SetupBackoff
	// is the first delay before a refused remainder is posted again
	// (doubling up to 16 times it).
	SetupWork    int
	SetupBackoff time.Duration
	// Zones are the zones launches are placed in (default DefaultZones).
	Zones []Zone
	// HandoffBatch bounds the hand-offs and the propagation polls of one
	// NetRound each (default 256).
	HandoffBatch int
}

// Core holds the instances, the RunInstances throttle, the placement of
// launches and the hand-off of each instance to Network Manager. Its work
// with peers leaves it as data (Placing asks DWFM hosts, NetRound asks
// Network Manager, TakeSetup owes it work) and the answers come back in
// (Placing.Answer, NetRoundDone, SetupDone); the transport does the I/O.
// Not safe for concurrent use.
type Core struct {
	cfg       CoreConfig
	clock     kit.Clock
	rng       *rand.Rand
	instances map[string]*Instance
	order     []*Instance // launch order, for stable paging
	tokens    float64
	last      time.Time
	setup     kit.Owed
	deletes   []string // terminations Network Manager has not been told of
}

// SetupWorkKind is the kind of the setup work EC2 posts (POST /v1/work).
const SetupWorkKind = "instance-setup"

// Connected records that n instances' own state reached every location:
// each now owes SetupWork items of setup work (the rest of its network,
// pushed to the hosts it talks to). Owing it only then keeps an instance's
// own propagation from waiting behind its own setup work.
func (c *Core) Connected(n int) { c.setup.Add(n * c.cfg.SetupWork) }

// TakeSetup returns the setup items to post now (0: none) and counts them in
// flight until SetupDone; a refused remainder waits out its backoff.
func (c *Core) TakeSetup() int { return c.setup.Take(c.clock.Now()) }

// SetupDone takes how many of the items in flight Network Manager admitted;
// the rest is owed again after a backoff that doubles while posts fall short.
func (c *Core) SetupDone(admitted int) { c.setup.Done(c.clock.Now(), admitted) }

// SetupStats are the setup work's counters: owed (in flight included),
// admitted, refused.
func (c *Core) SetupStats() (owed int, posted, refused uint64) {
	return c.setup.Owed(), c.setup.Posted(), c.setup.Refused()
}

// NewCore returns an empty EC2.
func NewCore(cfg CoreConfig, clock kit.Clock, rng *rand.Rand) *Core {
	if cfg.BootTime <= 0 {
		cfg.BootTime = time.Minute
	}
	if cfg.ShutdownTime <= 0 {
		cfg.ShutdownTime = time.Minute
	}
	if len(cfg.Zones) == 0 {
		cfg.Zones = DefaultZones()
	}
	if cfg.HandoffBatch <= 0 {
		cfg.HandoffBatch = 256
	}
	backoff := max(cfg.SetupBackoff, time.Second)
	c := &Core{cfg: cfg, clock: clock, rng: rng, instances: map[string]*Instance{},
		setup: kit.Owed{Base: backoff, Max: 16 * backoff}}
	c.SetRunRate(cfg.RunPerMinute, cfg.RunBurst)
	return c
}

// SetRunRate sets the RunInstances throttle: perMinute calls per incident
// minute with a bucket of burst (0 perMinute: no throttle).
func (c *Core) SetRunRate(perMinute, burst float64) {
	if burst < 1 {
		burst = math.Max(1, perMinute/6)
	}
	c.cfg.RunPerMinute, c.cfg.RunBurst = perMinute, burst
	c.tokens, c.last = burst, c.clock.Now()
}

// RunRate is the throttle's rate per minute (0: none).
func (c *Core) RunRate() float64 { return c.cfg.RunPerMinute }

// AdmitRun takes a token for one RunInstances call, or refuses it with
// RequestLimitExceeded.
func (c *Core) AdmitRun() error {
	if c.cfg.RunPerMinute <= 0 {
		return nil
	}
	now := c.clock.Now()
	if el := now.Sub(c.last); el > 0 {
		c.tokens = math.Min(c.cfg.RunBurst, c.tokens+el.Minutes()*c.cfg.RunPerMinute)
	}
	c.last = now
	if c.tokens < 1 {
		return apiErr(CodeRequestLimitExceeded, "Request limit exceeded.")
	}
	c.tokens--
	return nil
}

func (c *Core) hex(n int) string {
	const digits = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = digits[c.rng.Intn(16)]
	}
	return string(b)
}

// RequestID is a new request id in EC2's form (a UUID).
func (c *Core) RequestID() string {
	h := c.hex(32)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// Allocation is a DWFM host's answer to one Placing ask.
type Allocation int

// A DWFM host's answers.
const (
	// Allocated: the host leased a droplet to the launch.
	Allocated Allocation = iota
	// NoCapacity: no droplet of the host holds a valid lease.
	NoCapacity
	// Unreachable: the host did not answer.
	Unreachable
)

// Placing is the placement of one launch in progress: the transport asks the
// DWFM host of Next's zone for one droplet and gives the answer to Answer,
// until Next says placement is decided; then Core.Place launches or fails.
// One reservation lives in one zone: the zones are tried in turn (shuffled
// when the launch names none) until one gives MinCount droplets. Placing
// holds no reference to the core, so the asking needs no lock.
type Placing struct {
	spec        LaunchSpec
	zones       []Zone
	zi          int
	zoneOver    bool // the current zone gave what it will
	placements  []Placement
	unreachable int
	done        bool
}

// StartRun admits a RunInstances call (the throttle: RequestLimitExceeded)
// and checks its zone; it returns the placement to carry out.
func (c *Core) StartRun(spec LaunchSpec) (*Placing, error) {
	if err := c.AdmitRun(); err != nil {
		return nil, err
	}
	p := &Placing{spec: spec}
	if spec.Zone == "" && spec.ZoneID == "" {
		p.zones = append([]Zone(nil), c.cfg.Zones...)
		c.rng.Shuffle(len(p.zones), func(i, j int) { p.zones[i], p.zones[j] = p.zones[j], p.zones[i] })
		return p, nil
	}
	for _, z := range c.cfg.Zones {
		if (spec.Zone == "" || z.Name == spec.Zone) && (spec.ZoneID == "" || z.ID == spec.ZoneID) {
			p.zones = []Zone{z}
			return p, nil
		}
	}
	return nil, apiErr(CodeInvalidParameterValue, "Invalid availability zone: [%s]", truncate(spec.Zone+spec.ZoneID))
}

// Next is the zone whose DWFM host to ask for a droplet now; false when
// placement is decided.
func (p *Placing) Next() (Zone, bool) {
	for !p.done && p.zi < len(p.zones) {
		z := p.zones[p.zi]
		if z.DWFM == "" {
			p.zi++
			continue
		}
		if !p.zoneOver && len(p.placements) < p.spec.MaxCount {
			return z, true
		}
		if len(p.placements) >= p.spec.MinCount {
			p.done = true
			break
		}
		p.placements, p.zoneOver = p.placements[:0], false
		p.zi++
	}
	return Zone{}, false
}

// Answer takes the answer to the ask Next made: a droplet, or why none.
func (p *Placing) Answer(a Allocation, droplet string) {
	z := p.zones[p.zi]
	switch a {
	case Allocated:
		p.placements = append(p.placements, Placement{Zone: z.Name, ZoneID: z.ID, Droplet: droplet})
	case Unreachable:
		p.unreachable++
		p.zoneOver = true
	default:
		p.zoneOver = true
	}
}

// Place ends a placement: it launches a reservation on the droplets found,
// or fails with InsufficientInstanceCapacity (InternalError when no DWFM
// host answered at all).
func (c *Core) Place(p *Placing) (string, []*Instance, error) {
	if len(p.placements) < p.spec.MinCount || len(p.placements) == 0 {
		where := "the Availability Zone you requested (" + p.zones[0].Name + ")"
		if p.spec.Zone == "" && p.spec.ZoneID == "" {
			where = "any Availability Zone"
		}
		if p.unreachable == len(p.zones) {
			return "", nil, apiErr(CodeInternalError, "An internal error has occurred")
		}
		return "", nil, apiErr(CodeInsufficientCapacity, "We currently do not have sufficient %s capacity in %s. Our system will be working on provisioning additional capacity.", p.spec.InstanceType, where)
	}
	rid, insts := c.Launch(p.spec, p.placements)
	return rid, insts, nil
}

// Launch creates one reservation with an instance per placement.
func (c *Core) Launch(spec LaunchSpec, placements []Placement) (string, []*Instance) {
	now := c.clock.Now()
	rid := "r-" + c.hex(17)
	out := make([]*Instance, 0, len(placements))
	for i, p := range placements {
		id := "i-" + c.hex(17)
		for c.instances[id] != nil {
			id = "i-" + c.hex(17)
		}
		inst := &Instance{
			ID: id, ReservationID: rid, ImageID: spec.ImageID, InstanceType: spec.InstanceType, KeyName: spec.KeyName,
			Zone: p.Zone, ZoneID: p.ZoneID, Droplet: p.Droplet, LaunchTime: now, stateAt: now, LaunchIndex: i,
			PrivateIP: fmt.Sprintf("10.%d.%d.%d", 1+c.rng.Intn(3), c.rng.Intn(256), 1+c.rng.Intn(254)),
			Tags:      append([]Tag(nil), spec.Tags...),
		}
		c.instances[id] = inst
		c.order = append(c.order, inst)
		out = append(out, inst)
	}
	return rid, out
}

// State is the instance's state now.
func (c *Core) State(in *Instance) string {
	el := c.clock.Now().Sub(in.stateAt)
	if in.terminated {
		if el < c.cfg.ShutdownTime {
			return StateShuttingDown
		}
		return StateTerminated
	}
	if el < c.cfg.BootTime {
		return StatePending
	}
	return StateRunning
}

// Get returns an instance by id.
func (c *Core) Get(id string) (*Instance, bool) {
	in, ok := c.instances[id]
	return in, ok
}

// Instances lists every instance in launch order.
func (c *Core) Instances() []*Instance { return c.order }

// checkIDs validates instance ids: malformed first, then unknown.
func (c *Core) checkIDs(ids []string) error {
	var missing []string
	for _, id := range ids {
		if !ValidInstanceID(id) {
			return apiErr(CodeInstanceMalformed, "Invalid id: %q (expecting \"i-...\")", id)
		}
		if _, ok := c.instances[id]; !ok {
			missing = append(missing, id)
		}
	}
	switch len(missing) {
	case 0:
		return nil
	case 1:
		return apiErr(CodeInstanceNotFound, "The instance ID '%s' does not exist", missing[0])
	}
	return apiErr(CodeInstanceNotFound, "The instance IDs '%s' do not exist", strings.Join(missing, ", "))
}

// ValidInstanceID reports whether id has EC2's instance id form: "i-"
// followed by 8 or 17 lowercase hex digits.
func ValidInstanceID(id string) bool {
	h, ok := strings.CutPrefix(id, "i-")
	if !ok || (len(h) != 8 && len(h) != 17) {
		return false
	}
	for _, r := range h {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f') {
			return false
		}
	}
	return true
}

var filterNames = []string{"availability-zone", "availability-zone-id", "image-id", "instance-id", "instance-state-name",
	"instance-state-code", "instance-type", "reservation-id", "tag-key", "tag:<key>"}

// Describe returns the instances that ids (all if empty) and filters select,
// a page of at most maxResults (0: all) after token, and the next token.
func (c *Core) Describe(ids []string, filters []Filter, maxResults int, token string) ([]*Instance, string, error) {
	if len(ids) > 0 && maxResults > 0 {
		return nil, "", apiErr(CodeInvalidParameterCombo, "The parameter instancesSet cannot be used with the parameter maxResults")
	}
	if maxResults != 0 && (maxResults < 5 || maxResults > 1000) {
		return nil, "", apiErr(CodeInvalidParameterValue, "Value ( %d ) for parameter maxResults is invalid. Expecting a value between 5 and 1000.", maxResults)
	}
	for _, f := range filters {
		if !knownFilter(f.Name) {
			return nil, "", apiErr(CodeInvalidParameterValue, "The filter '%s' is invalid; valid filters are %s", f.Name, strings.Join(filterNames, ", "))
		}
	}
	if err := c.checkIDs(ids); err != nil {
		return nil, "", err
	}
	start := 0
	if token != "" {
		n, err := decodeToken(token)
		if err != nil || n > len(c.order) {
			return nil, "", apiErr(CodeInvalidPaginationToken, "Invalid pagination token: %q", token)
		}
		start = n
	}
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	var out []*Instance
	for i := start; i < len(c.order); i++ {
		in := c.order[i]
		if len(want) > 0 && !want[in.ID] {
			continue
		}
		if !c.matches(in, filters) {
			continue
		}
		if maxResults > 0 && len(out) == maxResults {
			return out, encodeToken(i), nil
		}
		out = append(out, in)
	}
	return out, "", nil
}

func knownFilter(name string) bool {
	if strings.HasPrefix(name, "tag:") && len(name) > 4 {
		return true
	}
	for _, n := range filterNames {
		if n == name {
			return true
		}
	}
	return false
}

func (c *Core) matches(in *Instance, filters []Filter) bool {
	for _, f := range filters {
		var vals []string
		switch {
		case f.Name == "availability-zone":
			vals = []string{in.Zone}
		case f.Name == "availability-zone-id":
			vals = []string{in.ZoneID}
		case f.Name == "image-id":
			vals = []string{in.ImageID}
		case f.Name == "instance-id":
			vals = []string{in.ID}
		case f.Name == "instance-state-name":
			vals = []string{c.State(in)}
		case f.Name == "instance-state-code":
			vals = []string{strconv.Itoa(StateCode(c.State(in)))}
		case f.Name == "instance-type":
			vals = []string{in.InstanceType}
		case f.Name == "reservation-id":
			vals = []string{in.ReservationID}
		case f.Name == "tag-key":
			for _, t := range in.Tags {
				vals = append(vals, t.Key)
			}
		case strings.HasPrefix(f.Name, "tag:"):
			for _, t := range in.Tags {
				if t.Key == f.Name[4:] {
					vals = append(vals, t.Value)
				}
			}
		}
		if !anyMatch(f.Values, vals) {
			return false
		}
	}
	return true
}

func anyMatch(patterns, vals []string) bool {
	for _, p := range patterns {
		for _, v := range vals {
			if glob(p, v) {
				return true
			}
		}
	}
	return false
}

// glob matches EC2 filter wildcards: * any run, ? one character.
func glob(p, s string) bool {
	for len(p) > 0 {
		switch p[0] {
		case '*':
			for i := len(s); i >= 0; i-- {
				if glob(p[1:], s[i:]) {
					return true
				}
			}
			return false
		case '?':
			if len(s) == 0 {
				return false
			}
			p, s = p[1:], s[1:]
		default:
			if len(s) == 0 || s[0] != p[0] {
				return false
			}
			p, s = p[1:], s[1:]
		}
	}
	return len(s) == 0
}

func encodeToken(n int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("o:" + strconv.Itoa(n)))
}

func decodeToken(t string) (int, error) {
	b, err := base64.RawURLEncoding.DecodeString(t)
	if err != nil {
		return 0, err
	}
	s, ok := strings.CutPrefix(string(b), "o:")
	if !ok {
		return 0, fmt.Errorf("bad token")
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("bad token")
	}
	return n, nil
}

// StateChange is one instance's transition in TerminateInstances.
type StateChange struct {
	ID       string
	Previous string
	Current  string
}

// Terminate terminates instances; terminating a terminated one is a no-op.
func (c *Core) Terminate(ids []string) ([]StateChange, error) {
	if len(ids) == 0 {
		return nil, apiErr(CodeMissingParameter, "The request must contain the parameter InstanceId")
	}
	if err := c.checkIDs(ids); err != nil {
		return nil, err
	}
	now := c.clock.Now()
	out := make([]StateChange, 0, len(ids))
	for _, id := range ids {
		in := c.instances[id]
		prev := c.State(in)
		if !in.terminated {
			in.terminated = true
			in.stateAt = now
		}
		if prev != StateShuttingDown && prev != StateTerminated {
			c.deletes = append(c.deletes, id)
		}
		out = append(out, StateChange{ID: id, Previous: prev, Current: c.State(in)})
	}
	return out, nil
}

// NetInstance is an instance as Network Manager knows it.
type NetInstance struct{ ID, ZoneID string }

// NetRound is one round of EC2's exchange with Network Manager, as data for
// the transport to carry out and answer with NetRoundDone:
//
//	Register  hand the instance's network state over (POST /v1/instances)
//	Poll      ask whether its state has propagated (GET /v1/instances/{id})
//	Delete    report a termination (DELETE /v1/instances/{id})
type NetRound struct {
	Register, Poll []NetInstance
	Delete         []string
}

// NetResult is Network Manager's answers to a NetRound.
type NetResult struct {
	// Registered were accepted (or already known); Propagated have
	// connectivity; Undelivered are terminations to report again.
	Registered, Propagated, Undelivered []string
}

// Connection is an instance whose network state propagated in a round.
type Connection struct {
	ID, ZoneID string
	After      time.Duration // since its launch
}

// NetRound returns the round to carry out now: live instances not handed
// off, handed off and not propagated (HandoffBatch of each), and every
// termination not yet reported (which NetRoundDone takes back if
// undelivered).
func (c *Core) NetRound() NetRound {
	var r NetRound
	for _, in := range c.order {
		if in.terminated {
			continue
		}
		switch {
		case !in.HandedOff && len(r.Register) < c.cfg.HandoffBatch:
			r.Register = append(r.Register, NetInstance{in.ID, in.ZoneID})
		case in.HandedOff && !in.Propagated && len(r.Poll) < c.cfg.HandoffBatch:
			r.Poll = append(r.Poll, NetInstance{in.ID, in.ZoneID})
		}
	}
	r.Delete, c.deletes = c.deletes, nil
	return r
}

// NetRoundDone takes a round's answers: it marks hand-offs and propagation
// (each newly connected instance owes its setup work) and returns the newly
// connected instances.
func (c *Core) NetRoundDone(res NetResult) []Connection {
	for _, id := range res.Registered {
		if in, ok := c.instances[id]; ok {
			in.HandedOff = true
		}
	}
	var conns []Connection
	now := c.clock.Now()
	for _, id := range res.Propagated {
		if in, ok := c.instances[id]; ok && !in.Propagated {
			in.Propagated = true
			conns = append(conns, Connection{ID: id, ZoneID: in.ZoneID, After: now.Sub(in.LaunchTime)})
		}
	}
	c.Connected(len(conns))
	c.deletes = append(c.deletes, res.Undelivered...)
	return conns
}

// HandoffsPending counts live instances whose network state Network Manager
// has not accepted yet.
func (c *Core) HandoffsPending() int {
	n := 0
	for _, in := range c.order {
		if !in.terminated && !in.HandedOff {
			n++
		}
	}
	return n
}

// Connectivity counts live instances by whether their network state has
// propagated.
func (c *Core) Connectivity() (propagated, pending int) {
	for _, in := range c.order {
		if in.terminated {
			continue
		}
		if in.Propagated {
			propagated++
		} else {
			pending++
		}
	}
	return
}

// truncate shortens a caller's value quoted in an error message.
func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}
