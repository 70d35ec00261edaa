package nlb

import (
	"fmt"
	"math/rand"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/cascade-lab/cascade/mocks/kit"
	"github.com/cascade-lab/cascade/mocks/netmgr"
)

var pdt = time.FixedZone("PDT", -7*3600)

func at(h, m int) time.Time { return time.Date(2025, 10, 20, h, m, 0, 0, pdt) }

// scenario couples a Network Manager core and an NLB core on one fake clock,
// the way the stack couples the services over HTTP: bulk re-lease work from
// the DWFM recovery, new instances launched into the target group, health
// checks answered by Network Manager's reachability, and the operators'
// failover switch. Nothing in it looks at the incident: the flapping and the
// failovers come out of the two mechanisms.
type scenario struct {
	mode          kit.Mode
	fanout        func(*rand.Rand, []string) [][]string
	rechecks      int
	oldPerAZ      int
	launches      int
	launchEvery   time.Duration
	releaseRate   int // bulk items per minute while DWFM re-leases (2:25-5:28)
	churnRate     int // bulk items per minute of launch/terminate churn afterwards (5:28-10:00)
	operatorSteps bool
	velocityOff   bool
	velocityOnly  bool // as-was entry, fixed velocity control
	trace         func(string, ...any)
}

type outcome struct {
	flaps, removals, late, dnsChanges int64
	maxOut, maxWindow                 float64
	removedAfterDisable               int
	enteredUnpropagated               int
	maxDepth                          int
	maxNewDelay                       time.Duration
	latencyHighFrom, latencyHighTo    time.Time
	failedRoutes, routes              int
	firstRemoval, lastRemoval         time.Time
	lastFlap                          time.Time
}

func defaultScenario(mode kit.Mode) scenario {
	return scenario{mode: mode, oldPerAZ: 6, launches: 15, launchEvery: 8 * time.Minute,
		releaseRate: 150, churnRate: 100, operatorSteps: true}
}

func (sc scenario) run(t testing.TB) outcome {
	t.Helper()
	clock := clockwork.NewFakeClockAt(at(2, 0))
	nm, err := netmgr.NewCore(netmgr.CoreConfig{Mode: sc.mode, Fanout: sc.fanout}, clock, rand.New(rand.NewSource(7)))
	if err != nil {
		t.Fatal(err)
	}
	cfg := CoreConfig{Mode: sc.mode, PropagationGate: sc.mode.IsFixed() && !sc.velocityOnly, RechecksPerFlap: sc.rechecks}
	if sc.velocityOff {
		cfg.MaxRemovedFraction = 1
	}
	lb, err := NewCore(cfg, clock, rand.New(rand.NewSource(11)))
	if err != nil {
		t.Fatal(err)
	}
	if sc.velocityOnly {
		lb.allowRemove = lb.velocityControl // as-was entry, fixed velocity control, whatever the mode
	}
	azs := lb.Config().AZs
	var o outcome
	register := func(id, az string) {
		if _, err := nm.RegisterInstance(id, az); err != nil {
			t.Fatal(err)
		}
		if err := lb.RegisterTarget(id, az); err != nil {
			t.Fatal(err)
		}
	}
	for i := range sc.oldPerAZ * len(azs) {
		register(fmt.Sprintf("i-old%02d", i), azs[i%len(azs)])
	}
	step := 15 * time.Second
	owed := 0 // bulk work refused by admission control, retried by its sender
	launched := 0
	nextLaunch := at(5, 28)
	disabled := false
	for now := clock.Now(); now.Before(at(14, 30)); now = clock.Now() {
		// the work arriving from the rest of the stack
		perStep := 0
		switch {
		case !now.Before(at(2, 25)) && now.Before(at(5, 28)):
			perStep = sc.releaseRate / 4
		case !now.Before(at(5, 28)) && now.Before(at(10, 0)):
			perStep = sc.churnRate / 4
		}
		if want := perStep + owed; want > 0 {
			n, _ := nm.AddWork("droplet-relet", want)
			owed = want - n
		}
		if launched < sc.launches && !now.Before(nextLaunch) {
			id := fmt.Sprintf("i-new%02d", launched)
			register(id, azs[launched%len(azs)])
			launched++
			nextLaunch = nextLaunch.Add(sc.launchEvery)
		}
		if sc.operatorSteps && !disabled && !now.Before(at(9, 36)) {
			lb.SetFailover(false)
			disabled = true
		}
		if sc.operatorSteps && disabled && !now.Before(at(14, 9)) {
			lb.SetFailover(true)
			sc.operatorSteps = false
		}
		for _, p := range nm.Tick(now).Propagated {
			if p.ID[2:5] == "new" {
				o.maxNewDelay = max(o.maxNewDelay, p.Delay)
			}
		}
		st := nm.Stats()
		o.maxDepth = max(o.maxDepth, st.Depth)
		if st.HeadWait > 20*time.Minute {
			if o.latencyHighFrom.IsZero() {
				o.latencyHighFrom = now
			}
			o.latencyHighTo = now
		}
		r := lb.Tick(now)
		for _, id := range r.NeedPropagation {
			if ok, _ := nm.Reachable(id, ""); ok {
				_ = lb.MarkPropagated(id)
			}
		}
		for _, id := range r.Entered {
			if id[2:5] != "new" {
				continue
			}
			if ok, _ := nm.Reachable(id, ""); !ok {
				o.enteredUnpropagated++
			}
		}
		for _, ch := range r.Checks {
			ok, _ := nm.Reachable(ch.Target, ch.Node)
			lb.Result(ch, ok)
		}
		for _, f := range r.Failovers {
			if !f.Removed {
				continue
			}
			if o.firstRemoval.IsZero() {
				o.firstRemoval = now
			}
			o.lastRemoval = now
			if disabled && sc.operatorSteps {
				o.removedAfterDisable++
			}
		}
		if len(r.Flaps) > 0 {
			o.lastFlap = now
		}
		if rt, err := lb.Route(); err == nil {
			o.routes++
			if ok, _ := nm.Reachable(rt.Target, rt.Node); !ok {
				o.failedRoutes++
			}
		}
		if sc.trace != nil && now.Minute()%20 == 0 && now.Second() == 0 {
			s := lb.State(false)
			sc.trace("%s depth=%d wait=%.0fm flaps=%d late=%d dns=%v healthy=%d/%d q=%d,%d,%d",
				now.Format("15:04"), st.Depth, st.HeadWait.Minutes(), s.Flaps, s.LateChecks, s.AZsInDNS, s.HealthyCapacity, s.InService,
				s.AZs[0].QueuedChecks, s.AZs[1].QueuedChecks, s.AZs[2].QueuedChecks)
		}
		clock.Advance(step)
	}
	s := lb.State(false)
	o.flaps, o.removals, o.late, o.dnsChanges = s.Flaps, s.Removals, s.LateChecks, s.DNSChanges
	o.maxOut, o.maxWindow = s.MaxCapacityRemoved, s.MaxRemovedPerWindow
	return o
}

