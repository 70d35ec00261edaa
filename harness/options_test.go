package harness

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestOptionsNameValidChoices(t *testing.T) {
	if _, err := NewOptions(WithFixes("enactor-cas", "retry-harder")); err == nil || !strings.Contains(err.Error(), "enactor-cas, dwfm-admission, netmgr-throttle, nlb-velocity") {
		t.Errorf("unknown fix: %v", err)
	}
	if _, err := NewOptions(Variant("newest")); err == nil || !strings.Contains(err.Error(), "aswas, fixed") {
		t.Errorf("unknown variant: %v", err)
	}
	if _, err := NewOptions(WithServices("route53", "iam")); !errors.Is(err, ErrUnknownService) || !strings.Contains(err.Error(), "dnsplanner") {
		t.Errorf("unknown service: %v", err)
	}
	if _, err := Start(context.Background(), WithBackend("k8s")); !errors.Is(err, ErrUnknownBackend) {
		t.Errorf("unknown backend: %v", err)
	}
	if _, err := ParseAction("freeze"); !errors.Is(err, ErrUnknownAction) || !strings.Contains(err.Error(), "stop, start, pause, resume, restart") {
		t.Errorf("unknown action: %v", err)
	}
}

func TestVariantAndFixes(t *testing.T) {
	o, err := NewOptions(Variant("fixed"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range AllFixes {
		if o.Mode(f) != "fixed" {
			t.Errorf("fixed variant: %s is %s", f, o.Mode(f))
		}
	}
	o, _ = NewOptions(WithFixes(FixDWFMAdmission))
	if o.Mode(FixDWFMAdmission) != "fixed" || o.Mode(FixEnactorCAS) != "aswas" {
		t.Errorf("fixes = %v", o.FixList())
	}
	if o.Name == "" || o.Speed != DefaultSpeed {
		t.Errorf("defaults: %+v", o)
	}
	a, _ := NewOptions()
	b, _ := NewOptions()
	if a.Name == b.Name {
		t.Errorf("two stacks got the same name %q", a.Name)
	}
}

func TestKindOf(t *testing.T) {
	for in, want := range map[string]string{"dwfm-a": "dwfm", "dnsenactor-c": "dnsenactor", "route53": "route53", "dnsplanner": "dnsplanner"} {
		if got := KindOf(in); got != want {
			t.Errorf("KindOf(%q) = %q, want %q", in, got, want)
		}
	}
}

// Guards are accepted beside the fixes but are never part of "fixed".
func TestGuardsAreSeparateFromTheAnnouncedFixes(t *testing.T) {
	o, err := NewOptions(Variant("fixed"))
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range AllGuards {
		if o.On(g) {
			t.Errorf("variant fixed turns guard %s on", g)
		}
	}
	got, err := ParseFixes("enactor-cas," + GuardRoute53CNAME)
	if err != nil || len(got) != 2 {
		t.Fatalf("ParseFixes with a guard: %v %v", got, err)
	}
	if _, err := ParseFixes("cname-guard"); err == nil || !strings.Contains(err.Error(), GuardNLBPropagation) {
		t.Fatalf("unknown name: %v, want the guards among the valid choices", err)
	}
}
