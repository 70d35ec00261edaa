package netmgr

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
	c, err := NewCore(cfg, clock, rand.New(rand.NewSource(1)))
	if err != nil {
		t.Fatal(err)
	}
	return c, clock
}

// advance moves the clock in steps, ticking the core, and returns what propagated.
func advance(c *Core, clock *clockwork.FakeClock, d, step time.Duration) []Propagation {
	var out []Propagation
	for end := clock.Now().Add(d); clock.Now().Before(end); {
		clock.Advance(step)
		out = append(out, c.Tick(clock.Now()).Propagated...)
	}
	return out
}

func TestPropagationReachesNodesOneHopAtATime(t *testing.T) {
	c, clock := newCore(t, CoreConfig{RatePerMinute: 60})
	if _, err := c.AddWork("droplet-relet", 600); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RegisterInstance("i-1", "use1-az1"); err != nil {
		t.Fatal(err)
	}
	reachedAt := map[string]time.Time{}
	for clock.Now().Before(kit.IncidentStart.Add(40 * time.Minute)) {
		clock.Advance(15 * time.Second)
		c.Tick(clock.Now())
		for _, n := range c.Config().Nodes {
			if ok, _ := c.Reachable("i-1", n); ok {
				if _, seen := reachedAt[n]; !seen {
					reachedAt[n] = clock.Now()
				}
			}
		}
	}
	if len(reachedAt) != 3 {
		t.Fatalf("reached %v, want all three nodes", reachedAt)
	}
	// first hop waits behind 600 items at 60/min (10 min); the second hop
	// re-enters an empty queue and follows within a second.
	first := kit.IncidentStart.Add(10 * time.Minute)
	for n, at := range reachedAt {
		if at.Before(first) || at.After(first.Add(time.Minute)) {
			t.Errorf("reached %s at %v, want about %v", n, at, first)
		}
	}
	if full, _ := c.Reachable("i-1", ""); !full {
		t.Errorf("instance not fully propagated")
	}
}

func TestHopsSpreadWhenWorkKeepsArriving(t *testing.T) {
	c, clock := newCore(t, CoreConfig{RatePerMinute: 100})
	if _, err := c.AddWork("droplet-relet", 3000); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RegisterInstance("i-1", "use1-az1"); err != nil {
		t.Fatal(err)
	}
	var partialFor time.Duration
	for range 4 * 120 { // 2 h in 15 s steps, 90 items/min arriving
		_, _ = c.AddWork("churn", 22)
		clock.Advance(15 * time.Second)
		c.Tick(clock.Now())
		reached := 0
		for _, n := range c.Config().Nodes {
			if ok, _ := c.Reachable("i-1", n); ok {
				reached++
			}
		}
		if reached > 0 && reached < 3 {
			partialFor += 15 * time.Second
		}
	}
	// each hop waits behind the work that arrived during the previous one
	if partialFor < 30*time.Minute {
		t.Fatalf("partially propagated for %v, want a long window (>= 30m) with work arriving", partialFor)
	}
}

func TestAllAtOnceFanoutHasNoPartialWindow(t *testing.T) {
	c, clock := newCore(t, CoreConfig{RatePerMinute: 100, Fanout: AllAtOnce})
	_, _ = c.AddWork("droplet-relet", 3000)
	_, _ = c.RegisterInstance("i-1", "use1-az1")
	for range 4 * 120 {
		_, _ = c.AddWork("churn", 22)
		clock.Advance(15 * time.Second)
		c.Tick(clock.Now())
		reached := 0
		for _, n := range c.Config().Nodes {
			if ok, _ := c.Reachable("i-1", n); ok {
				reached++
			}
		}
		if reached > 0 && reached < 3 {
			t.Fatalf("partially propagated at %v with AllAtOnce", clock.Now())
		}
	}
}

// backlog feeds bulk work above the drain rate for 3 h (retrying what
// admission refused, as the sender does) and launches an instance every 10
// minutes; it returns the peak depth and the worst new-instance delay.
func backlog(t *testing.T, mode kit.Mode) (int, time.Duration, int64) {
	c, clock := newCore(t, CoreConfig{Mode: mode, RatePerMinute: 120, QueueLimit: 600})
	owed, peak := 0, 0
	var worst time.Duration
	for i := range 4 * 180 {
		n, _ := c.AddWork("droplet-relet", 45+owed)
		owed = 45 + owed - n
		if i%40 == 0 {
			_, _ = c.RegisterInstance(fmt.Sprintf("i-%d", i), "use1-az1")
		}
		clock.Advance(15 * time.Second)
		for _, p := range c.Tick(clock.Now()).Propagated {
			worst = max(worst, p.Delay)
		}
		peak = max(peak, c.Stats().Depth)
	}
	return peak, worst, c.Stats().Rejected
}

