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
	"github.com/cascade-lab/cascade/mocks/kit/awsclient"
	"github.com/cascade-lab/cascade/mocks/route53"
)

// r53IO is the real route53 mock through the SDK; waiting advances a fake clock.
type r53IO struct {
	*dnsplan.Route53Store
	clock *clockwork.FakeClock
}

func (r r53IO) Wait(ctx context.Context, d time.Duration) error {
	r.clock.Advance(d)
	return ctx.Err()
}

// route53World is newWorld over the real route53 mock (REST API over
// loopback, Route53's validation rules), in mode.
func route53World(t *testing.T, mode kit.Mode) (*world, r53IO, *route53.Server) {
	t.Helper()
	clock := clockwork.NewFakeClockAt(kit.IncidentStart)
	srv, err := route53.New(route53.Config{Mode: mode, Zones: dnsplan.Zones}, kit.NewEnv("route53", clock, nil, 1))
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	c, err := awsclient.Route53(srv.APIURL())
	if err != nil {
		t.Fatal(err)
	}
	io := r53IO{Route53Store: dnsplan.NewRoute53Store(c), clock: clock}
	zones, err := io.Zones(context.Background(), false)
	if err != nil {
		t.Fatal(err)
	}
	w := &world{t: t, ctx: context.Background(), clock: clock, zones: zones, eps: basicEndpoints(t)}
	w.planner, err = dnsplanner.NewCore(dnsplanner.CoreConfig{
		LBs:       []dnsplanner.LBConfig{{Name: "ddb-lb-a", IP: "127.0.1.1"}, {Name: "ddb-lb-b", IP: "127.0.1.2"}, {Name: "ddb-lb-c", IP: "127.0.1.3"}},
		Endpoints: w.eps,
	}, clock, nil)
	if err != nil {
		t.Fatal(err)
	}
	return w, io, srv
}

// TestRoute53AcceptsGuardedTransaction: fixed mode's per-endpoint
// transaction (DELETE CNAME and claim, CREATE CNAME and claim, and the
// marker's guard: DELETE then CREATE of the same marker record in one batch)
// is accepted by the route53 mock, in both of its modes; the guard refuses
// the batch once the marker is gone.
func TestRoute53AcceptsGuardedTransaction(t *testing.T) {
	for _, mode := range []kit.Mode{kit.AsWas, kit.Fixed} {
		t.Run(string(mode), func(t *testing.T) {
			w, io, srv := route53World(t, mode)
			zid, _ := w.zones.ID(dnsplan.RegionalZone)
			write := func() uint64 {
				w.clock.Advance(time.Minute)
				p := w.planner.Build("test")
				if err := p.Write(w.ctx, io, zid); err != nil {
					t.Fatal(err)
				}
				w.planner.Written(p)
				return p.Gen
			}
			write()
			a := w.enactor("a", kit.Fixed)
			if sum, err := a.RunAll(w.ctx, io); err != nil || sum.Applied != len(w.eps) {
				t.Fatalf("first run: %+v %v", sum, err)
			}
			g := write()
			sum, err := a.RunAll(w.ctx, io)
			if err != nil || sum.Applied != len(w.eps) || len(sum.Failed) != 0 {
				t.Fatalf("guarded run: %+v %v", sum, err)
			}
			if got := srv.Lookup(dnsplan.MarkerName(g), "TXT"); len(got) != 1 {
				t.Fatalf("marker after the guarded batches: %+v", got)
			}
			for _, ep := range w.eps {
				s, err := dnsplan.ReadEndpoint(w.ctx, io, w.zones, ep)
				if err != nil || s.Generation != g || !s.Claim || s.PlanRecords != 3 {
					t.Fatalf("%s = %+v %v", ep.ID, s, err)
				}
			}
			// The guard is a fence: with the marker gone the batch fails whole.
			marker := dnsplan.MarkerRecord(g, 1, 3, "test")
			cur, _, _ := dnsplan.ReadRecord(w.ctx, io, zid, marker.Name, dnsplan.TypeTXT)
			if err := io.Change(w.ctx, zid, []dnsplan.Change{{Action: dnsplan.Delete, Record: cur}}); err != nil {
				t.Fatal(err)
			}
			batch := []dnsplan.Change{{Action: dnsplan.Upsert, Record: dnsplan.ClaimRecord(dnsplan.FIPS, g)}, {Action: dnsplan.Delete, Record: cur}, {Action: dnsplan.Create, Record: cur}}
			if err := io.Change(w.ctx, zid, batch); !errors.Is(err, dnsplan.ErrInvalidChangeBatch) {
				t.Fatalf("guarded batch without its marker: %v, want InvalidChangeBatch", err)
			}
		})
	}
}

