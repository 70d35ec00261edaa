package dnsplan

import (
	"context"
	"errors"
	"testing"
)

func TestNamesRoundTrip(t *testing.T) {
	ep, err := AccountEndpoint("111122223333")
	if err != nil {
		t.Fatal(err)
	}
	if ep.Name != "111122223333.ddb.us-east-1.amazonaws.com." {
		t.Fatalf("account endpoint %s", ep.Name)
	}
	if _, err := AccountEndpoint("12ab"); err == nil {
		t.Fatal("bad account accepted")
	}
	for _, n := range []string{MarkerName(7), PlanName("regional", 7), ClaimName(Regional, 7), ClaimName(DualStack, 7)} {
		zone := RegionalZone
		if InSubtree(n, DualStackZone) {
			zone = DualStackZone
		}
		if g, ok := GenerationOf(n, zone); !ok || g != 7 {
			t.Fatalf("GenerationOf(%s) = %d %v", n, g, ok)
		}
	}
	if id, g, ok := PlanOf(PlanName("acct-111122223333", 12)); !ok || id != "acct-111122223333" || g != 12 {
		t.Fatalf("PlanOf = %s %d %v", id, g, ok)
	}
	if _, _, ok := PlanOf(ClaimName(Regional, 3)); ok {
		t.Fatal("a claim parsed as a plan")
	}
	if CNAMEGeneration(DualStack, CNAMERecord(DualStack, 9)) != 9 {
		t.Fatal("dual-stack CNAME does not name the regional plan")
	}
}

// TestSortKeyIsRoute53Order: a generation's records are contiguous and start
// with its marker; generations sort by number; endpoints under ddb. sort
// before the plans.
func TestSortKeyIsRoute53Order(t *testing.T) {
	ordered := []string{
		"us-east-1.amazonaws.com.",
		"x.ddb.us-east-1.amazonaws.com.",
		MarkerName(1),
		ClaimName(Regional, 1),
		PlanName("regional", 1),
		MarkerName(2),
		"dynamodb.us-east-1.amazonaws.com.",
	}
	for i := 1; i < len(ordered); i++ {
		if SortKey(ordered[i-1], "A", "") >= SortKey(ordered[i], "A", "") {
			t.Fatalf("%s does not sort before %s", ordered[i-1], ordered[i])
		}
	}
}

func TestMemStoreExactDeleteAndAtomicity(t *testing.T) {
	ctx := context.Background()
	st := NewMemStore(Zones...)
	z, _ := st.ZoneIDs().ID(RegionalZone)
	c := CNAMERecord(Regional, 1)
	if err := st.Change(ctx, z, []Change{{Create, c}, {Create, ClaimRecord(Regional, 1)}}); err != nil {
		t.Fatal(err)
	}
	wrong := CNAMERecord(Regional, 2)
	err := st.Change(ctx, z, []Change{{Create, CNAMERecord(FIPS, 1)}, {Delete, wrong}})
	if !errors.Is(err, ErrInvalidChangeBatch) {
		t.Fatalf("inexact DELETE: %v", err)
	}
	if _, ok := st.Get(z, FIPS.Name, TypeCNAME, ""); ok {
		t.Fatal("a failed batch applied its first change")
	}
	if err := st.Change(ctx, z, []Change{{Create, c}}); !errors.Is(err, ErrInvalidChangeBatch) {
		t.Fatalf("CREATE of an existing record: %v", err)
	}
	if err := st.Change(ctx, z, []Change{{Delete, c}, {Create, c}}); err != nil {
		t.Fatalf("DELETE then CREATE in one batch: %v", err)
	}
	// Paging walks everything once, in order.
	for i := 1; i <= 700; i++ {
		ep := SyntheticEndpoint(i)
		if err := st.Change(ctx, z, []Change{{Create, CNAMERecord(ep, 1)}}); err != nil {
			t.Fatal(err)
		}
	}
	n, prev := 0, ""
	if err := WalkSubtree(ctx, st, z, RegionalZone, 300, func(r Record) error {
		k := SortKey(r.Name, r.Type, r.SetID)
		if k <= prev {
			t.Fatalf("out of order at %s", r.Name)
		}
		prev, n = k, n+1
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if n != 702 {
		t.Fatalf("walked %d records, want 702", n)
	}
}

func TestUnescape(t *testing.T) {
	if got := unescape(`\052.example.com.`); got != "*.example.com." {
		t.Fatalf("unescape = %q", got)
	}
	if got := unescape(`a\0`); got != `a\0` {
		t.Fatalf("unescape of a short escape = %q", got)
	}
}

func FuzzGenerationOf(f *testing.F) {
	for _, s := range []string{MarkerName(3), PlanName("fips", 99), ClaimName(DualStack, 1), "g.ddb-plans.api.aws.", "", "."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if g, ok := GenerationOf(name, RegionalZone); ok && !InSubtree(Canonical(name), GenDomain(RegionalZone, g)) && GenLabel(g) != "" {
			// names with leading zeros beyond 8 digits parse to the same number; fine,
			// but the parse must never claim a name outside the plans domain.
			if !InSubtree(Canonical(name), PlansDomain(RegionalZone)) {
				t.Fatalf("%q parsed outside the plans domain", name)
			}
		}
		PlanOf(name)
		_ = unescape(name)
	})
}

// TestFindNewestCompleteGallops: the newest complete generation is found in
// O(log n) Lists from a stale hint, past deleted generations and an
// incomplete newest one.
func TestFindNewestCompleteGallops(t *testing.T) {
	ctx := context.Background()
	st := NewMemStore(Zones...)
	zid, _ := st.ZoneIDs().ID(RegionalZone)
	lbs := []LB{{Name: "ddb-lb-a", IP: "127.0.1.1", Weight: 100}}
	for g := uint64(1); g <= 300; g++ {
		var cs []Change
		for _, r := range PlanRecords("regional", g, lbs) {
			cs = append(cs, Change{Action: Create, Record: r})
		}
		if g != 300 { // the newest is still being written: no marker yet
			cs = append(cs, Change{Action: Create, Record: MarkerRecord(g, 1, 1, "")})
		}
		if err := st.Change(ctx, zid, cs); err != nil {
			t.Fatal(err)
		}
	}
	for g := uint64(1); g <= 40; g++ { // cleaned up
		var cs []Change
		for _, r := range append(PlanRecords("regional", g, lbs), MarkerRecord(g, 1, 1, "")) {
			cs = append(cs, Change{Action: Delete, Record: r})
		}
		if err := st.Change(ctx, zid, cs); err != nil {
			t.Fatal(err)
		}
	}
	for _, from := range []uint64{0, 7, 41, 250, 299} {
		_, before := st.Calls()
		g, m, err := FindNewestComplete(ctx, st, zid, RegionalZone, from)
		_, after := st.Calls()
		if err != nil || g != 299 || m == nil || m.Name != MarkerName(299) {
			t.Fatalf("from %d: %d %v %v", from, g, m, err)
		}
		if after-before > 24 {
			t.Fatalf("from %d: %d Lists, want O(log n)", from, after-before)
		}
	}
	if g, m, err := FindNewestComplete(ctx, NewMemStore(Zones...), "Z1", RegionalZone, 0); g != 0 || m != nil || err != nil {
		t.Fatalf("empty store: %d %v %v", g, m, err)
	}
}
