package dnsplan

import (
	"context"
	"fmt"
	"sort"
)

// ZoneIDs maps zone names (canonical) to hosted zone IDs.
type ZoneIDs map[string]string

// ID returns zone's ID or an error wrapping ErrNoSuchZone.
func (z ZoneIDs) ID(zone string) (string, error) {
	if id, ok := z[Canonical(zone)]; ok {
		return id, nil
	}
	return "", fmt.Errorf("zone %s: %w", zone, ErrNoSuchZone)
}

// ZoneLister finds (or creates) the automation's hosted zones.
type ZoneLister interface {
	Zones(ctx context.Context, create bool) (ZoneIDs, error)
}

// Generation is one generation found in a zone.
type Generation struct {
	Gen uint64
	// Marker is the marker record when the generation is complete (only in RegionalZone).
	Marker *Record
}

// ListGenerations finds every generation that has any record under
// ddb-plans.<zone>, oldest first, with one single-item List per generation:
// Route53's order puts a generation's marker first in its subtree.
func ListGenerations(ctx context.Context, st Store, zoneID, zone string) ([]Generation, error) {
	return ListGenerationsBelow(ctx, st, zoneID, zone, 0)
}

// ListGenerationsBelow is ListGenerations stopping before generation below
// (0: no bound), so that a clean-up's walk ends even while the planner
// writes new generations faster than the walk advances.
func ListGenerationsBelow(ctx context.Context, st Store, zoneID, zone string, below uint64) ([]Generation, error) {
	var gens []Generation
	start := Cursor{Name: PlansDomain(zone)}
	for {
		page, err := st.List(ctx, zoneID, start, 1)
		if err != nil {
			return gens, fmt.Errorf("list generations of %s: %w", zone, err)
		}
		if len(page.Records) == 0 {
			return gens, nil
		}
		r := page.Records[0]
		gen, ok := GenerationOf(r.Name, zone)
		if !ok || (below > 0 && gen >= below) {
			return gens, nil // past the plans subtree, or the bound
		}
		g := Generation{Gen: gen}
		if r.Name == GenDomain(zone, gen) && r.Type == TypeTXT {
			rc := r
			g.Marker = &rc
		}
		gens = append(gens, g)
		start = Cursor{Name: GenDomain(zone, gen+1)}
	}
}

// nextGeneration returns the first generation >= gen that has any record
// under ddb-plans.<zone> (ok false: none), and its first record.
func nextGeneration(ctx context.Context, st Store, zoneID, zone string, gen uint64) (uint64, Record, bool, error) {
	page, err := st.List(ctx, zoneID, Cursor{Name: GenDomain(zone, gen)}, 1)
	if err != nil || len(page.Records) == 0 {
		return 0, Record{}, false, err
	}
	r := page.Records[0]
	g, ok := GenerationOf(r.Name, zone)
	if !ok || g < gen {
		return 0, Record{}, false, nil
	}
	return g, r, true, nil
}

// FindNewestComplete finds the newest generation with a marker in zone with
// O(log n) single-item Lists (n: generations written since from): it
// gallops up from from (a generation known to have existed, e.g. the one
// last applied; 0 when none) and then bisects. Walking generation by
// generation would never end for a reader slower than the planner. The
// generations move while it searches (the planner adds, clean-ups delete),
// so the answer is checked with one more List and the search resumed from
// there when it is already stale. It returns 0, nil when there is no
// complete generation.
func FindNewestComplete(ctx context.Context, st Store, zoneID, zone string, from uint64) (uint64, *Record, error) {
	start := from
	for attempt := 0; attempt < 8; attempt++ {
		lo, err := newestFrom(ctx, st, zoneID, zone, start)
		if err != nil || lo == 0 {
			return 0, nil, err
		}
		// A generation's marker is the root of its subtree, so the first
		// record at or after it says whether it is complete. The newest may
		// still be being written (the planner writes the marker last): then
		// look one or two below.
		next := lo
		for g := lo; g > 0 && lo-g < 3; g-- {
			got, r, ok, err := nextGeneration(ctx, st, zoneID, zone, g)
			if err != nil {
				return 0, nil, err
			}
			if !ok {
				break
			}
			if got == g && r.Name == GenDomain(zone, g) && r.Type == TypeTXT {
				return g, &r, nil
			}
			if got > lo {
				next = got // newer generations appeared meanwhile
				break
			}
		}
		start = next
	}
	return 0, nil, nil
}

// newestFrom returns the newest generation that exists, galloping up from
// the first one at or after from and bisecting (0 when there is none).
func newestFrom(ctx context.Context, st Store, zoneID, zone string, from uint64) (uint64, error) {
	lo, _, ok, err := nextGeneration(ctx, st, zoneID, zone, from)
	if err != nil || !ok {
		return 0, err
	}
	// Invariant: lo exists (or existed), no generation >= hi exists.
	step := uint64(1)
	var hi uint64
	for {
		g, _, ok, err := nextGeneration(ctx, st, zoneID, zone, lo+step)
		if err != nil {
			return 0, err
		}
		if !ok {
			hi = lo + step
			break
		}
		lo, step = g, step*2
	}
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		g, _, ok, err := nextGeneration(ctx, st, zoneID, zone, mid)
		if err != nil {
			return 0, err
		}
		if ok && g < hi {
			lo = g
		} else {
			hi = mid
		}
	}
	return lo, nil
}