func (o outcome) String() string {
	return fmt.Sprintf("flaps=%d removals=%d late=%d dns=%d maxOut=%.2f maxWindow=%.2f afterDisable=%d enteredUnprop=%d maxDepth=%d maxNewDelay=%v latencyHigh=%s-%s routes=%d failed=%d removals=%s-%s lastFlap=%s",
		o.flaps, o.removals, o.late, o.dnsChanges, o.maxOut, o.maxWindow, o.removedAfterDisable, o.enteredUnpropagated,
		o.maxDepth, o.maxNewDelay, o.latencyHighFrom.Format("15:04"), o.latencyHighTo.Format("15:04"), o.routes, o.failedRoutes,
		o.firstRemoval.Format("15:04"), o.lastRemoval.Format("15:04"), o.lastFlap.Format("15:04"))
}

func TestScenarioPrint(t *testing.T) {
	for _, m := range []kit.Mode{kit.AsWas, kit.Fixed} {
		sc := defaultScenario(m)
		if testing.Verbose() {
			sc.trace = t.Logf
		}
		t.Logf("%s: %v", m, sc.run(t))
	}
}

func TestEmergentFlappingNeedsPerNodePropagation(t *testing.T) {
	sc := defaultScenario(kit.AsWas)
	with := sc.run(t)
	sc.fanout = netmgr.AllAtOnce
	without := sc.run(t)
	// a target that goes unreachable then reachable once changes health at
	// most twice; anything beyond that is flapping
	if with.flaps <= 10*int64(sc.launches) {
		t.Fatalf("per-node propagation: %d flaps for %d launches, want flapping", with.flaps, sc.launches)
	}
	if without.flaps > 2*int64(sc.launches) {
		t.Fatalf("all-at-once propagation: %d flaps for %d launches, want none beyond one down and one up", without.flaps, sc.launches)
	}
	if without.removals >= with.removals {
		t.Fatalf("removals with %d, without %d: the failovers should come from the flapping", with.removals, without.removals)
	}
}

func TestEmergentAsWasRemovesMoreThanVelocityLimit(t *testing.T) {
	o := defaultScenario(kit.AsWas).run(t)
	if o.enteredUnpropagated == 0 {
		t.Fatal("as-was: no target entered service before propagation")
	}
	if o.maxWindow <= 0.34 || o.maxOut < 0.66 {
		t.Fatalf("as-was: max removed per window %.2f, max out %.2f: want beyond the velocity limit", o.maxWindow, o.maxOut)
	}
	if o.maxNewDelay < time.Hour {
		t.Fatalf("as-was: new instances propagated within %v, want a backlog of hours", o.maxNewDelay)
	}
}

func TestEmergentFixedKeepsUnpropagatedOutAndRemovalUnderLimit(t *testing.T) {
	o := defaultScenario(kit.Fixed).run(t)
	if o.enteredUnpropagated != 0 {
		t.Fatalf("fixed: %d targets entered service before propagation", o.enteredUnpropagated)
	}
	if o.maxWindow > 0.34 {
		t.Fatalf("fixed: removed %.2f of the AZs within one window", o.maxWindow)
	}
	if o.maxNewDelay > 20*time.Minute || o.maxDepth > 700 {
		t.Fatalf("fixed: new-instance delay %v, peak depth %d: want bounded by admission control", o.maxNewDelay, o.maxDepth)
	}
}

func TestEmergentVelocityControlAloneCapsFlappingFailover(t *testing.T) {
	// as-was Network Manager and as-was entry, but the NLB's velocity
	// control on: the same flapping removes at most one AZ per window
	sc := defaultScenario(kit.AsWas)
	sc.velocityOnly = true
	o := sc.run(t)
	if o.flaps == 0 || o.maxWindow > 0.34 {
		t.Fatalf("velocity control only: flaps %d, max removed per window %.2f", o.flaps, o.maxWindow)
	}
}
