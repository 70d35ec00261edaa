package sim

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cascade-lab/cascade/mocks/dnsplan"
	"github.com/cascade-lab/cascade/mocks/kit"
)

// TestPoolOutlivesAnEmptiedRecord: a client connected before the record
// emptied keeps working until its connection's maximum age; then it cannot
// reconnect (no such host) until the record is back. It fails if the pool
// resolved on every call (the first call after the emptying would fail) or
// never again (the call after the maximum age would succeed).
func TestPoolOutlivesAnEmptiedRecord(t *testing.T) {
	s := New(1, kit.IncidentStart)
	n := NewNetwork(s)
	r53, err := NewRoute53(n, Route53Node, kit.AsWas, &Server{Service: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	n.Serve("dns", &Server{Service: time.Millisecond})
	n.Serve("ddb-lb-a", &Server{Service: 10 * time.Millisecond})
	zid, _ := r53.Zones.ID(dnsplan.RegionalZone)
	rec := dnsplan.Record{Name: dnsplan.Regional.Name, Type: dnsplan.TypeA, TTL: 5, Values: []string{"10.0.1.1"}}
	set := func(action dnsplan.Action) {
		if err := r53.Direct().Change(context.Background(), zid, []dnsplan.Change{{Action: action, Record: rec}}); err != nil {
			t.Fatal(err)
		}
	}
	set(dnsplan.Create)
	pool := &Pool{Net: n, R53: r53, From: "client", DNS: "dns", Name: dnsplan.Regional.Name,
		Addrs: map[string]string{"10.0.1.1": "ddb-lb-a"}, MaxAge: 10 * time.Minute, Timeout: time.Minute}
	var errs []error
	s.Go("client", func(p *Proc) {
		for range 6 {
			errs = append(errs, pool.Call(p, func(string) error { return nil }))
			p.Sleep(4 * time.Minute)
		}
	})
	s.At(kit.IncidentStart.Add(time.Minute), func() { set(dnsplan.Delete) })    // emptied at 1 min
	s.At(kit.IncidentStart.Add(17*time.Minute), func() { set(dnsplan.Create) }) // back at 17 min
	s.Run(kit.IncidentStart.Add(time.Hour))
	// Calls at ~0, 4, 8 (connection from 0, still young), 12 and 16 (older
	// than 10 min: no such host), 20 (record back: a new connection).
	want := []error{nil, nil, nil, ErrNoSuchHost, ErrNoSuchHost, nil}
	for i := range want {
		if i >= len(errs) || !errors.Is(errs[i], want[i]) && !(errs[i] == nil && want[i] == nil) {
			t.Fatalf("calls: %v, want %v", errs, want)
		}
	}
	if pool.Dials != 2 {
		t.Fatalf("dials %d, want 2", pool.Dials)
	}
}