func TestAsWasBacklogGrowsWithoutBound(t *testing.T) {
	peak, worst, rejected := backlog(t, kit.AsWas)
	if peak < 10000 || rejected != 0 {
		t.Fatalf("as-was peak depth %d rejected %d: want >= 10000 and nothing refused", peak, rejected)
	}
	if worst < 60*time.Minute {
		t.Fatalf("as-was worst propagation delay %v: want over an hour", worst)
	}
}

func TestFixedAdmissionBoundsBacklogAndLatency(t *testing.T) {
	peak, worst, rejected := backlog(t, kit.Fixed)
	if peak > 600+10 {
		t.Fatalf("fixed peak depth %d: want <= queue limit 600 (+ instance hops)", peak)
	}
	if rejected == 0 {
		t.Fatal("fixed refused nothing: admission control is not acting")
	}
	// three hops, each behind at most QueueLimit items at 120/min
	if worst > 3*5*time.Minute+3*time.Minute {
		t.Fatalf("fixed worst propagation delay %v: want bounded by 3 x 5m", worst)
	}
}

func TestTerminateForgetsInstanceAndQueuesWork(t *testing.T) {
	c, clock := newCore(t, CoreConfig{})
	_, _ = c.RegisterInstance("i-1", "use1-az1")
	advance(c, clock, time.Minute, 15*time.Second)
	if err := c.TerminateInstance("i-1"); err != nil {
		t.Fatal(err)
	}
	if c.Stats().Depth != 3 {
		t.Fatalf("depth %d after terminate, want 3 (one item per node)", c.Stats().Depth)
	}
	if _, err := c.Reachable("i-1", "use1-az1"); !errors.Is(err, ErrUnknownInstance) {
		t.Fatalf("reachable after terminate: %v, want ErrUnknownInstance", err)
	}
	if err := c.TerminateInstance("i-1"); !errors.Is(err, ErrUnknownInstance) {
		t.Fatalf("second terminate: %v", err)
	}
}

func TestFixedThrottlesTerminationsWhenFull(t *testing.T) {
	c, _ := newCore(t, CoreConfig{Mode: kit.Fixed, QueueLimit: 10})
	_, _ = c.RegisterInstance("i-1", "use1-az1")
	n, err := c.AddWork("x", 20)
	if n != 9 || !errors.Is(err, ErrThrottled) { // the instance's next hop + 9 = limit
		t.Fatalf("admitted %d err %v, want 9 and ErrThrottled", n, err)
	}
	if err := c.TerminateInstance("i-1"); !errors.Is(err, ErrThrottled) {
		t.Fatalf("terminate on a full queue: %v, want ErrThrottled", err)
	}
}

func TestBadInputErrors(t *testing.T) {
	c, _ := newCore(t, CoreConfig{})
	_, _ = c.RegisterInstance("i-1", "use1-az1")
	if _, err := c.Reachable("i-1", "nowhere"); !errors.Is(err, ErrUnknownNode) {
		t.Errorf("unknown node: %v", err)
	}
	if _, err := c.Instance("i-nope"); !errors.Is(err, ErrUnknownInstance) {
		t.Errorf("unknown instance: %v", err)
	}
	if _, err := c.RegisterInstance("", "x"); !errors.Is(err, ErrInvalid) {
		t.Errorf("empty id: %v", err)
	}
	for _, n := range []int{0, -1, 2_000_000} {
		if _, err := c.AddWork("x", n); !errors.Is(err, ErrInvalid) {
			t.Errorf("count %d: %v", n, err)
		}
	}
	if _, err := NewCore(CoreConfig{Nodes: []string{"a", "a"}}, clockwork.NewFakeClock(), nil); err == nil {
		t.Error("duplicate nodes accepted")
	}
}

func TestIdleWorkerBanksNoCapacity(t *testing.T) {
	c, clock := newCore(t, CoreConfig{RatePerMinute: 60})
	clock.Advance(time.Hour)
	c.Tick(clock.Now())
	_, _ = c.AddWork("x", 100)
	clock.Advance(time.Minute)
	if r := c.Tick(clock.Now()); r.Processed != 60 {
		t.Fatalf("processed %d in the minute after an idle hour, want 60", r.Processed)
	}
}
