package ec2

import (
	"slices"
	"testing"
	"time"
)

// fakeHosts answers Placing's asks per zone id from a script of answers
// (then NoCapacity), and records the zones asked.
type fakeHosts struct {
	script map[string][]Allocation
	asked  []string
}

func (f *fakeHosts) place(p *Placing) {
	for z, ok := p.Next(); ok; z, ok = p.Next() {
		f.asked = append(f.asked, z.ID)
		a := NoCapacity
		if s := f.script[z.ID]; len(s) > 0 {
			a, f.script[z.ID] = s[0], s[1:]
		}
		p.Answer(a, "d-"+z.ID)
	}
}

func threeZones() []Zone {
	zs := DefaultZones()
	for i := range zs {
		zs[i].DWFM = "http://dwfm-" + zs[i].ID
	}
	return zs
}

// A launch in a named zone takes droplets from that zone's host up to
// MaxCount, and stops asking once the host has none left.
func TestPlacementInNamedZone(t *testing.T) {
	c, _ := newTestCore(CoreConfig{Zones: threeZones()})
	p, err := c.StartRun(LaunchSpec{ZoneID: "use1-az2", MinCount: 2, MaxCount: 3})
	if err != nil {
		t.Fatal(err)
	}
	h := &fakeHosts{script: map[string][]Allocation{"use1-az2": {Allocated, Allocated}}}
	h.place(p)
	_, insts, err := c.Place(p)
	if err != nil || len(insts) != 2 || !slices.Equal(h.asked, []string{"use1-az2", "use1-az2", "use1-az2"}) {
		t.Fatalf("placed %d (%v) after asking %v; want 2 in use1-az2 after 3 asks", len(insts), err, h.asked)
	}
	if _, err := c.StartRun(LaunchSpec{Zone: "eu-west-1a", MinCount: 1, MaxCount: 1}); apiCode(err) != CodeInvalidParameterValue {
		t.Fatalf("unknown zone: %v; want %s", err, CodeInvalidParameterValue)
	}
}

// One reservation lives in one zone: droplets from a zone that cannot give
// MinCount are not kept when the next zone is tried; with no zone able to,
// the launch fails with InsufficientInstanceCapacity, and with no host
// answering at all with InternalError.
func TestPlacementOneZonePerReservation(t *testing.T) {
	c, _ := newTestCore(CoreConfig{Zones: threeZones()})
	p, _ := c.StartRun(LaunchSpec{MinCount: 2, MaxCount: 2})
	h := &fakeHosts{script: map[string][]Allocation{"use1-az1": {Allocated}, "use1-az2": {Allocated}, "use1-az3": {Allocated, Allocated}}}
	h.place(p)
	_, insts, err := c.Place(p)
	if err != nil || len(insts) != 2 || insts[0].ZoneID != "use1-az3" || insts[1].ZoneID != "use1-az3" {
		t.Fatalf("placed %v (%v); want both in use1-az3, the one zone with 2 droplets", insts, err)
	}

	p, _ = c.StartRun(LaunchSpec{MinCount: 2, MaxCount: 2, InstanceType: "m5.large"})
	h = &fakeHosts{script: map[string][]Allocation{"use1-az1": {Allocated}, "use1-az2": {Unreachable}}}
	h.place(p)
	if _, _, err := c.Place(p); apiCode(err) != CodeInsufficientCapacity {
		t.Fatalf("no zone with 2 droplets: %v; want %s", err, CodeInsufficientCapacity)
	}

	p, _ = c.StartRun(LaunchSpec{MinCount: 1, MaxCount: 1})
	h = &fakeHosts{script: map[string][]Allocation{"use1-az1": {Unreachable}, "use1-az2": {Unreachable}, "use1-az3": {Unreachable}}}
	h.place(p)
	if _, _, err := c.Place(p); apiCode(err) != CodeInternalError || len(h.asked) != 3 {
		t.Fatalf("no host answering: %v after %d asks; want %s after 3", err, len(h.asked), CodeInternalError)
	}
}

