package route53

import (
	"math/rand"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/jonboulle/clockwork"

	"github.com/cascade-lab/cascade/mocks/kit"
)

func TestCanonicalName(t *testing.T) {
	for in, want := range map[string]string{
		"Example.COM":       "example.com.",
		"*.example.com":     `\052.example.com.`,
		`\052.example.com.`: `\052.example.com.`,
		`a\.b.example.com`:  `a\056b.example.com.`,
		"under_score.com.":  "under_score.com.",
		".":                 ".",
	} {
		got, err := CanonicalName(in)
		if err != nil || got != want {
			t.Errorf("CanonicalName(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "a..b", ".a", strings.Repeat("x", 64) + ".com", strings.Repeat("abcdefghi.", 26) + "com", `a\`, `\999.com`} {
		if got, err := CanonicalName(bad); err == nil {
			t.Errorf("CanonicalName(%q) = %q, want an error", bad, got)
		}
	}
	if got, _ := canonicalDNS(`\042.example.com.`); got != `\052.example.com.` {
		t.Errorf("decimal escapes: %q", got)
	}
	if got := dnsPresentation(`a\056b.example.com.`); got != `a\046b.example.com.` {
		t.Errorf("dnsPresentation: %q", got)
	}
}

func TestNameIndexKeepsOrder(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	var x nameIndex
	in := map[string]bool{}
	for i := range 20000 {
		k := strconv.Itoa(rng.Intn(5000))
		if i%3 == 2 {
			x.remove(k)
			delete(in, k)
			continue
		}
		if !in[k] {
			x.insert(&node{key: k})
			in[k] = true
		}
	}
	var got []string
	for p := x.seek(""); x.at(p) != nil; p = x.next(p) {
		got = append(got, x.at(p).key)
	}
	want := make([]string, 0, len(in))
	for k := range in {
		want = append(want, k)
	}
	slices.Sort(want)
	if !slices.Equal(got, want) || x.len() != len(want) {
		t.Fatalf("index holds %d keys in order=%v, want %d", len(got), slices.IsSorted(got), len(want))
	}
	for _, k := range []string{"", "2", "2500", "999", "~"} {
		i, _ := slices.BinarySearch(want, k)
		n := x.at(x.seek(k))
		if i == len(want) && n != nil || i < len(want) && (n == nil || n.key != want[i]) {
			t.Fatalf("seek(%q) wrong", k)
		}
	}
}

func newStore(mode kit.Mode) (*Store, *HostedZone) {
	s := NewStore(StoreConfig{Mode: mode, Clock: clockwork.NewFakeClockAt(kit.IncidentStart), Rand: rand.New(rand.NewSource(1))})
	z, _, _ := s.CreateZone("example.com", "ref", "")
	return s, z
}

func set(name, typ string, ttl int64, values ...string) RecordSet {
	return RecordSet{Name: name, Type: typ, TTL: &ttl, Values: values}
}

func TestStoreSortOrderAndResolve(t *testing.T) {
	s, z := newStore(kit.AsWas)
	_, err := s.ChangeRecordSets(z.ID, []Change{
		{ActionCreate, set("b.example.com", "A", 5, "10.0.0.1")},
		{ActionCreate, set("b-x.example.com", "A", 5, "10.0.0.2")},
		{ActionCreate, set("a.b.example.com", "TXT", 5, `"t"`)},
		{ActionCreate, set("b.example.com", "TXT", 5, `"t"`)},
		{ActionCreate, set("loop1.example.com", "CNAME", 5, "loop2.example.com")},
		{ActionCreate, set("loop2.example.com", "CNAME", 5, "loop1.example.com")},
	}, "")
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.List(z.ID, "", "", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, rs := range p.Sets {
		got = append(got, rs.Name+" "+rs.Type)
	}
	want := []string{"example.com. NS", "example.com. SOA", "b-x.example.com. A", "b.example.com. A", "b.example.com. TXT", "a.b.example.com. TXT", "loop1.example.com. CNAME", "loop2.example.com. CNAME"}
	if !slices.Equal(got, want) {
		t.Fatalf("order\n got %q\nwant %q", got, want)
	}
	p, _ = s.List(z.ID, "b.example.com", "MX", "", 0) // between A and TXT
	if p.Sets[0].Type != "TXT" {
		t.Fatalf("start between types: %v", p.Sets[0])
	}
	never := func(int64) int64 { t.Fatal("no weighted group here"); return 0 }
	if a := s.Resolve("loop1.example.com.", "A", never); a.Rcode != RcodeServFail {
		t.Fatalf("CNAME loop: %+v", a)
	}
	if a := s.Resolve("b.example.com.", "AAAA", never); a.Rcode != RcodeSuccess || len(a.Records) != 0 || a.SOA == nil {
		t.Fatalf("NODATA: %+v", a)
	}
	if a := s.Resolve("c.b.example.com.", "A", never); a.Rcode != RcodeNXDomain {
		t.Fatalf("NXDOMAIN below an existing name: %+v", a)
	}
	if a := s.Resolve("example.org.", "A", never); a.Rcode != RcodeRefused {
		t.Fatalf("REFUSED: %+v", a)
	}
}

func TestStoreAlias(t *testing.T) {
	s, z := newStore(kit.Fixed)
	_, err := s.ChangeRecordSets(z.ID, []Change{
		{ActionCreate, set("target.example.com", "A", 77, "10.0.0.7")},
		{ActionCreate, RecordSet{Name: "alias.example.com", Type: "A", Alias: &AliasTarget{HostedZoneID: "/hostedzone/" + z.ID, DNSName: "Target.example.com"}}},
	}, "")
	if err != nil {
		t.Fatal(err)
	}
	a := s.Resolve("alias.example.com.", "A", nil)
	if len(a.Records) != 1 || a.Records[0] != (RR{Name: "alias.example.com.", Type: "A", TTL: 77, Value: "10.0.0.7"}) {
		t.Fatalf("alias answer: %+v", a)
	}
	// Fixed: deleting the alias's target is refused.
	_, err = s.ChangeRecordSets(z.ID, []Change{{ActionDelete, set("target.example.com", "A", 77, "10.0.0.7")}}, "")
	if e, ok := err.(*Error); !ok || e.Code != CodeInvalidChangeBatch || !strings.Contains(e.Messages[0], "alias.example.com.") {
		t.Fatalf("fixed mode, delete alias target: %v", err)
	}
	// Exact DELETE of an alias compares the target.
	_, err = s.ChangeRecordSets(z.ID, []Change{{ActionDelete, RecordSet{Name: "alias.example.com", Type: "A", Alias: &AliasTarget{HostedZoneID: z.ID, DNSName: "other.example.com", EvaluateTargetHealth: false}}}}, "")
	if e, ok := err.(*Error); !ok || !strings.Contains(e.Error(), "do not match") {
		t.Fatalf("alias delete mismatch: %v", err)
	}
}

// The dangling-CNAME guard is its own option: on without the fixed mode, off
// in the as-was mode (real Route53 lets the target go).
func TestStoreCNAMEGuardIsItsOwnOption(t *testing.T) {
	for _, c := range []struct {
		cfg    StoreConfig
		refuse bool
	}{{StoreConfig{}, false}, {StoreConfig{CNAMEGuard: true}, true}} {
		c.cfg.Clock, c.cfg.Rand = clockwork.NewFakeClockAt(kit.IncidentStart), rand.New(rand.NewSource(1))
		s := NewStore(c.cfg)
		z, _, _ := s.CreateZone("example.com", "ref", "")
		if _, err := s.ChangeRecordSets(z.ID, []Change{
			{ActionCreate, set("target.example.com", "A", 60, "10.0.0.7")},
			{ActionCreate, set("cname.example.com", "CNAME", 60, "target.example.com")},
		}, ""); err != nil {
			t.Fatal(err)
		}
		_, err := s.ChangeRecordSets(z.ID, []Change{{ActionDelete, set("target.example.com", "A", 60, "10.0.0.7")}}, "")
		if refused := err != nil; refused != c.refuse {
			t.Errorf("guard %v: deleting a CNAME's target refused %v (%v), want %v", c.cfg.CNAMEGuard, refused, err, c.refuse)
		}
	}
}
