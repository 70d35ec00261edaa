package nlb

import (
	"errors"
	"fmt"
	"math/rand"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/cascade-lab/cascade/mocks/kit"
)

func newCore(t *testing.T, cfg CoreConfig) (*Core, *clockwork.FakeClock) {
	t.Helper()
	clock := clockwork.NewFakeClockAt(kit.IncidentStart)
	c, err := NewCore(cfg, clock, rand.New(rand.NewSource(3)))
	if err != nil {
		t.Fatal(err)
	}
	return c, clock
}

// drive runs the core for d in 15 s steps, answering every check with
// answer, and returns every Ready merged.
func drive(c *Core, clock *clockwork.FakeClock, d time.Duration, answer func(Check) bool) Ready {
	var all Ready
	for end := clock.Now().Add(d); clock.Now().Before(end); {
		clock.Advance(15 * time.Second)
		r := c.Tick(clock.Now())
		for _, ch := range r.Checks {
			c.Result(ch, answer(ch))
		}
		all.Checks = append(all.Checks, r.Checks...)
		all.Flaps = append(all.Flaps, r.Flaps...)
		all.Failovers = append(all.Failovers, r.Failovers...)
		all.Entered = append(all.Entered, r.Entered...)
		all.NeedPropagation = append(all.NeedPropagation, r.NeedPropagation...)
		all.Late += r.Late
	}
	return all
}

func pass(Check) bool { return true }
func fail(Check) bool { return false }

func registerN(t *testing.T, c *Core, perAZ int) {
	t.Helper()
	for i := range perAZ * len(c.Config().AZs) {
		if err := c.RegisterTarget(fmt.Sprintf("i-%02d", i), c.Config().AZs[i%len(c.Config().AZs)]); err != nil {
			t.Fatal(err)
		}
	}
}

func TestAsWasTargetEntersServiceAtRegistration(t *testing.T) {
	c, _ := newCore(t, CoreConfig{})
	_ = c.RegisterTarget("i-1", "use1-az1")
	if st := c.State(true); !st.Targets[0].InService || !st.Targets[0].Healthy {
		t.Fatalf("as-was target not in service at registration: %+v", st.Targets[0])
	}
}

func TestGatedTargetEntersServiceOnlyAfterPropagation(t *testing.T) {
	c, clock := newCore(t, CoreConfig{PropagationGate: true})
	_ = c.RegisterTarget("i-1", "use1-az1")
	r := drive(c, clock, 10*time.Minute, pass)
	if c.State(true).Targets[0].InService || len(r.Checks) != 0 {
		t.Fatal("gated target in service (or checked) before propagation")
	}
	if len(r.NeedPropagation) < 3 {
		t.Fatalf("asked about propagation %d times in 10 minutes, want it polled", len(r.NeedPropagation))
	}
	_ = c.MarkPropagated("i-1")
	r = drive(c, clock, 10*time.Minute, pass)
	if !c.State(true).Targets[0].InService || len(r.Entered) != 1 || len(r.Checks) == 0 {
		t.Fatalf("gated target not in service after propagation: %+v", c.State(true).Targets[0])
	}
}

// Velocity control (fixed mode, what AWS announced) does not gate entry on
// propagation: that is PropagationGate's, a separate option.
func TestFixedModeAloneDoesNotGateOnPropagation(t *testing.T) {
	c, clock := newCore(t, CoreConfig{Mode: kit.Fixed})
	_ = c.RegisterTarget("i-1", "use1-az1")
	r := drive(c, clock, 10*time.Minute, pass)
	if !c.State(true).Targets[0].InService || len(r.NeedPropagation) != 0 {
		t.Fatalf("fixed (velocity only) target: in service %v, asked about propagation %d times; want in service at once, never asked",
			c.State(true).Targets[0].InService, len(r.NeedPropagation))
	}
}

func TestThresholdsTurnHealth(t *testing.T) {
	c, _ := newCore(t, CoreConfig{HealthyThreshold: 3, UnhealthyThreshold: 2})
	_ = c.RegisterTarget("i-1", "use1-az1")
	ch := Check{Target: "i-1", Node: "use1-az1"}
	steps := []struct {
		ok      bool
		healthy bool
	}{{false, true}, {false, false}, {true, false}, {true, false}, {false, false}, {true, false}, {true, false}, {true, true}}
	for i, s := range steps {
		c.Result(ch, s.ok)
		if got := c.State(true).Targets[0].Healthy; got != s.healthy {
			t.Fatalf("after result %d (%v): healthy %v, want %v", i, s.ok, got, s.healthy)
		}
	}
	if f := c.State(false).Flaps; f != 2 {
		t.Fatalf("flaps %d, want 2", f)
	}
}

func TestAsWasFailoverRemovesAllButOneAZAtOnce(t *testing.T) {
	c, clock := newCore(t, CoreConfig{})
	registerN(t, c, 2)
	r := drive(c, clock, 20*time.Minute, fail)
	st := c.State(false)
	if len(st.AZsInDNS) != 1 || st.MaxRemovedPerWindow < 0.66 {
		t.Fatalf("as-was: AZs in DNS %v, max removed per window %.2f: want all but one removed", st.AZsInDNS, st.MaxRemovedPerWindow)
	}
	if len(r.Failovers) != 2 || !r.Failovers[0].Removed {
		t.Fatalf("failovers %+v", r.Failovers)
	}
}

