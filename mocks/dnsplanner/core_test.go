package dnsplanner

import (
	"context"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/cascade-lab/cascade/mocks/dnsplan"
	"github.com/cascade-lab/cascade/mocks/kit"
)

func newCore(t *testing.T, synthetic int) (*Core, *clockwork.FakeClock) {
	t.Helper()
	eps, err := dnsplan.Endpoints([]string{"111122223333"}, synthetic)
	if err != nil {
		t.Fatal(err)
	}
	clock := clockwork.NewFakeClockAt(kit.IncidentStart)
	c, err := NewCore(CoreConfig{
		LBs:       []LBConfig{{Name: "ddb-lb-a", IP: "127.0.1.1"}, {Name: "ddb-lb-b", IP: "127.0.1.2"}, {Name: "ddb-lb-c", IP: "127.0.1.3"}},
		Endpoints: eps, Period: time.Minute, SlowLatency: 100 * time.Millisecond, MaxChangesPerBatch: 100,
	}, clock, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c, clock
}

func healthy(lat ...time.Duration) []Probe {
	var ps []Probe
	for i, l := range lat {
		ps = append(ps, Probe{LB: []string{"ddb-lb-a", "ddb-lb-b", "ddb-lb-c"}[i], Healthy: l >= 0, Latency: l})
	}
	return ps
}

func TestWeightsFollowHealthAndLatency(t *testing.T) {
	c, _ := newCore(t, 0)
	c.Observe(healthy(time.Millisecond, 300*time.Millisecond, -1))
	got := c.Weights()
	if got[0].Weight != 100 || got[1].Weight != 50 || got[2].Weight != 0 {
		t.Fatalf("weights %+v, want fast 100, slow 50, dead 0", got)
	}
	c.Observe(healthy(-1, -1, -1))
	for _, lb := range c.Weights() {
		if lb.Weight != 1 {
			t.Fatalf("all dead: %+v, want every LB at weight 1 (fail open)", c.Weights())
		}
	}
}

func TestDueOnStartWeightChangeAndPeriod(t *testing.T) {
	c, clock := newCore(t, 0)
	if r, ok := c.Due(); !ok || r != "initial" {
		t.Fatalf("Due = %q %v, want initial", r, ok)
	}
	c.Observe(healthy(time.Millisecond, time.Millisecond, time.Millisecond))
	c.Written(c.Build("initial"))
	if _, ok := c.Due(); ok {
		t.Fatal("due right after writing")
	}
	c.Observe(healthy(time.Millisecond, 2*time.Millisecond, time.Millisecond)) // jitter: same bucket
	if _, ok := c.Due(); ok {
		t.Fatal("jitter made a generation due")
	}
	c.Observe(healthy(time.Millisecond, time.Second, time.Millisecond))
	if r, ok := c.Due(); !ok || r != "weights" {
		t.Fatalf("Due = %q %v, want weights", r, ok)
	}
	c.Written(c.Build("weights"))
	clock.Advance(59 * time.Second)
	if _, ok := c.Due(); ok {
		t.Fatal("due before the period")
	}
	clock.Advance(time.Second)
	if r, ok := c.Due(); !ok || r != "period" {
		t.Fatalf("Due = %q %v, want period", r, ok)
	}
}

func TestBuildWritesMarkerLastAndResumes(t *testing.T) {
	c, _ := newCore(t, 100) // 104 endpoints, 103 plans (regional is shared)
	c.Resume(41)
	p := c.Build("test")
	if p.Gen != 42 || p.Records != 103*3 {
		t.Fatalf("plan gen %d records %d", p.Gen, p.Records)
	}
	last := p.Batches[len(p.Batches)-1]
	if len(last) != 1 || last[0].Record.Name != dnsplan.MarkerName(42) {
		t.Fatalf("last batch %+v, want the marker alone", last)
	}
	for _, b := range p.Batches {
		if len(b) > 100 {
			t.Fatalf("batch of %d > 100", len(b))
		}
	}
	st := dnsplan.NewMemStore(dnsplan.Zones...)
	zid, _ := st.ZoneIDs().ID(dnsplan.RegionalZone)
	// A reader that sees the store between batches never sees a marker
	// without all of its plan's records.
	st.BeforeChange = func(_ string, _ []dnsplan.Change) {
		gens, err := dnsplan.ListGenerations(context.Background(), st, zid, dnsplan.RegionalZone)
		if err != nil {
			t.Error(err)
		}
		if g, _ := dnsplan.NewestComplete(gens); g != 0 {
			t.Errorf("generation %d complete before its marker batch", g)
		}
	}
	if err := p.Write(context.Background(), st, zid); err != nil {
		t.Fatal(err)
	}
	if st.Len(zid) != p.Records+1 {
		t.Fatalf("store holds %d records, want %d", st.Len(zid), p.Records+1)
	}
}