// NewestComplete returns the newest generation with a marker (0, nil if none).
func NewestComplete(gens []Generation) (uint64, *Record) {
	for i := len(gens) - 1; i >= 0; i-- {
		if gens[i].Marker != nil {
			return gens[i].Gen, gens[i].Marker
		}
	}
	return 0, nil
}

// WalkSubtree calls fn for every record set at or below domain, paging pageSize at a time.
func WalkSubtree(ctx context.Context, st Store, zoneID, domain string, pageSize int, fn func(Record) error) error {
	start := Cursor{Name: domain}
	for {
		page, err := st.List(ctx, zoneID, start, pageSize)
		if err != nil {
			return fmt.Errorf("list %s: %w", domain, err)
		}
		for _, r := range page.Records {
			if !InSubtree(Canonical(r.Name), domain) {
				return nil
			}
			if err := fn(r); err != nil {
				return err
			}
		}
		if page.Next == nil {
			return nil
		}
		start = *page.Next
	}
}

// ReadRecord reads the record set (name, typ) without a set identifier.
func ReadRecord(ctx context.Context, st Store, zoneID, name, typ string) (Record, bool, error) {
	page, err := st.List(ctx, zoneID, Cursor{Name: name, Type: typ}, 1)
	if err != nil {
		return Record{}, false, fmt.Errorf("read %s %s: %w", name, typ, err)
	}
	if len(page.Records) == 0 {
		return Record{}, false, nil
	}
	r := page.Records[0]
	if Canonical(r.Name) != Canonical(name) || r.Type != typ {
		return Record{}, false, nil
	}
	r.Name = Canonical(r.Name)
	return r, true, nil
}

// HasAny reports whether any record set exists at or below domain.
func HasAny(ctx context.Context, st Store, zoneID, domain string) (bool, error) {
	page, err := st.List(ctx, zoneID, Cursor{Name: domain}, 1)
	if err != nil {
		return false, fmt.Errorf("list %s: %w", domain, err)
	}
	return len(page.Records) > 0 && InSubtree(Canonical(page.Records[0].Name), domain), nil
}

// Batches splits changes into batches of at most max.
func Batches(changes []Change, max int) [][]Change {
	if max <= 0 {
		max = 1000
	}
	var out [][]Change
	for len(changes) > max {
		out = append(out, changes[:max:max])
		changes = changes[max:]
	}
	if len(changes) > 0 {
		out = append(out, changes)
	}
	return out
}

// EndpointState is what an endpoint's records say.
type EndpointState struct {
	Endpoint Endpoint `json:"endpoint"`
	// Generation the CNAME points at (0: no CNAME or not a plan name).
	Generation uint64 `json:"generation"`
	// CNAME is the record as read (nil when absent).
	CNAME *Record `json:"cname,omitempty"`
	// Claim reports whether the claim on Generation exists.
	Claim bool `json:"claim"`
	// PlanRecords is how many records the referenced plan holds (0: dangling).
	PlanRecords int `json:"planRecords"`
}

// ReadEndpoint reads ep's CNAME, its claim and its plan's records.
func ReadEndpoint(ctx context.Context, st Store, zones ZoneIDs, ep Endpoint) (EndpointState, error) {
	s := EndpointState{Endpoint: ep}
	epZone, err := zones.ID(ep.Zone)
	if err != nil {
		return s, err
	}
	planZone, err := zones.ID(RegionalZone)
	if err != nil {
		return s, err
	}
	r, ok, err := ReadRecord(ctx, st, epZone, ep.Name, TypeCNAME)
	if err != nil || !ok {
		return s, err
	}
	s.CNAME = &r
	s.Generation = CNAMEGeneration(ep, r)
	if s.Generation == 0 {
		return s, nil
	}
	if _, s.Claim, err = ReadRecord(ctx, st, epZone, ClaimName(ep, s.Generation), TypeTXT); err != nil {
		return s, err
	}
	err = WalkSubtree(ctx, st, planZone, PlanName(ep.Plan, s.Generation), 10, func(r Record) error {
		if Canonical(r.Name) == PlanName(ep.Plan, s.Generation) && r.Type == TypeA {
			s.PlanRecords++
		}
		return nil
	})
	return s, err
}

// SortRecords sorts records in Route53's order.
func SortRecords(rs []Record) {
	sort.Slice(rs, func(i, j int) bool {
		return SortKey(rs[i].Name, rs[i].Type, rs[i].SetID) < SortKey(rs[j].Name, rs[j].Type, rs[j].SetID)
	})
}
