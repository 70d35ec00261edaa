package catalogue

import (
	"slices"
	"testing"
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
