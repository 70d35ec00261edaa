package dnsenactor

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/cascade-lab/cascade/mocks/dnsplan"
	"github.com/cascade-lab/cascade/mocks/dnsplanner"
	"github.com/cascade-lab/cascade/mocks/kit"
)

// fakeIO is the in-memory Route53 with a fake clock: waiting advances it.
type fakeIO struct {
	*dnsplan.MemStore
	clock  *clockwork.FakeClock
	waited time.Duration
}

func (f *fakeIO) Wait(ctx context.Context, d time.Duration) error {
	f.waited += d
	f.clock.Advance(d)
	return ctx.Err()
}

type world struct {
	t       *testing.T
	ctx     context.Context
	clock   *clockwork.FakeClock
	io      *fakeIO
	zones   dnsplan.ZoneIDs
	eps     []dnsplan.Endpoint
	planner *dnsplanner.Core
	events  *kit.Events
}

func newWorld(t *testing.T, eps []dnsplan.Endpoint) *world {
	t.Helper()
	clock := clockwork.NewFakeClockAt(kit.IncidentStart)
	st := dnsplan.NewMemStore(dnsplan.Zones...)
	w := &world{t: t, ctx: context.Background(), clock: clock, io: &fakeIO{MemStore: st, clock: clock}, zones: st.ZoneIDs(), eps: eps}
	w.events = kit.NewEvents("test", clock, nil)
	p, err := dnsplanner.NewCore(dnsplanner.CoreConfig{
		LBs:       []dnsplanner.LBConfig{{Name: "ddb-lb-a", IP: "127.0.1.1"}, {Name: "ddb-lb-b", IP: "127.0.1.2"}, {Name: "ddb-lb-c", IP: "127.0.1.3"}},
		Endpoints: eps,
	}, clock, nil)
	if err != nil {
		t.Fatal(err)
	}
	w.planner = p
	return w
}

