package ec2

import (
	"encoding/base64"
	"fmt"
	"math"
	"math/rand"
	"sort"
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
}

// Core holds the instances and the RunInstances throttle. Not safe for
// concurrent use.
type Core struct {
	cfg       CoreConfig
	clock     kit.Clock
	rng       *rand.Rand
	instances map[string]*Instance
	order     []*Instance // launch order, for stable paging
	tokens    float64
	last      time.Time
	setup     setupOwed
}

// setupOwed is what EC2 owes Network Manager in setup work: items owed,
// items in the post in flight, the backoff of a refused remainder.
type setupOwed struct {
	owed, inFlight  int
	posted, refused uint64
	backoff         time.Duration
	notBefore       time.Time
}

// SetupWorkKind is the kind of the setup work EC2 posts (POST /v1/work).
const SetupWorkKind = "instance-setup"

// Connected records that n instances' own state reached every location:
// each now owes SetupWork items of setup work (the rest of its network,
// pushed to the hosts it talks to). Owing it only then keeps an instance's
// own propagation from waiting behind its own setup work.
func (c *Core) Connected(n int) { c.setup.owed += n * c.cfg.SetupWork }

// TakeSetup returns the setup items to post now (0: none) and counts them in
// flight until SetupDone; a refused remainder waits out its backoff.
func (c *Core) TakeSetup() int {
	s := &c.setup
	if s.inFlight > 0 || s.owed == 0 || c.clock.Now().Before(s.notBefore) {
		return 0
	}
	s.inFlight, s.owed = s.owed, 0
	return s.inFlight
}

// SetupDone takes how many of the items in flight Network Manager admitted;
// the rest is owed again after a backoff that doubles while posts fall short.
func (c *Core) SetupDone(admitted int) {
	s := &c.setup
	admitted = max(0, min(admitted, s.inFlight))
	rest := s.inFlight - admitted
	s.inFlight = 0
	s.posted += uint64(admitted)
	if rest == 0 {
		s.backoff, s.notBefore = 0, time.Time{}
		return
	}
	s.refused += uint64(rest)
	s.owed += rest
	base := max(c.cfg.SetupBackoff, time.Second)
	s.backoff = min(max(2*s.backoff, base), 16*base)
	s.notBefore = c.clock.Now().Add(s.backoff)
}

// SetupStats are the setup work's counters: owed (in flight included),
// admitted, refused.
func (c *Core) SetupStats() (owed int, posted, refused uint64) {
	return c.setup.owed + c.setup.inFlight, c.setup.posted, c.setup.refused
}

// NewCore returns an empty EC2.
func NewCore(cfg CoreConfig, clock kit.Clock, rng *rand.Rand) *Core {
	if cfg.BootTime <= 0 {
		cfg.BootTime = time.Minute
	}
	if cfg.ShutdownTime <= 0 {
		cfg.ShutdownTime = time.Minute
	}
	c := &Core{cfg: cfg, clock: clock, rng: rng, instances: map[string]*Instance{}}
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
		out = append(out, StateChange{ID: id, Previous: prev, Current: c.State(in)})
	}
	return out, nil
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

// sortedIndices returns the keys of m in ascending order.
func sortedIndices[V any](m map[int]V) []int {
	ks := make([]int, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Ints(ks)
	return ks
}