// A zone without a DWFM host has no droplets to ask for.
func TestPlacementSkipsZonesWithoutHost(t *testing.T) {
	c, _ := newTestCore(CoreConfig{}) // DefaultZones: no hosts
	p, _ := c.StartRun(LaunchSpec{MinCount: 1, MaxCount: 1})
	if z, ok := p.Next(); ok {
		t.Fatalf("asked %v; want no ask", z)
	}
	if _, _, err := c.Place(p); apiCode(err) != CodeInsufficientCapacity {
		t.Fatalf("%v; want %s", err, CodeInsufficientCapacity)
	}
}

// The throttle comes before placement: a refused call asks no host.
func TestPlacementThrottledFirst(t *testing.T) {
	c, _ := newTestCore(CoreConfig{Zones: threeZones(), RunPerMinute: 1, RunBurst: 1})
	if _, err := c.StartRun(LaunchSpec{MinCount: 1, MaxCount: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.StartRun(LaunchSpec{MinCount: 1, MaxCount: 1}); apiCode(err) != CodeRequestLimitExceeded {
		t.Fatalf("%v; want %s", err, CodeRequestLimitExceeded)
	}
}

// The hand-off: a new instance is registered until Network Manager accepts
// it, then polled until its state propagated; it connects once (owing its
// setup work); a termination is reported until delivered; terminated
// instances are neither registered nor polled.
func TestNetRoundHandOff(t *testing.T) {
	c, clock := newTestCore(CoreConfig{SetupWork: 10})
	pl := []Placement{{Zone: "us-east-1a", ZoneID: "use1-az1", Droplet: "d-1"}, {Zone: "us-east-1a", ZoneID: "use1-az1", Droplet: "d-2"}}
	_, insts := c.Launch(LaunchSpec{}, pl)
	a, b := insts[0].ID, insts[1].ID
	r := c.NetRound()
	if len(r.Register) != 2 || len(r.Poll) != 0 || c.HandoffsPending() != 2 {
		t.Fatalf("first round %+v; want both registered, none polled", r)
	}
	c.NetRoundDone(NetResult{Registered: []string{a}}) // b's hand-off was refused
	r = c.NetRound()
	if len(r.Register) != 1 || r.Register[0].ID != b || len(r.Poll) != 1 || r.Poll[0].ID != a {
		t.Fatalf("second round %+v; want b registered again, a polled", r)
	}
	clock.Advance(3 * time.Minute)
	conns := c.NetRoundDone(NetResult{Registered: []string{b}, Propagated: []string{a}})
	if len(conns) != 1 || conns[0].ID != a || conns[0].After != 3*time.Minute {
		t.Fatalf("connections %+v; want a after 3m", conns)
	}
	if n := c.TakeSetup(); n != 10 {
		t.Fatalf("setup owed %d; want 10 for the one connected instance", n)
	}
	c.SetupDone(10)
	if conns := c.NetRoundDone(NetResult{Propagated: []string{a}}); len(conns) != 0 || c.TakeSetup() != 0 {
		t.Fatalf("a connected twice: %+v", conns)
	}
	if p, u := c.Connectivity(); p != 1 || u != 1 || c.HandoffsPending() != 0 {
		t.Fatalf("connectivity %d/%d pending %d; want 1/1, 0", p, u, c.HandoffsPending())
	}
	if _, err := c.Terminate([]string{b}); err != nil {
		t.Fatal(err)
	}
	r = c.NetRound()
	if len(r.Register)+len(r.Poll) != 0 || !slices.Equal(r.Delete, []string{b}) {
		t.Fatalf("round after terminating b %+v; want only its termination", r)
	}
	c.NetRoundDone(NetResult{Undelivered: r.Delete})
	if r = c.NetRound(); !slices.Equal(r.Delete, []string{b}) {
		t.Fatalf("undelivered termination not reported again: %+v", r)
	}
	c.NetRoundDone(NetResult{})
	if _, err := c.Terminate([]string{b}); err != nil {
		t.Fatal(err)
	}
	if r = c.NetRound(); len(r.Delete) != 0 {
		t.Fatalf("terminating twice reported again: %+v", r)
	}
}

// A round carries at most HandoffBatch hand-offs.
func TestNetRoundBatch(t *testing.T) {
	c, _ := newTestCore(CoreConfig{HandoffBatch: 3})
	pl := make([]Placement, 5)
	c.Launch(LaunchSpec{}, pl)
	if r := c.NetRound(); len(r.Register) != 3 {
		t.Fatalf("registered %d; want 3", len(r.Register))
	}
}