func basicEndpoints(t *testing.T) []dnsplan.Endpoint {
	eps, err := dnsplan.Endpoints([]string{"111122223333"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	return eps
}

// generate writes n new generations.
func (w *world) generate(n int) uint64 {
	w.t.Helper()
	zid, _ := w.zones.ID(dnsplan.RegionalZone)
	for range n {
		w.clock.Advance(time.Minute)
		p := w.planner.Build("test")
		if err := p.Write(w.ctx, w.io, zid); err != nil {
			w.t.Fatal(err)
		}
		w.planner.Written(p)
	}
	return w.planner.Generation()
}

func (w *world) enactor(name string, mode kit.Mode) *Core {
	w.t.Helper()
	c, err := NewCore(CoreConfig{Mode: mode, Endpoints: w.eps, Zones: w.zones, KeepGenerations: 2}, w.clock, kit.NewEvents(name, w.clock, nil))
	if err != nil {
		w.t.Fatal(err)
	}
	return c
}

func (w *world) state(ep dnsplan.Endpoint) dnsplan.EndpointState {
	w.t.Helper()
	s, err := dnsplan.ReadEndpoint(w.ctx, w.io, w.zones, ep)
	if err != nil {
		w.t.Fatal(err)
	}
	return s
}

func (w *world) runAll(c *Core) Summary {
	w.t.Helper()
	s, err := c.RunAll(w.ctx, w.io)
	if err != nil {
		w.t.Fatal(err)
	}
	return s
}

func applyAll(ctx context.Context, r *Run, w Waiter) (applied int) {
	for eps := r.Next(); eps != nil; eps = r.Next() {
		for _, o := range r.Apply(ctx, eps, w) {
			if o.Applied {
				applied++
			}
		}
	}
	return applied
}

// raceSchedule is the incident's interleaving: A starts a run on generation
// M and is delayed; the planner writes many newer generations; B applies the
// newest N to every endpoint; A then applies M; B's clean-up runs last.
func raceSchedule(t *testing.T, w *world, a, b *Core) (m, n uint64, aApplied int) {
	t.Helper()
	w.generate(1)
	w.runAll(a)
	w.runAll(b)
	m = w.generate(1)
	ra, err := a.Begin(w.ctx, w.io)
	if err != nil || ra.Summary.Stale || ra.Summary.Generation != m {
		t.Fatalf("A's run: %+v, %v", ra, err)
	}
	n = w.generate(4)
	rb, err := b.Begin(w.ctx, w.io)
	if err != nil || rb.Summary.Generation != n {
		t.Fatalf("B's run: %+v, %v", rb, err)
	}
	applyAll(w.ctx, rb, w.io)
	if got := w.state(dnsplan.Regional).Generation; got != n {
		t.Fatalf("after B applied: regional on %d, want %d", got, n)
	}
	aApplied = applyAll(w.ctx, ra, w.io)
	if err := ra.Cleanup(w.ctx); err != nil {
		t.Fatal(err)
	}
	ra.Finish(nil)
	if err := rb.Cleanup(w.ctx); err != nil {
		t.Fatal(err)
	}
	rb.Finish(nil)
	return m, n, aApplied
}

// TestAsWasStaleApplyEmptiesEndpointForGood is the race. It fails if the
// staleness check were made per endpoint: A would then not apply M over N.
func TestAsWasStaleApplyEmptiesEndpointForGood(t *testing.T) {
	w := newWorld(t, basicEndpoints(t))
	a, b, c := w.enactor("dnsenactor-a", kit.AsWas), w.enactor("dnsenactor-b", kit.AsWas), w.enactor("dnsenactor-c", kit.AsWas)
	w.runAll(c)
	m, n, applied := raceSchedule(t, w, a, b)
	if applied != len(w.eps) {
		t.Fatalf("A applied its stale generation %d to %d endpoints, want all %d (single start-of-run check)", m, applied, len(w.eps))
	}
	s := w.state(dnsplan.Regional)
	if s.Generation != m || s.PlanRecords != 0 || s.Claim {
		t.Fatalf("regional after B's clean-up = %+v, want dangling on %d (B applied %d): no plan records, no claim", s, m, n)
	}
	// Automation is stuck: every Enactor's transaction for it now fails.
	w.generate(1)
	for _, e := range []*Core{a, b, c} {
		waited := w.io.waited
		sum := w.runAll(e)
		if sum.Failed["regional"] != "InvalidChangeBatch" {
			t.Fatalf("run %+v: want regional failed with InvalidChangeBatch", sum)
		}
		if w.io.waited-waited < 3*2*time.Second {
			t.Fatalf("retries waited %v on the clock, want backoffs of at least 6s", w.io.waited-waited)
		}
	}
	if s := w.state(dnsplan.Regional); s.PlanRecords != 0 {
		t.Fatalf("regional repaired itself: %+v", s)
	}
	// The operator's restore repairs every endpoint; automation then moves them on.
	for _, ep := range w.eps {
		restored, err := dnsplan.Restore(w.ctx, w.io, w.zones, ep, dnsplan.RestoreOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if s := w.state(ep); s.Generation != restored || s.PlanRecords != 3 || !s.Claim {
			t.Fatalf("after restore: %+v", s)
		}
	}
	newest := w.generate(1)
	if sum := w.runAll(b); len(sum.Failed) != 0 {
		t.Fatalf("after restore B's run failed: %+v", sum)
	}
	if s := w.state(dnsplan.Regional); s.Generation != newest || s.PlanRecords != 3 {
		t.Fatalf("after restore and a run: %+v, want on %d", s, newest)
	}
}

// TestFixedCASNeverAppliesOlderGeneration runs the same schedule with the
// fix. It fails if fixed's compare-and-swap is removed (A would move every
// endpoint back to M and B's clean-up would empty them).
func TestFixedCASNeverAppliesOlderGeneration(t *testing.T) {
	w := newWorld(t, basicEndpoints(t))
	a, b := w.enactor("dnsenactor-a", kit.Fixed), w.enactor("dnsenactor-b", kit.Fixed)
	_, n, applied := raceSchedule(t, w, a, b)
	if applied != 0 {
		t.Fatalf("fixed A applied its older generation to %d endpoints", applied)
	}
	for _, ep := range w.eps {
		s := w.state(ep)
		if s.Generation != n || s.PlanRecords == 0 || !s.Claim {
			t.Fatalf("%s = %+v, want on %d with plan and claim", ep.ID, s, n)
		}
	}
	newest := w.generate(1)
	for _, e := range []*Core{a, b} {
		if sum := w.runAll(e); len(sum.Failed) != 0 {
			t.Fatalf("run failed: %+v", sum)
		}
	}
	if s := w.state(dnsplan.Regional); s.Generation != newest {
		t.Fatalf("regional on %d, want %d", s.Generation, newest)
	}
}

// TestCleanupOfClaimedGeneration: fixed keeps a generation an endpoint is on;
// aswas deletes it and empties the endpoint.
func TestCleanupOfClaimedGeneration(t *testing.T) {
	for _, mode := range []kit.Mode{kit.AsWas, kit.Fixed} {
		t.Run(string(mode), func(t *testing.T) {
			w := newWorld(t, basicEndpoints(t))
			first := w.generate(1)
			w.runAll(w.enactor("all", mode))
			w.generate(6)
			partial, err := NewCore(CoreConfig{Mode: mode, Endpoints: w.eps[:2], Zones: w.zones, KeepGenerations: 2}, w.clock, nil)
			if err != nil {
				t.Fatal(err)
			}
			w.runAll(partial) // regional and dualstack move on; FIPS stays on the first generation
			s := w.state(dnsplan.FIPS)
			if mode.IsFixed() != (s.Generation == first && s.PlanRecords == 3) {
				t.Fatalf("%s: FIPS = %+v", mode, s)
			}
		})
	}
}

// TestRetryAfterConcurrentChange: a transaction that fails because another
// Enactor moved the endpoint is retried after a backoff with a fresh read.
func TestRetryAfterConcurrentChange(t *testing.T) {
	for _, mode := range []kit.Mode{kit.AsWas, kit.Fixed} {
		t.Run(string(mode), func(t *testing.T) {
			w := newWorld(t, []dnsplan.Endpoint{dnsplan.Regional})
			other := w.enactor("other", mode)
			w.generate(1)
			w.runAll(other)
			stale := w.generate(1)
			a := w.enactor("a", mode)
			a.SetLastApplied(1)
			var newer uint64
			w.io.BeforeChange = func(string, []dnsplan.Change) {
				w.io.BeforeChange = nil
				newer = w.generate(1)
				if s := w.runAll(other); s.Applied != 1 {
					t.Errorf("other's run: %+v", s)
				}
			}
			sum := w.runAll(a)
			want := newer
			if mode.IsFixed() {
				if sum.Skipped != 1 {
					t.Fatalf("fixed: %+v, want skipped after re-read", sum)
				}
			} else {
				if sum.Applied != 1 || len(sum.Failed) != 0 {
					t.Fatalf("aswas: %+v", sum)
				}
				want = stale // as-was applies its older generation over the newer one
			}
			if w.io.waited != 2*time.Second {
				t.Fatalf("waited %v, want one backoff of 2s", w.io.waited)
			}
			if s := w.state(dnsplan.Regional); s.Generation != want || !s.Claim {
				t.Fatalf("regional = %+v, want on %d", s, want)
			}
		})
	}
}

// TestStaleRunDoesNothing: the start-of-run check stops a run when nothing newer exists.
func TestStaleRunDoesNothing(t *testing.T) {
	w := newWorld(t, basicEndpoints(t))
	e := w.enactor("a", kit.AsWas)
	w.generate(1)
	w.runAll(e)
	before, _ := w.io.Calls()
	sum := w.runAll(e)
	after, _ := w.io.Calls()
	if !sum.Stale || after != before {
		t.Fatalf("second run %+v made %d changes", sum, after-before)
	}
}

// TestBatchedReadAheadScales: with batches and read-ahead a run over many
// endpoints costs O(endpoints/batch) calls, in both modes.
func TestBatchedReadAheadScales(t *testing.T) {
	for _, mode := range []kit.Mode{kit.AsWas, kit.Fixed} {
		t.Run(string(mode), func(t *testing.T) {
			eps, _ := dnsplan.Endpoints(nil, 2000)
			w := newWorld(t, eps)
			cfg := CoreConfig{Mode: mode, Endpoints: eps, Zones: w.zones, KeepGenerations: 1, EndpointsPerBatch: 100, ReadAhead: 300}
			e, err := NewCore(cfg, w.clock, nil)
			if err != nil {
				t.Fatal(err)
			}
			for range 3 {
				w.generate(1)
				c0, l0 := w.io.Calls()
				sum := w.runAll(e)
				c1, l1 := w.io.Calls()
				if sum.Applied != len(eps) || len(sum.Failed) != 0 {
					t.Fatalf("run: applied %d failed %v", sum.Applied, sum.Failed)
				}
				if c1-c0 > 40 || l1-l0 > 120 {
					t.Fatalf("run made %d changes and %d lists for %d endpoints", c1-c0, l1-l0, len(eps))
				}
			}
			for _, ep := range []dnsplan.Endpoint{eps[0], eps[1], eps[len(eps)-1]} {
				if s := w.state(ep); s.Generation != 3 || !s.Claim || s.PlanRecords != 3 {
					t.Fatalf("%s = %+v", ep.ID, s)
				}
			}
		})
	}
}

func TestConfigValidation(t *testing.T) {
	_, err := NewCore(CoreConfig{Mode: "sideways", Endpoints: []dnsplan.Endpoint{dnsplan.Regional}}, clockwork.NewFakeClock(), nil)
	if err == nil {
		t.Fatal("bad mode accepted")
	}
	_, err = NewCore(CoreConfig{Endpoints: []dnsplan.Endpoint{dnsplan.Regional}, EndpointsPerBatch: 500}, clockwork.NewFakeClock(), nil)
	if err == nil {
		t.Fatal("oversized batch accepted")
	}
	_ = errors.New
}

// TestFixedPinsGenerationForEndpointOutsidePlansZone: a brand-new dual-stack
// endpoint (no claim yet) is applied while another Enactor's clean-up of the
// run's generation runs at the worst moment. Its zone cannot hold the
// marker's guard, so without the pin the clean-up would delete the
// generation just before the endpoint's transaction lands, leaving it
// dangling. With the pin, either the pin lands first (clean-up sees it and
// stops: the endpoint is applied) or the guard refuses it (the endpoint is
// not applied). The test fails if the pin is removed (first case dangles).
func TestFixedPinsGenerationForEndpointOutsidePlansZone(t *testing.T) {
	for _, tc := range []struct {
		name    string
		trigger int // the Enactor's nth change to the store, before which the clean-up runs
		applied bool
	}{{"cleanup before the pin", 1, false}, {"cleanup after the pin", 2, true}} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, []dnsplan.Endpoint{dnsplan.Regional, dnsplan.DualStack})
			other, err := NewCore(CoreConfig{Mode: kit.Fixed, Endpoints: []dnsplan.Endpoint{dnsplan.Regional}, Zones: w.zones, KeepGenerations: 2}, w.clock, nil)
			if err != nil {
				t.Fatal(err)
			}
			g := w.generate(1)
			w.runAll(other) // regional on g; dual-stack has no record yet
			x := w.enactor("x", kit.Fixed)
			run, err := x.Begin(w.ctx, w.io)
			if err != nil || run.Summary.Generation != g {
				t.Fatalf("x's run: %+v %v", run, err)
			}
			newest := w.generate(3) // g is now more than K=2 generations old
			changes := 0
			var cleaned Summary
			w.io.BeforeChange = func(string, []dnsplan.Change) {
				if changes++; changes == tc.trigger {
					w.io.BeforeChange = nil
					cleaned = w.runAll(other) // applies newest to regional, cleans up what it may
				}
			}
			applyAll(w.ctx, run, w.io)
			run.Finish(nil)
			w.io.BeforeChange = nil
			s := w.state(dnsplan.DualStack)
			if s.CNAME != nil && s.PlanRecords == 0 {
				t.Fatalf("dual-stack dangles: %+v (clean-up deleted %v)", s, cleaned.Deleted)
			}
			if tc.applied != (s.Generation == g && s.Claim && s.PlanRecords == 3) {
				t.Fatalf("dual-stack = %+v, applied want %v (clean-up deleted %v)", s, tc.applied, cleaned.Deleted)
			}
			if got := w.state(dnsplan.Regional); got.Generation != newest || got.PlanRecords != 3 {
				t.Fatalf("regional = %+v", got)
			}
			// No pin is left behind.
			planZone, _ := w.zones.ID(dnsplan.RegionalZone)
			if _, ok, _ := dnsplan.ReadRecord(w.ctx, w.io, planZone, PinName(dnsplan.DualStack, g), dnsplan.TypeTXT); ok {
				t.Fatal("pin left behind")
			}
		})
	}
}
