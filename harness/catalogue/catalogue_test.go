package catalogue

import (
	"reflect"
	"slices"
	"testing"

	"github.com/spf13/pflag"

	"github.com/cascade-lab/cascade/mocks/dnsplanner"
	"github.com/cascade-lab/cascade/mocks/kit"
)

// TestStartOrder: every entry comes after what it requires and links to,
// and the waves never go back in the catalogue's order.
func TestStartOrder(t *testing.T) {
	if err := checkOrder(); err != nil {
		t.Fatal(err)
	}
	p, err := NewPlan(nil, 1)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(p.Instances); i++ {
		if p.Instances[i].Wave() < p.Instances[i-1].Wave() {
			t.Errorf("%s (wave %d) after %s (wave %d)", p.Instances[i].Name, p.Instances[i].Wave(), p.Instances[i-1].Name, p.Instances[i-1].Wave())
		}
	}
}

// TestInstanceSeedsFollowNames: an instance's seed is its name's, so a
// subset of the stack gives every instance it keeps the seed it had.
func TestInstanceSeedsFollowNames(t *testing.T) {
	full, _ := NewPlan(nil, 7)
	sub, err := NewPlan(func(k string) bool { return k == Route53 || k == DNSEnactor }, 7)
	if err != nil {
		t.Fatal(err)
	}
	seeds := map[string]int64{}
	for _, in := range full.Instances {
		if prev, dup := seeds[in.Name]; dup {
			t.Fatalf("%s twice (%d)", in.Name, prev)
		}
		for name, s := range seeds {
			if s == in.Seed {
				t.Errorf("%s and %s share seed %d", name, in.Name, s)
			}
		}
		seeds[in.Name] = in.Seed
	}
	for _, in := range sub.Instances {
		if in.Seed != seeds[in.Name] {
			t.Errorf("%s: seed %d in a subset, %d in the full stack", in.Name, in.Seed, seeds[in.Name])
		}
	}
	if InstanceSeed(8, "dwfm-a") == InstanceSeed(7, "dwfm-a") {
		t.Error("the run's seed does not change an instance's")
	}
}

// TestNewPlanRefusesAMissingRequirement names the missing kind.
func TestNewPlanRefusesAMissingRequirement(t *testing.T) {
	_, err := NewPlan(func(k string) bool { return k == NLB }, 1)
	if err == nil || err.Error() != "nlb needs netmgr: add it to WithServices" {
		t.Errorf("nlb alone: %v", err)
	}
}

// TestDefaultsRoundTrip: the binary's defaults encode as no flags, and a
// wired Config's flags are what the binary reads back into the same Config.
func TestDefaultsRoundTrip(t *testing.T) {
	for _, s := range Services {
		args, err := s.Args(s.Defaults())
		if err != nil || len(args) != 0 {
			t.Errorf("%s: defaults encode as %q, %v", s.Kind, args, err)
		}
	}
	if !slices.Equal(Kinds()[:3], []string{Route53, DynamoDB, NetMgr}) {
		t.Errorf("kinds %v", Kinds())
	}
}

// TestWiredConfigsRoundTrip: for every service, the flags a backend passes
// make the binary (its defaults, then its flags) build exactly the Config the
// embedded backend would construct from the same wiring.
func TestWiredConfigsRoundTrip(t *testing.T) {
	w := func(in Instance) Wiring {
		return Wiring{Instance: in.Name, AZ: in.AZ, Mode: kit.Fixed,
			Link:   func(to string) string { return "http://10.0.0.4:1" + to },
			Direct: func(to string) string { return "http://" + to + ":8080" },
			Admin:  func(to string) string { return "http://" + to + ":9090" },
			DNS:    "10.0.0.2:53", LBPort: 8000,
			LBs: []dnsplanner.LBConfig{{Name: "ddb-lb-a", IP: "10.0.0.11"}, {Name: "ddb-lb-b", IP: "10.0.0.12"}}}
	}
	p, _ := NewPlan(nil, 1)
	for _, in := range p.Instances {
		want := in.Service.Config(w(in))
		args, err := in.Service.Args(want)
		if err != nil {
			t.Fatalf("%s: %v", in.Name, err)
		}
		got := in.Service.Defaults()
		fs := pflag.NewFlagSet(in.Name, pflag.ContinueOnError)
		if err := kit.BindFlags(fs, got); err != nil {
			t.Fatal(err)
		}
		if err := fs.Parse(args); err != nil {
			t.Fatalf("%s: parse %q: %v", in.Name, args, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: flags %q build %+v, want %+v", in.Name, args, got, want)
		}
	}
}