// TestRoute53RaceSchedule runs the incident's schedule against the route53
// mock: as-was (both services) leaves the regional endpoint dangling, every
// later transaction fails with InvalidChangeBatch and real DNS has no
// address; fixed never applies the older generation.
func TestRoute53RaceSchedule(t *testing.T) {
	for _, mode := range []kit.Mode{kit.AsWas, kit.Fixed} {
		t.Run(string(mode), func(t *testing.T) {
			w, io, srv := route53World(t, mode)
			w.io = nil
			a, b := w.enactor("a", mode), w.enactor("b", mode)
			zid, _ := w.zones.ID(dnsplan.RegionalZone)
			gen := func(n int) uint64 {
				for range n {
					w.clock.Advance(time.Minute)
					p := w.planner.Build("test")
					if err := p.Write(w.ctx, io, zid); err != nil {
						t.Fatal(err)
					}
					w.planner.Written(p)
				}
				return w.planner.Generation()
			}
			gen(1)
			for _, e := range []*Core{a, b} {
				if _, err := e.RunAll(w.ctx, io); err != nil {
					t.Fatal(err)
				}
			}
			m := gen(1)
			ra, err := a.Begin(w.ctx, io)
			if err != nil || ra.Summary.Generation != m {
				t.Fatalf("A: %+v %v", ra, err)
			}
			n := gen(4)
			rb, err := b.Begin(w.ctx, io)
			if err != nil || rb.Summary.Generation != n {
				t.Fatalf("B: %+v %v", rb, err)
			}
			applyAll(w.ctx, rb, io)
			applied := applyAll(w.ctx, ra, io)
			if err := ra.Cleanup(w.ctx); err != nil {
				t.Fatal(err)
			}
			ra.Finish(nil)
			cerr := rb.Cleanup(w.ctx)
			rb.Finish(cerr)
			s, err := dnsplan.ReadEndpoint(w.ctx, io, w.zones, dnsplan.Regional)
			if err != nil {
				t.Fatal(err)
			}
			ans := srv.Lookup(dnsplan.Regional.Name, "CNAME")
			if mode.IsFixed() {
				if applied != 0 || s.Generation != n || s.PlanRecords != 3 {
					t.Fatalf("fixed: A applied %d; regional %+v (clean-up: %v)", applied, s, cerr)
				}
				return
			}
			if cerr != nil || applied != len(w.eps) || s.Generation != m || s.PlanRecords != 0 || s.Claim || len(ans) != 1 {
				t.Fatalf("as-was: A applied %d, clean-up %v; regional %+v", applied, cerr, s)
			}
			if addrs, err := kit.NewResolver(srv.DNSAddr()).LookupHost(w.ctx, dnsplan.Regional.Name); err == nil || len(addrs) != 0 {
				t.Fatalf("real DNS for the dangling endpoint: %v %v, want no such host", addrs, err)
			}
			gen(1)
			sum, _ := b.RunAll(w.ctx, io)
			if sum.Failed["regional"] != "InvalidChangeBatch" {
				t.Fatalf("later run %+v: want regional failed with InvalidChangeBatch", sum)
			}
		})
	}
}