func TestFixedVelocityControlCapsRemovalPerWindow(t *testing.T) {
	c, clock := newCore(t, CoreConfig{Mode: kit.Fixed, VelocityWindow: 30 * time.Minute})
	registerN(t, c, 2)
	for _, tgt := range c.State(true).Targets {
		_ = c.MarkPropagated(tgt.ID)
	}
	drive(c, clock, 25*time.Minute, fail)
	st := c.State(false)
	if len(st.AZsInDNS) != 2 || st.Suppressed == 0 {
		t.Fatalf("fixed after 25m: in DNS %v suppressed %d, want one AZ removed and the rest held back", st.AZsInDNS, st.Suppressed)
	}
	drive(c, clock, 20*time.Minute, fail)
	st = c.State(false)
	if len(st.AZsInDNS) != 1 {
		t.Fatalf("fixed after the window: in DNS %v, want a second AZ removed", st.AZsInDNS)
	}
	if st.MaxRemovedPerWindow > 0.34 {
		t.Fatalf("max removed per window %.2f > 0.34", st.MaxRemovedPerWindow)
	}
}

func TestDisablingFailoverRestoresAZsAndStopsRemovals(t *testing.T) {
	c, clock := newCore(t, CoreConfig{})
	registerN(t, c, 2)
	drive(c, clock, 10*time.Minute, fail)
	restored := c.SetFailover(false)
	if len(restored) != 2 || len(c.State(false).AZsInDNS) != 3 {
		t.Fatalf("disable restored %v, in DNS %v", restored, c.State(false).AZsInDNS)
	}
	r := drive(c, clock, time.Hour, fail)
	for _, f := range r.Failovers {
		if f.Removed {
			t.Fatalf("AZ removed while failover disabled: %+v", f)
		}
	}
	c.SetFailover(true)
	drive(c, clock, 5*time.Minute, fail)
	if len(c.State(false).AZsInDNS) != 1 {
		t.Fatal("re-enabled failover does not act")
	}
}

func TestRemovedAZReturnsWhenHealthy(t *testing.T) {
	c, clock := newCore(t, CoreConfig{})
	registerN(t, c, 2)
	drive(c, clock, 10*time.Minute, fail)
	drive(c, clock, 20*time.Minute, pass)
	if st := c.State(false); len(st.AZsInDNS) != 3 || st.Restores != st.Removals || st.Restores < 2 {
		t.Fatalf("in DNS %v removals %d restores %d, want every AZ back", st.AZsInDNS, st.Removals, st.Restores)
	}
}

func TestBoundedCheckerCapacityMakesChecksLate(t *testing.T) {
	c, clock := newCore(t, CoreConfig{CheckCapacity: 10})
	registerN(t, c, 10) // 30 targets, 10 checks per node per interval
	r := drive(c, clock, time.Hour, pass)
	if r.Late == 0 {
		t.Fatal("no late checks with 30 targets and capacity 10")
	}
	c2, clock2 := newCore(t, CoreConfig{CheckCapacity: 100})
	registerN(t, c2, 10)
	if r := drive(c2, clock2, time.Hour, pass); r.Late != 0 || c2.State(false).Flaps != 0 {
		t.Fatalf("late %d flaps %d with ample capacity", r.Late, c2.State(false).Flaps)
	}
}

// partial answers as Network Manager does for a target whose state reached
// only the first node.
func partial(ch Check) bool { return ch.Node == "use1-az1" }

func TestFlappingLoadsTheChecker(t *testing.T) {
	run := func(rechecks int) (int, int64) {
		c, clock := newCore(t, CoreConfig{CheckCapacity: 36, CheckTimeout: 2 * time.Minute, RechecksPerFlap: rechecks})
		registerN(t, c, 10)
		r := drive(c, clock, 2*time.Hour, partial)
		return r.Late, c.State(false).Flaps
	}
	late, flaps := run(2)
	if flaps == 0 || late == 0 {
		t.Fatalf("with re-checks: flaps %d late %d, want the flapping to overload the checker", flaps, late)
	}
	lateNo, flapsNo := run(-1)
	if lateNo != 0 || flapsNo == 0 {
		t.Fatalf("without re-checks: flaps %d late %d, want flapping but no late checks", flapsNo, lateNo)
	}
}

func TestRoutePicksHealthyTargetInDNS(t *testing.T) {
	c, clock := newCore(t, CoreConfig{})
	if _, err := c.Route(); !errors.Is(err, ErrNoTarget) {
		t.Fatalf("route with no targets: %v", err)
	}
	registerN(t, c, 2)
	_ = c.RegisterTarget("i-bad", "use1-az1")
	drive(c, clock, 10*time.Minute, func(ch Check) bool { return ch.Target != "i-bad" })
	for range 100 {
		rt, err := c.Route()
		if err != nil || rt.Target == "i-bad" {
			t.Fatalf("route %+v %v: want a healthy target", rt, err)
		}
	}
}

func TestBadTargetInput(t *testing.T) {
	c, _ := newCore(t, CoreConfig{})
	if err := c.RegisterTarget("i-1", "mars"); !errors.Is(err, ErrUnknownAZ) {
		t.Errorf("unknown az: %v", err)
	}
	if err := c.RegisterTarget("", "use1-az1"); !errors.Is(err, ErrInvalid) {
		t.Errorf("empty id: %v", err)
	}
	if err := c.DeregisterTarget("i-none"); !errors.Is(err, ErrUnknownTarget) {
		t.Errorf("unknown target: %v", err)
	}
	if err := c.MarkPropagated("i-none"); !errors.Is(err, ErrUnknownTarget) {
		t.Errorf("unknown target: %v", err)
	}
	c.Result(Check{Target: "i-none", Node: "use1-az1"}, true) // ignored, no panic
	for _, cfg := range []CoreConfig{{FailoverThreshold: 2}, {RestoreThreshold: 0.5, FailoverThreshold: 0.3}, {AZs: []string{"a", "a"}}, {Mode: "sideways"}} {
		if _, err := NewCore(cfg, clockwork.NewFakeClock(), nil); err == nil {
			t.Errorf("config %+v accepted", cfg)
		}
	}
}
