package containers

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cascade-lab/cascade/harness"
	"github.com/cascade-lab/cascade/mocks/dwfm"
	"github.com/cascade-lab/cascade/mocks/ec2"
	"github.com/cascade-lab/cascade/mocks/route53"
)

func testTopology(t *testing.T, opts ...harness.Option) *topology {
	t.Helper()
	o, err := harness.NewOptions(opts...)
	if err != nil {
		t.Fatal(err)
	}
	topo, err := newTopology(o, netip.MustParsePrefix("10.200.1.0/24"), imagesRef{"m", "t"}, 1)
	if err != nil {
		t.Fatal(err)
	}
	return topo
}

func TestTopologyLinksAreTheTables(t *testing.T) {
	topo := testTopology(t)
	o, _ := harness.NewOptions()
	table, err := harness.NewTopology(o)
	if err != nil {
		t.Fatal(err)
	}
	var names, want []string
	for _, l := range topo.links {
		names = append(names, l.Name)
	}
	for _, l := range table.Links {
		want = append(want, l.Name)
	}
	if !slices.Equal(names, want) {
		t.Fatalf("links %v, want harness.Topology's %v", names, want)
	}
	if got := len(topo.specs); got != 20 {
		t.Fatalf("%d containers, want 20", got)
	}
	planner := strings.Join(topo.byName["dnsplanner"].args, " ")
	if !strings.Contains(planner, "--lb=ddb-lb-a=10.200.1.11") || !strings.Contains(planner, "--route53-api=http://10.200.1.4:10000") {
		t.Fatalf("planner args %s", planner)
	}
}

func TestTopologyTunesBecomeFlags(t *testing.T) {
	topo := testTopology(t, harness.WithTune(func(instance string, cfg any) {
		switch c := cfg.(type) {
		case *dwfm.Config:
			if instance == "dwfm-b" {
				c.LeaseTTL = 7 * time.Minute
			}
		case *route53.Config:
			c.Zones = []string{"example.com."}
		}
	}))
	if a := strings.Join(topo.byName["dwfm-b"].args, " "); !strings.Contains(a, "--lease-ttl=7m0s") {
		t.Fatalf("dwfm-b args %s", a)
	}
	if a := strings.Join(topo.byName["dwfm-a"].args, " "); strings.Contains(a, "--lease-ttl") {
		t.Fatalf("dwfm-a args %s", a)
	}
	if a := topo.byName["route53"].args; !slices.Contains(a, "--zone=example.com.") || len(slices.DeleteFunc(slices.Clone(a), func(s string) bool { return !strings.HasPrefix(s, "--zone") })) != 1 {
		t.Fatalf("route53 args %v", a)
	}
	o, _ := harness.NewOptions(harness.WithTune(func(_ string, cfg any) {
		if c, ok := cfg.(*ec2.Config); ok {
			c.Zones = ec2.DefaultZones()[:1]
		}
	}))
	if _, err := newTopology(o, netip.MustParsePrefix("10.200.1.0/24"), imagesRef{"m", "t"}, 1); err == nil || !strings.Contains(err.Error(), "Zones") {
		t.Fatalf("tuning a field without a flag: err %v", err)
	}
}
